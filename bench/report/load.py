"""Load one or several run folders into one set of tables (several runs merge; duplicate trials refused)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.errors import UserError
from bench.results import read_run

REFERENCE_METHODS = ("oracle", "collapsed")  # calibration rows: shown, never ranked


def method_label(method: str, variant) -> str:
    """How the report names a trial's method: `method [variant]` for a trial of a profile variant (e.g.
    `mdgan [S1/4]`), else the method's name."""
    return method if variant is None or pd.isna(variant) else f"{method} [{variant}]"


def _label_variants(trials: pd.DataFrame, *tables: pd.DataFrame) -> None:
    """In place: `base_method` keeps each trial's registered method; where a run has variants, every table's
    `method` becomes the trial's display label (method_label), so leaderboards and figures, which group by
    `method`, tell the variants apart without knowing of them. Registry look-ups use `base_method`."""
    trials["base_method"] = trials["method"]
    if not trials["variant"].notna().any():
        return
    trials["method"] = [method_label(m, v) for m, v in zip(trials["method"], trials["variant"])]
    label = dict(zip(trials["trial_id"], trials["method"]))
    for t in tables:
        if len(t):
            t["method"] = t["trial_id"].map(label).fillna(t["method"])


@dataclass
class RunData:
    runs: list[dict]  # each run.json
    run_dirs: list[Path]
    trials: pd.DataFrame
    metrics: pd.DataFrame
    samples: pd.DataFrame
    images: pd.DataFrame  # image grids (PNG bytes), image datasets only


def _repair(run_dir: Path) -> None:
    """A merged table that cannot be read (e.g. truncated by a full disk) is rebuilt from the run's parts/, which
    hold every trial's rows; the damaged file is kept as <name>.damaged. Says so on stderr."""
    import sys

    from bench.results import damaged_tables, rebuild_merged

    damaged = damaged_tables(run_dir)
    if not damaged:
        return
    what = "; ".join(f"{run_dir / name} ({why.splitlines()[0][:160]})" for name, why in damaged.items())
    try:
        kept = rebuild_merged(run_dir)
    except (FileNotFoundError, OSError) as e:
        raise UserError(f"damaged run table: {what}. It cannot be rebuilt here ({e}); every trial's rows live in "
                        f"{run_dir / 'parts'}/, and `python -c \"from bench.results import merge_parts; "
                        f"merge_parts('{run_dir}')\"` merges them once the damaged file is moved away") from None
    print(f"bench report: damaged run table: {what}; rebuilt the merged tables from {run_dir / 'parts'}/ (the "
          f"damaged file kept as {', '.join(str(p.name) for p in kept.values())})", file=sys.stderr)


def load_runs(run_dirs: list[Path]) -> RunData:
    runs, trials, metrics, samples, images = [], [], [], [], []
    for d in run_dirs:
        d = Path(d)
        if not (d / "trials.parquet").exists():
            hint = " (it has run.json: the run has not merged its results; `bench run --resume` finishes it)" \
                if (d / "run.json").exists() else ""
            raise UserError(f"{d}: not a run folder: no trials.parquet{hint}. A run folder is "
                            "ROOT/<suite>/<run_id>/ as printed by `bench run`")
        _repair(d)
        r = read_run(d)
        runs.append(r["run"])
        trials.append(r["trials"].assign(run_id=d.name))
        metrics.append(r["metrics"])
        samples.append(r["samples"])
        images.append(r["images"])
    t = pd.concat(trials, ignore_index=True)
    dup = t[t.duplicated("trial_id", keep=False)]
    if len(dup):
        ids = sorted(set(dup["trial_id"]))
        where = sorted(set(dup["run_id"]))
        raise UserError(f"the same trial appears in several runs ({len(ids)} trial ids, e.g. {ids[0]}, in runs "
                        f"{', '.join(where)}): merge runs of different methods/datasets/seeds, or report them "
                        "one at a time")
    m, s, i = (pd.concat(x, ignore_index=True) for x in (metrics, samples, images))
    _label_variants(t, m, s, i)
    return RunData(runs, [Path(d) for d in run_dirs], t, m, s, i)
