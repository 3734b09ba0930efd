"""The leaderboard on a hand-made run folder with known values."""
import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench.cli import main
from bench.report.build import build_report
from bench.results import merge_parts, write_json, write_trial_part

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
HP = json.dumps({"dataset": {"name": "grid25", "mixture": {"means": [[0, 0], [2, 0]], "stds": [0.05, 0.05],
                                                           "weights": [0.5, 0.5]}}})
# (method, seed) -> final values; a: 3 seeds, b: 3 seeds; c: 2 completed + 1 diverged; oracle/collapsed 1 each
VALUES = {
    ("a", 0): {"modes": 20.0, "w1": 0.50}, ("a", 1): {"modes": 22.0, "w1": 0.40}, ("a", 2): {"modes": 24.0, "w1": 0.30},
    ("b", 0): {"modes": 10.0, "w1": 0.20}, ("b", 1): {"modes": 12.0, "w1": 0.10}, ("b", 2): {"modes": 11.0, "w1": 0.15},
    ("c", 0): {"modes": 25.0, "w1": 0.90}, ("c", 1): {"modes": 23.0, "w1": 0.70},
    ("oracle", 0): {"modes": 25.0, "w1": 0.05}, ("collapsed", 0): {"modes": 1.0, "w1": 6.0},
}


def make_run(root, name="run1", values=VALUES, diverged=(("c", 2),), prefix=""):
    run = root / name
    run.mkdir(parents=True)
    for (method, seed), vals in values.items():
        tid = f"{prefix}{method}{seed}"
        rows = [{"trial_id": tid, "suite": "s", "dataset": "grid25", "method": method, "seed": seed, "step": step,
                 "metric": m, "value": v if step == 100 else v + 1000.0, "sigma": None, "subset": "all"}
                for m, v in vals.items() for step in (50, 100)]
        # a per-component row must never enter the "all" statistics
        rows.append({**rows[0], "step": 100, "subset": "component0", "value": -999.0})
        write_trial_part(run, trial(tid, method, seed, "completed"), rows,
                         [{"trial_id": tid, "dataset": "grid25", "method": method, "seed": seed, "step": 100,
                           "x": 0.0, "y": 0.0, "component": None}])
    for method, seed in diverged:
        tid = f"{prefix}{method}{seed}"
        # its last evaluation before divergence had a great value: it must not be averaged in
        write_trial_part(run, trial(tid, method, seed, "diverged"),
                         [{"trial_id": tid, "suite": "s", "dataset": "grid25", "method": method, "seed": seed,
                           "step": 50, "metric": "modes", "value": 25.0, "sigma": None, "subset": "all"}], [])
    merge_parts(run)
    write_json(run / "run.json", {"run_id": name, "suite": "s", "profile": "smoke", "config_hash": "abc",
                                  "suite_config": {"metrics": ["modes", "w1"], "hparams_note": "untuned"}})
    return run


def trial(tid, method, seed, status):
    return {"trial_id": tid, "suite": "s", "profile": "smoke", "dataset": "grid25", "method": method, "seed": seed,
            "status": status, "error": None if status == "completed" else "non-finite loss at step 60",
            "steps": 100, "wall_s": 1.0, "device": "cpu", "node_id": "n", "n_params": 3, "hparams": HP,
            "config_hash": "abc", "code_version": "v", "started_at": NOW, "finished_at": NOW}


@pytest.fixture
def report(tmp_path):
    run = make_run(tmp_path)
    index = build_report([run])
    return run, index, pd.read_csv(run / "report" / "leaderboard.csv")


def cell(lb, method, metric):
    return lb[(lb.method == method) & (lb.metric == metric)].iloc[0]


def test_mean_std_and_t_interval_match_scipy(report):
    _, _, lb = report
    for method in ("a", "b"):
        for metric in ("modes", "w1"):
            vals = np.array([VALUES[(method, s)][metric] for s in range(3)])
            lo, hi = sps.t.interval(0.95, df=2, loc=vals.mean(), scale=sps.sem(vals))
            r = cell(lb, method, metric)
            assert r["n"] == 3
            assert r["mean"] == pytest.approx(vals.mean(), rel=1e-12)
            assert r["std"] == pytest.approx(vals.std(ddof=1), rel=1e-12)
            assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi), rel=1e-12)


def test_diverged_trial_is_counted_but_not_averaged(report):
    _, _, lb = report
    r = cell(lb, "c", "modes")
    assert r["n"] == 2 and r["mean"] == pytest.approx(24.0) and r["n_diverged"] == 1


def test_ranks_follow_each_metrics_direction_and_skip_references(report):
    _, _, lb = report
    # modes: higher is better -> c (24) 1st, a (22) 2nd, b (11) 3rd
    assert [cell(lb, m, "modes")["rank"] for m in ("c", "a", "b")] == [1, 2, 3]
    # w1: lower is better -> b (0.15) 1st, a (0.40) 2nd, c (0.80) 3rd
    assert [cell(lb, m, "w1")["rank"] for m in ("b", "a", "c")] == [1, 2, 3]
    assert np.isnan(cell(lb, "oracle", "modes")["rank"]) and np.isnan(cell(lb, "collapsed", "w1")["rank"])


def test_per_component_rows_never_enter_the_all_mean(report):
    _, _, lb = report
    assert cell(lb, "oracle", "modes")["mean"] == 25.0  # its component0 row holds -999


def test_tidy_csv_columns_and_every_format_written(report):
    run, index, lb = report
    assert list(lb.columns[:9]) == ["dataset", "method", "metric", "n", "mean", "std", "ci_low", "ci_high", "rank"]
    for name in ("leaderboard.md", "leaderboard.html", "leaderboard.tex", "index.html",
                 "figures/samples.png", "figures/curve_modes.pdf"):
        assert (run / "report" / name).stat().st_size > 0
    md = (run / "report" / "leaderboard.md").read_text()
    assert "| c | 2 (1 diverged) | **24.0 ± 1.41" in md
    assert "*oracle (reference)*" in md and "untuned" in md
    tex = (run / "report" / "leaderboard.tex").read_text()
    assert "\\toprule" in tex and "\\textbf{0.150 $\\pm$ 0.0500}" in tex


def test_report_on_a_run_with_no_completed_trial_exits_1_and_writes_nothing(tmp_path, capsys):
    run = tmp_path / "empty"
    run.mkdir()
    write_trial_part(run, trial("x0", "x", 0, "diverged"), [], [])
    merge_parts(run)
    assert main(["report", str(run)]) == 1
    assert "no completed trial" in capsys.readouterr().err
    assert not (run / "report").exists()


def test_several_runs_merge_and_duplicates_are_refused(tmp_path, capsys):
    r1 = make_run(tmp_path, "r1")
    r2 = make_run(tmp_path, "r2", values={("d", 0): {"modes": 3.0, "w1": 1.0}}, diverged=(), prefix="x")
    out = tmp_path / "merged"
    assert main(["report", str(r1), str(r2), "--out", str(out)]) == 0
    lb = pd.read_csv(out / "leaderboard.csv")
    assert set(lb.method) == {"a", "b", "c", "d", "oracle", "collapsed"}
    r3 = make_run(tmp_path, "r3")  # the same trial ids as r1
    assert main(["report", str(r1), str(r3), "--out", str(tmp_path / "dup")]) == 2
    assert "the same trial appears in several runs" in capsys.readouterr().err


def test_report_on_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
