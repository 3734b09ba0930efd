from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from bench import results
from bench.results import (METRICS_SCHEMA, TRIALS_SCHEMA, atomic_write, merge_parts, to_table, write_table,
                           write_trial_part)


def trial_row(tid="t1", status="completed", **kw):
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    row = {"trial_id": tid, "suite": "s", "profile": "smoke", "dataset": "grid25", "method": "gan", "seed": 0,
           "status": status, "error": None, "steps": 10, "wall_s": 1.0, "device": "cpu", "node_id": "n",
           "n_params": 5, "hparams": "{}", "config_hash": "c", "code_version": "v", "started_at": now,
           "finished_at": now}
    row.update(kw)
    return row


def metric_row(tid="t1", step=10, metric="modes", value=1.0, subset="all"):
    return {"trial_id": tid, "suite": "s", "dataset": "grid25", "method": "gan", "seed": 0, "step": step,
            "metric": metric, "value": value, "sigma": None, "subset": subset}


def test_schema_is_declared_once_with_the_design_columns():
    assert TRIALS_SCHEMA.names == ["trial_id", "suite", "profile", "dataset", "method", "seed", "status", "error",
                                   "steps", "wall_s", "device", "node_id", "n_params", "hparams", "config_hash",
                                   "code_version", "started_at", "finished_at", "variant"]
    assert METRICS_SCHEMA.names == ["trial_id", "suite", "dataset", "method", "seed", "step", "metric", "value",
                                    "sigma", "subset"]


def test_to_table_refuses_a_row_missing_a_column():
    row = trial_row()
    del row["n_params"]
    with pytest.raises(ValueError, match="n_params"):
        to_table([row], TRIALS_SCHEMA)


def test_a_write_killed_between_temp_file_and_replace_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "trials.parquet"
    write_table(path, to_table([trial_row("old")], TRIALS_SCHEMA))

    def killed(src, dst):
        raise OSError("killed between temp write and replace")

    monkeypatch.setattr(results.os, "replace", killed)
    with pytest.raises(OSError, match="killed"):
        write_table(path, to_table([trial_row("new")], TRIALS_SCHEMA))
    assert pq.read_table(path).column("trial_id").to_pylist() == ["old"]
    assert [p.name for p in tmp_path.iterdir()] == ["trials.parquet"]  # no temp file left behind


def test_a_writer_failing_midway_leaves_the_old_file(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("previous")

    def half_then_crash(tmp):
        tmp.write_text("half-writ")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        atomic_write(path, half_then_crash)
    assert path.read_text() == "previous" and len(list(tmp_path.iterdir())) == 1


def test_merge_keeps_each_row_exactly_once_and_a_rerun_replaces_its_rows(tmp_path):
    write_trial_part(tmp_path, trial_row("a"), [metric_row("a", 5), metric_row("a", 10)], [])
    write_trial_part(tmp_path, trial_row("b"), [metric_row("b", 10)], [])
    assert merge_parts(tmp_path) == {"trials": 2, "metrics": 3, "samples": 0, "images": 0}
    assert merge_parts(tmp_path) == {"trials": 2, "metrics": 3, "samples": 0, "images": 0}  # merging again adds nothing
    # trial a re-run (e.g. --force): its part is replaced whole; the merged tables follow it
    write_trial_part(tmp_path, trial_row("a", status="diverged"), [metric_row("a", 5, value=7.0)], [])
    assert merge_parts(tmp_path) == {"trials": 2, "metrics": 2, "samples": 0, "images": 0}
    t = pq.read_table(tmp_path / "trials.parquet").to_pandas().set_index("trial_id")
    m = pq.read_table(tmp_path / "metrics.parquet").to_pandas()
    assert t.loc["a", "status"] == "diverged"
    assert m[m.trial_id == "a"][["step", "value"]].values.tolist() == [[5, 7.0]]


def test_dedupe_keeps_the_last_row_per_key_with_null_keys_equal():
    rows = [metric_row(value=1.0), metric_row(value=2.0), metric_row(metric="hq", value=3.0)]
    t = results.dedupe(to_table(rows, METRICS_SCHEMA), results.KEYS["metrics"])
    assert t.column("value").to_pylist() == [2.0, 3.0]


def test_an_incomplete_part_is_not_merged(tmp_path):
    write_trial_part(tmp_path, trial_row("a"), [metric_row("a")], [])
    # a worker died after writing metrics but before trial.parquet (the completion marker)
    d = results.part_dir(tmp_path, "b")
    write_table(d / "metrics.parquet", to_table([metric_row("b")], METRICS_SCHEMA))
    assert merge_parts(tmp_path)["metrics"] == 1
    assert results.read_trial_status(tmp_path, "b") is None and results.read_trial_status(tmp_path, "a") == "completed"


@pytest.mark.parametrize("table", ["metrics", "trials", "samples"])
def test_report_on_a_truncated_merged_table_rebuilds_it_from_the_parts_with_the_same_rows(tmp_path, capsys, table):
    import json

    from bench.cli import main

    hp = json.dumps({"dataset": {"name": "grid25", "mixture": {"means": [[0, 0], [2, 0]], "stds": [0.05, 0.05],
                                                               "weights": [0.5, 0.5]}}})
    for i, tid in enumerate(("a", "b", "c")):
        sample = {"trial_id": tid, "dataset": "grid25", "method": "gan", "seed": i, "step": 10, "x": 0.1 * i,
                  "y": 0.0, "component": None}
        write_trial_part(tmp_path, trial_row(tid, seed=i, hparams=hp),
                         [metric_row(tid, 5, value=i), metric_row(tid, 10, value=i + 0.5),
                          metric_row(tid, 10, metric="w1", value=2.0 - i)], [sample])
    merge_parts(tmp_path)
    results.write_json(tmp_path / "run.json", {"run_id": "r", "suite": "s", "profile": "smoke"})
    before = pq.read_table(tmp_path / f"{table}.parquet").to_pandas()
    path = tmp_path / f"{table}.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # e.g. a full disk cut the write short
    assert list(results.damaged_tables(tmp_path)) == [f"{table}.parquet"]

    rc = main(["report", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert f"damaged run table: {path}" in err and "rebuilt the merged tables from" in err and "Traceback" not in err
    after = pq.read_table(path).to_pandas()
    key = list(before.columns[:1]) + [c for c in ("step", "metric", "x") if c in before.columns]
    assert after.sort_values(key).reset_index(drop=True).equals(before.sort_values(key).reset_index(drop=True))
    assert (tmp_path / f"{table}.parquet.damaged").read_bytes() == data[: len(data) // 2]  # nothing deleted
    assert results.damaged_tables(tmp_path) == {}


def test_a_damaged_table_without_parts_is_bad_input_naming_the_file(tmp_path, capsys):
    from bench.cli import main

    write_trial_part(tmp_path, trial_row("a"), [metric_row("a")], [])
    merge_parts(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "parts")
    (tmp_path / "metrics.parquet").write_bytes(b"PAR1 not really")
    rc = main(["report", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and f"damaged run table: {tmp_path / 'metrics.parquet'}" in err and "merge_parts" in err
