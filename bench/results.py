"""The results layer: one declared Parquet schema, atomic writes, per-trial parts merged exactly once.

A run folder `ROOT/<suite>/<run_id>/` holds `run.json`, `trials.parquet`, `metrics.parquet`,
`samples.parquet` (generated 2-D points for the figures), `parts/<trial_id>/` (each trial's own rows,
written by whichever worker ran it) and `report/`. Workers never touch the run tables; the driver merges
the parts and drops duplicates by key, so a retried or resumed trial's rows appear exactly once.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

TRIALS_SCHEMA = pa.schema([
    ("trial_id", pa.string()), ("suite", pa.string()), ("profile", pa.string()), ("dataset", pa.string()),
    ("method", pa.string()), ("seed", pa.int64()), ("status", pa.string()), ("error", pa.string()),
    ("steps", pa.int64()), ("wall_s", pa.float64()), ("device", pa.string()), ("node_id", pa.string()),
    ("n_params", pa.int64()), ("hparams", pa.string()), ("config_hash", pa.string()),
    ("code_version", pa.string()), ("started_at", pa.timestamp("us", tz="UTC")),
    ("finished_at", pa.timestamp("us", tz="UTC")),
    ("variant", pa.string()),  # the profile variant the trial ran under (suites.Profile.variants), null if none
])
METRICS_SCHEMA = pa.schema([
    ("trial_id", pa.string()), ("suite", pa.string()), ("dataset", pa.string()), ("method", pa.string()),
    ("seed", pa.int64()), ("step", pa.int64()), ("metric", pa.string()), ("value", pa.float64()),
    ("sigma", pa.float64()), ("subset", pa.string()),
])
# Generated 2-D points kept for the figures (the report reads only Parquet): a few hundred per eval step from
# the mixture (component null) and, for methods with several latent components, a few hundred drawn per
# component (component = its index).
SAMPLES_SCHEMA = pa.schema([
    ("trial_id", pa.string()), ("dataset", pa.string()), ("method", pa.string()), ("seed", pa.int64()),
    ("step", pa.int64()), ("x", pa.float64()), ("y", pa.float64()), ("component", pa.int64()),
])
# Image grids kept for the report (bench/imagegrid.py): one PNG per row. kind "generated" (64 samples of the
# evaluation step), "component" (8 from latent component / generator `component`), "real" (64 training images,
# once per trial at its first evaluation).
IMAGES_SCHEMA = pa.schema([
    ("trial_id", pa.string()), ("dataset", pa.string()), ("method", pa.string()), ("seed", pa.int64()),
    ("step", pa.int64()), ("kind", pa.string()), ("component", pa.int64()), ("n_images", pa.int64()),
    ("png", pa.binary()),
])
STATUSES = ("completed", "failed", "diverged")
TABLES = {"trials": TRIALS_SCHEMA, "metrics": METRICS_SCHEMA, "samples": SAMPLES_SCHEMA, "images": IMAGES_SCHEMA}
# Columns added after the first release: a row may omit them (written as null), and a file written before they
# existed reads them as null (`_conform`); every other column is required in every row.
OPTIONAL_COLUMNS = {"trials": ("variant",)}
KEYS = {"trials": ["trial_id"], "metrics": ["trial_id", "step", "metric", "sigma", "subset"],
        "samples": None, "images": None}  # samples, images: a trial's part replaces its previous rows as a whole


# -- atomic writes -------------------------------------------------------------------------------------
def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via `write(tmp)` to a temp file in the same folder, fsync, then os.replace onto `path`.
    A failure before the replace leaves the previous file untouched and removes the temp file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(path: Path, table: pa.Table) -> None:
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str)))


def to_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows -> table with exactly the declared columns (a missing column is an error, not a null, except the
    table's OPTIONAL_COLUMNS, which read as null)."""
    optional = {c for name, s in TABLES.items() if s.equals(schema) for c in OPTIONAL_COLUMNS.get(name, ())}
    for i, r in enumerate(rows):
        missing = [n for n in schema.names if n not in r and n not in optional]
        if missing:
            raise ValueError(f"row {i} lacks columns {missing}")
    return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema=schema)


# -- per-trial parts -----------------------------------------------------------------------------------
def part_dir(run_dir: Path, trial_id: str) -> Path:
    return Path(run_dir) / "parts" / trial_id


def write_trial_part(run_dir: Path, trial_row: dict, metric_rows: list[dict], sample_rows: list[dict],
                     image_rows: list[dict] = ()) -> None:
    """A trial's rows go to its own folder; trial.parquet is written last and marks the part complete."""
    d = part_dir(run_dir, trial_row["trial_id"])
    write_table(d / "metrics.parquet", to_table(metric_rows, METRICS_SCHEMA))
    write_table(d / "samples.parquet", to_table(sample_rows, SAMPLES_SCHEMA))
    write_table(d / "images.parquet", to_table(list(image_rows), IMAGES_SCHEMA))
    write_table(d / "trial.parquet", to_table([trial_row], TRIALS_SCHEMA))


def read_trial_status(run_dir: Path, trial_id: str) -> str | None:
    meta = read_trial_meta(run_dir, trial_id)
    return None if meta is None else meta["status"]


def read_trial_meta(run_dir: Path, trial_id: str) -> dict | None:
    """{"status", "code_version"} of the trial's part, or None when it has none."""
    f = part_dir(run_dir, trial_id) / "trial.parquet"
    if not f.exists():
        return None
    t = pq.read_table(f, columns=["status", "code_version"])
    return {c: t.column(c)[0].as_py() for c in ("status", "code_version")}


def merge_parts(run_dir: Path) -> dict[str, int]:
    """Merge every complete part (and any rows already in the run tables) into the run tables, keeping one
    row per key (parts win over older table rows). Returns the row count of each table."""
    run_dir = Path(run_dir)
    parts = sorted(p for p in (run_dir / "parts").glob("*") if (p / "trial.parquet").exists())
    counts = {}
    for name, schema in TABLES.items():
        file_name = "trial.parquet" if name == "trials" else f"{name}.parquet"
        # A part written before a table existed (images.parquet) simply has no rows for it.
        new = [_conform(pq.read_table(p / file_name), schema) for p in parts if (p / file_name).exists()]
        new_ids = {p.name for p in parts}
        old_path = run_dir / f"{name}.parquet"
        tables = []
        if old_path.exists():
            old = _conform(pq.read_table(old_path), schema)
            # Rows of trials that have a part now are replaced by the part's rows.
            keep = [tid not in new_ids for tid in old.column("trial_id").to_pylist()]
            tables.append(old.filter(pa.array(keep, type=pa.bool_())))
        tables.extend(new)
        merged = pa.concat_tables(tables) if tables else schema.empty_table()
        merged = dedupe(merged, KEYS[name])
        write_table(old_path, merged)
        counts[name] = merged.num_rows
    return counts


def dedupe(table: pa.Table, keys: list[str] | None) -> pa.Table:
    """Keep the last row per key (nulls compare equal)."""
    if keys is None or table.num_rows == 0:
        return table
    seen: dict[tuple, int] = {}
    cols = [table.column(k).to_pylist() for k in keys]
    for i, key in enumerate(zip(*cols)):
        seen[key] = i
    idx = sorted(seen.values())
    return table.take(pa.array(idx, type=pa.int64())) if len(idx) != table.num_rows else table


# -- readers -------------------------------------------------------------------------------------------
def read_table(run_dir: Path, name: str):
    """A run table as a pandas DataFrame with the declared columns (empty if the file is absent). A column the
    schema gained after the file was written (e.g. samples' `component`) reads as nulls."""
    path = Path(run_dir) / f"{name}.parquet"
    schema = TABLES[name]
    return _conform(pq.read_table(path), schema).to_pandas() if path.exists() else schema.empty_table().to_pandas()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
            for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)


def read_run(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    run_json = run_dir / "run.json"
    return {
        "run": json.loads(run_json.read_text()) if run_json.exists() else {},
        "trials": read_table(run_dir, "trials"),
        "metrics": read_table(run_dir, "metrics"),
        "samples": read_table(run_dir, "samples"),
        "images": read_table(run_dir, "images"),
    }


def damaged_tables(run_dir: Path) -> dict[str, str]:
    """{file name: why} for each merged run table that exists but cannot be read whole (truncated, corrupt)."""
    out = {}
    for name in TABLES:
        path = Path(run_dir) / f"{name}.parquet"
        if not path.exists():
            continue
        try:
            pq.read_table(path)
        except (pa.ArrowException, OSError) as e:
            out[path.name] = f"{type(e).__name__}: {e}"
    return out


def rebuild_merged(run_dir: Path) -> dict[str, Path]:
    """Rebuild the merged tables from parts/ after `damaged_tables` found some: each damaged file is kept beside
    as `<name>.damaged` (nothing is deleted) and merge_parts writes the tables again from every complete part
    (every trial a worker finished has one, and parts are never removed). Returns {damaged file: where it was
    kept}. Raises FileNotFoundError when the run has no complete part to rebuild from."""
    run_dir = Path(run_dir)
    damaged = damaged_tables(run_dir)
    if not any((p / "trial.parquet").exists() for p in (run_dir / "parts").glob("*")):
        raise FileNotFoundError(f"{run_dir / 'parts'}: no complete trial part to rebuild {', '.join(damaged)} from")
    kept = {}
    for name in damaged:
        target = run_dir / f"{name}.damaged"
        os.replace(run_dir / name, target)
        kept[name] = target
    merge_parts(run_dir)
    return kept


def iter_run_dirs(root: Path, suite: str) -> Iterable[Path]:
    d = Path(root) / suite
    if not d.exists():
        return []
    return sorted((p for p in d.iterdir() if (p / "run.json").exists()), key=lambda p: p.name)
