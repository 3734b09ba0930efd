"""The leaderboard on a hand-made run folder with known values."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench.cli import main
from bench.report.build import build_report
from bench.results import merge_parts, write_json, write_trial_part
from handmade import NOW, trial_row

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
    return trial_row(tid, method, seed, profile="smoke", hparams=HP, status=status, config_hash="abc",
                     error=None if status == "completed" else "non-finite loss at step 60")


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
            if metric == "modes":  # no range in these hparams: the registry's, modes in [0, 25] on grid25
                lo, hi = max(lo, 0.0), min(hi, 25.0)  # a's interval would reach 26.97 modes of 25
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


# -- intervals never leave the metric's range --------------------------------------------------------------
# A dataset the registry does not know: its ranges can come only from the hparams the trials recorded.
RANGES = {"modes": [0.0, 8.0], "hq": [0.0, 100.0], "sym_kl": [0.0, None]}
HP_RANGED = json.dumps({"dataset": {"name": "ring8_custom", "mixture": {"means": [[2, 0], [-2, 0]],
                                                                        "stds": [0.1, 0.1], "weights": [0.5, 0.5]}},
                        "metrics": {m: {"value_range": r} for m, r in RANGES.items()}})
# (method, metric) -> 3 seeds whose 95 % t-interval leaves the range on the side noted
BOUNDED = {("m", "modes"): [0.0, 0.0, 2.0],  # t-interval [−2.20, 3.54]: below 0 modes
           ("m", "hq"): [100.0, 100.0, 90.0],  # [82.3, 111]: above 100 %
           ("m", "sym_kl"): [0.01, 0.02, 0.5],  # [−0.52, 0.87]: a negative divergence
           ("n", "modes"): [8.0, 7.0, 8.0],  # [6.23, 9.10]: above K = 8
           ("n", "hq"): [1.0, 0.0, 0.0],  # [−1.10, 1.77]
           ("n", "sym_kl"): [2.0, 2.5, 3.0]}  # [1.26, 3.74]: inside, must stay the plain t-interval


@pytest.fixture(scope="module")
def bounded_report(tmp_path_factory):
    run = tmp_path_factory.mktemp("bounded") / "run"
    run.mkdir()
    for method in ("m", "n"):
        for seed in range(3):
            tid = f"{method}{seed}"
            rows = [{"trial_id": tid, "suite": "s", "dataset": "ring8_custom", "method": method, "seed": seed,
                     "step": 100, "metric": metric, "value": vals[seed], "sigma": None, "subset": "all"}
                    for (mm, metric), vals in BOUNDED.items() if mm == method]
            t = {**trial(tid, method, seed, "completed"), "dataset": "ring8_custom", "hparams": HP_RANGED}
            write_trial_part(run, t, rows, [{"trial_id": tid, "dataset": "ring8_custom", "method": method,
                                             "seed": seed, "step": 100, "x": 0.0, "y": 0.0, "component": None}])
    merge_parts(run)
    write_json(run / "run.json", {"run_id": "bounded", "suite": "s", "profile": "smoke", "config_hash": "abc",
                                  "suite_config": {"metrics": ["modes", "hq", "sym_kl"]}})
    build_report([run])
    return run / "report"


def _intervals(text: str) -> list[tuple[float, float]]:
    import re

    return [(float(a), float(b)) for a, b in re.findall(r"\[(-?[0-9.e+-]+), (-?[0-9.e+-]+)\]", text)]


def _inside(lo_hi, metric) -> bool:
    lo, hi = RANGES[metric]
    return lo_hi[0] >= lo and (hi is None or lo_hi[1] <= hi)


def test_t_intervals_are_clipped_to_the_recorded_range_in_the_csv(bounded_report):
    lb = pd.read_csv(bounded_report / "leaderboard.csv")
    for (method, metric), vals in BOUNDED.items():
        vals = np.array(vals)
        lo, hi = sps.t.interval(0.95, df=2, loc=vals.mean(), scale=sps.sem(vals))
        rlo, rhi = RANGES[metric]
        want = (max(lo, rlo), hi if rhi is None else min(hi, rhi))
        r = cell(lb, method, metric)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(want, rel=1e-12)  # clip only: same t-interval
        assert r["mean"] == pytest.approx(vals.mean(), rel=1e-12)  # the mean and std are never clipped
    # the raw t-intervals did leave the range (the test would be empty otherwise), and inside ones are kept
    assert sps.t.interval(0.95, df=2, loc=2 / 3, scale=sps.sem([0, 0, 2]))[0] < 0
    assert cell(lb, "m", "modes")["ci_low"] == 0.0 and cell(lb, "m", "hq")["ci_high"] == 100.0
    assert cell(lb, "n", "modes")["ci_high"] == 8.0 and cell(lb, "m", "sym_kl")["ci_low"] == 0.0
    assert cell(lb, "n", "sym_kl")["ci_low"] == pytest.approx(2.5 - 4.302653 * 0.5 / np.sqrt(3), rel=1e-6)


def test_no_printed_interval_leaves_its_range_in_md_html_or_tex(bounded_report):
    md = (bounded_report / "leaderboard.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("| m ") or line.startswith("| n ")]
    assert len(table) == 2
    seen = 0
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for metric, text in zip(["modes", "hq", "sym_kl"], cells[2:5]):
            found = _intervals(text)
            assert len(found) == 1, text
            assert _inside(found[0], metric), (metric, text)
            seen += 1
    assert seen == 6
    assert "clipped to the range the metric can take" in md  # the legend says which interval this is
    from html.parser import HTMLParser

    class Cells(HTMLParser):  # (column index, text or tooltip) of every data cell of the dataset board
        def __init__(self):
            super().__init__()
            self.col, self.out, self.title = -1, [], ""

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.col = -1
            if tag == "td":
                self.col += 1
                self.title = dict(attrs).get("title") or ""

        def handle_data(self, data):
            if self.col >= 2 and self.lasttag == "td":
                self.out.append((self.col, data + " " + self.title))

    for page in ("leaderboard.html", "index.html"):
        p = Cells()
        p.feed((bounded_report / page).read_text())
        checked = 0
        for col, text in p.out:
            metric = {2: "modes", 3: "hq", 4: "sym_kl"}.get(col)
            for lo_hi in _intervals(text) if metric else []:
                assert _inside(lo_hi, metric), (page, metric, text)
                checked += 1
        assert checked == 12, page  # 6 cells × (text + tooltip)
    tex = (bounded_report / "leaderboard.tex").read_text()
    assert "-2.2" not in tex and "111" not in tex and "[" not in tex.split("\\toprule")[1]  # mean ± std only
