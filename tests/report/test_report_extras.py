"""Significance markers, cost columns, dataset-group ranks, paper vs ours and the HTML page in Chromium."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench.report.build import build_report
from bench.report.load import load_runs
from bench.report.paper import paper_vs_ours
from bench.report.paper_numbers import PaperNumber
from bench.report.stats import group_ranks, welch_p
from test_leaderboard import VALUES, make_run


@pytest.fixture
def built(tmp_path):
    run = make_run(tmp_path)
    build_report([run])
    return run, pd.read_csv(run / "report" / "leaderboard.csv")


def vals(method, metric, seeds=(0, 1, 2)):
    return np.array([VALUES[(method, s)][metric] for s in seeds if (method, s) in VALUES])


def test_p_vs_next_is_welchs_test_against_the_runner_up(built):
    _, lb = built
    row = lb[(lb.method == "c") & (lb.metric == "modes")].iloc[0]  # best modes: c (24) vs runner-up a (22)
    assert row["p_vs_next"] == pytest.approx(sps.ttest_ind(vals("c", "modes", (0, 1)), vals("a", "modes"),
                                                           equal_var=False).pvalue, rel=1e-12)
    row = lb[(lb.method == "b") & (lb.metric == "w1")].iloc[0]  # best w1: b (0.15) vs a (0.40)
    assert row["p_vs_next"] == pytest.approx(sps.ttest_ind(vals("b", "w1"), vals("a", "w1"), equal_var=False).pvalue,
                                             rel=1e-12)
    assert lb[lb["rank"] != 1]["p_vs_next"].isna().all()


def test_tie_marker_only_where_the_best_is_not_significantly_better(built):
    run, lb = built
    md = (run / "report" / "leaderboard.md").read_text()
    p_modes = lb[(lb.method == "c") & (lb.metric == "modes")]["p_vs_next"].iloc[0]
    p_w1 = lb[(lb.method == "b") & (lb.metric == "w1")]["p_vs_next"].iloc[0]
    assert p_modes >= 0.05 and p_w1 < 0.05  # the fixture has one of each
    c_line = next(line for line in md.splitlines() if line.startswith("| c |"))
    b_line = next(line for line in md.splitlines() if line.startswith("| b |"))
    assert "**24.0 ± 1.41 [11.3, 25.0]** ≈" in c_line  # the t-interval (to 36.7) clipped to modes ≤ K = 25
    assert "**0.150 ± 0.0500 [0.0258, 0.274]** |" in b_line  # significant: no ≈
    html = (run / "report" / "index.html").read_text()
    assert f"Welch p vs runner-up = {p_w1:.3g}" in html


def test_welch_edge_cases():
    assert np.isnan(welch_p(np.array([1.0]), np.array([1.0, 2.0])))
    assert welch_p(np.array([3.0, 3.0]), np.array([3.0, 3.0])) == 1.0
    assert welch_p(np.array([3.0, 3.0]), np.array([2.0, 2.0])) == 0.0


def test_cost_columns(built):
    run, _ = built
    md = (run / "report" / "leaderboard.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| method |"))
    assert header.endswith("| params | wall s | steps/s |")
    a_line = next(line for line in md.splitlines() if line.startswith("| a |"))
    assert a_line.endswith("| 3.00 | 1.00 | 100 |")  # 3 parameters, 1 s per trial, 100 steps / 1 s


def test_group_ranks_average_over_the_groups_datasets():
    summary = pd.DataFrame({
        "dataset": ["d1", "d1", "d2", "d2", "d3"], "method": ["a", "b", "a", "b", "a"],
        "metric": ["m"] * 5, "rank": [1.0, 2.0, 2.0, 1.0, 1.0], "is_reference": [False] * 5})
    g = group_ranks(summary, {"g": ["d1", "d2", "d3"]}).set_index("method")
    assert g.loc["a", "mean_rank"] == pytest.approx(4 / 3) and g.loc["a", "n_datasets"] == 3
    assert g.loc["b", "mean_rank"] == pytest.approx(1.5) and g.loc["b", "n_datasets"] == 2 and g.loc["b", "of"] == 3


def test_paper_vs_ours_compares_only_under_the_papers_protocol(tmp_path):
    run = make_run(tmp_path)
    # tag trials of method a with the protocol; b's trials have none
    import pyarrow.parquet as pq

    t = pq.read_table(run / "trials.parquet").to_pandas()
    t.loc[t.method == "a", "hparams"] = json.dumps({"protocols": ["proto-x"]})
    import pyarrow as pa

    from bench.results import TRIALS_SCHEMA, write_table

    write_table(run / "trials.parquet", pa.Table.from_pandas(t, schema=TRIALS_SCHEMA, preserve_index=False))
    common = dict(paper="md-gan", source="Table 1", dataset="grid25", metric="modes", pm=1.0,
                  pm_meaning="spread over 5 runs", runs=5, protocol="proto-x", origin="measured")
    numbers = (PaperNumber(id="x-a", method="a", value=20.0, **common),
               PaperNumber(id="x-b", method="b", value=10.0, **common),
               PaperNumber(id="x-z", method="zzz", value=5.0, **common))
    table = paper_vs_ours(load_runs([run]), numbers).set_index("id")
    assert table.loc["x-a", "status"] == "compared" and table.loc["x-a", "diff"] == pytest.approx(22.0 - 20.0)
    assert table.loc["x-a", "ours_n"] == 3 and table.loc["x-a", "ours_std"] == pytest.approx(2.0)
    assert table.loc["x-b", "status"] == "protocol differs" and np.isnan(table.loc["x-b", "diff"])
    assert table.loc["x-b", "ours_mean"] == pytest.approx(11.0)
    # zzz: no trial and not a registered method (a quoted baseline): not runnable, and the row says why
    assert table.loc["x-z", "status"] == "not runnable here" and table.loc["x-z", "ours_n"] == 0
    assert "not in our registry" in table.loc["x-z", "note"]


def test_paper_vs_ours_is_always_written(built):
    run, _ = built
    for ext in ("md", "csv", "tex"):
        assert (run / "report" / f"paper_vs_ours.{ext}").stat().st_size > 0
    table = pd.read_csv(run / "report" / "paper_vs_ours.csv")
    # the fixture's methods are no paper's: each number is not run, or not runnable here (not our dataset/method)
    assert len(table) > 200 and set(table.status) == {"not run", "not runnable here"}


def test_the_html_report_opens_in_chromium_with_all_images_and_no_console_output(built):
    from bench.report.browser import check_in_browser, find_chromium

    if find_chromium() is None:
        pytest.fail("chromium is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    run, _ = built
    check = check_in_browser(run / "report" / "index.html", run / "screenshot.png")
    loaded, total = map(int, check.images_loaded.split("/"))
    assert total >= 5 and loaded == total, check
    assert check.console == [] and check.screenshot == run / "screenshot.png"
    assert (run / "screenshot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_figure_is_reported_by_the_page(built):
    from bench.report.browser import check_in_browser

    run, _ = built
    (run / "report" / "figures" / "samples.png").unlink()
    check = check_in_browser(run / "report" / "index.html")
    loaded, total = map(int, check.images_loaded.split("/"))
    assert loaded == total - 1 and not check.ok


def test_figure_legend_lists_methods_from_every_panel_once():
    # merged runs: panel 1 has gan and oracle, panel 2 gan and mgan (the legend once took panel 1's only)
    import matplotlib.pyplot as plt

    from bench.report.figures import figure_legend

    fig, axes = plt.subplots(1, 2, squeeze=False)
    for name in ("oracle", "gan"):
        axes[0][0].plot([0, 1], [0, 1], label=name)
    for name in ("mgan", "gan"):
        axes[0][1].plot([0, 1], [1, 0], label=name)
    try:
        assert figure_legend(fig, axes, 1.1) == ["gan", "mgan", "oracle"]  # methods sorted, references last
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["gan", "mgan", "oracle"]
    finally:
        plt.close(fig)
