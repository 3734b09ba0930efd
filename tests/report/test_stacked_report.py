"""The report of a run with profile variants (MD-GAN Table 3's D sizes): `method [variant]` labels derived once in
load.py, the stacked modes / KL bars per D size, and paper-vs-ours matching each Table 3 column by its protocol
tag. Built from a hand-made run folder with known values."""
import json

import numpy as np
import pandas as pd
import pytest

from bench.report.build import build_report
from bench.report.load import load_runs, method_label
from bench.report.paper import paper_vs_ours
from bench.report.stacked_figures import stacked_figure, stacked_table
from bench.results import merge_parts, write_json, write_trial_part
from handmade import trial_row

VARIANTS = ("B", "S1/2", "S1/4")
# (method, variant) -> final stacked_modes per seed (3 seeds); KL = 1 - modes / 1000 (a known, distinct value)
MODES = {("gan", "B"): (600.0, 640.0, 620.0), ("gan", "S1/2"): (300.0, 340.0, 320.0),
         ("gan", "S1/4"): (100.0, 90.0, 110.0), ("mdgan", "B"): (990.0, 1000.0, 995.0),
         ("mdgan", "S1/2"): (900.0, 920.0, 910.0), ("mdgan", "S1/4"): (700.0, 680.0, 720.0)}


def _write(run, tid, method, variant, seed, metrics: dict, protocols):
    hp = json.dumps({"params": {"d_param_fraction": {"B": 1.0, "S1/2": 0.5, "S1/4": 0.25}.get(variant, 1.0)},
                     "protocols": protocols, "needs_labels": False})
    rows = [{"trial_id": tid, "suite": "stacked_mnist", "dataset": "stacked_mnist", "method": method, "seed": seed,
             "step": step, "metric": m, "value": v if step == 100 else v / 2, "sigma": None, "subset": "all"}
            for m, v in metrics.items() for step in (50, 100)]
    trial = trial_row(tid, method, seed, dataset="stacked_mnist", suite="stacked_mnist", profile="paper", hparams=hp,
                      variant=variant)
    write_trial_part(run, trial, rows, [])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("stacked") / "run"
    run.mkdir()
    for (method, variant), modes in MODES.items():
        for seed, m in enumerate(modes):
            _write(run, f"{method}-{variant.replace('/', '_')}-{seed}", method, variant, seed,  # ids: no "/"
                   {"stacked_modes": m, "stacked_kl": 1 - m / 1000}, [f"mdgan-stacked-{variant}"])
    merge_parts(run)
    write_json(run / "run.json", {"run_id": "run", "suite": "stacked_mnist", "profile": "paper", "config_hash": "c",
                                  "suite_config": {"metrics": ["stacked_modes", "stacked_kl"]}})
    build_report([run])
    return run


def test_each_variant_is_shown_as_method_bracket_variant(run):
    data = load_runs([run])
    assert method_label("mdgan", "S1/4") == "mdgan [S1/4]" and method_label("mdgan", None) == "mdgan"
    assert set(data.trials["method"]) == {f"{m} [{v}]" for m, v in MODES}
    assert set(data.trials["base_method"]) == {"gan", "mdgan"}
    assert set(data.metrics["method"]) == set(data.trials["method"])  # every table relabelled from the trials
    board = pd.read_csv(run / "report" / "leaderboard.csv")
    row = board[(board["method"] == "mdgan [S1/4]") & (board["metric"] == "stacked_modes")].iloc[0]
    assert row["n"] == 3 and row["mean"] == pytest.approx(700.0, rel=1e-12)  # (700 + 680 + 720) / 3, float sums
    # each variant ranked as a method of its own: means 995, 910, 700, 620, 320, 100
    ranks = board[board["metric"] == "stacked_modes"].set_index("method")["rank"].to_dict()
    assert ranks == {"mdgan [B]": 1, "mdgan [S1/2]": 2, "mdgan [S1/4]": 3, "gan [B]": 4, "gan [S1/2]": 5,
                     "gan [S1/4]": 6}
    assert "mdgan [S1/4]" in (run / "report" / "leaderboard.md").read_text()


def test_a_run_without_variants_keeps_the_method_names(tmp_path):
    run = tmp_path / "plain"
    run.mkdir()
    _write(run, "g0", "gan", None, 0, {"stacked_modes": 10.0}, [])
    merge_parts(run)
    data = load_runs([run])
    assert data.trials["method"].tolist() == ["gan"] == data.trials["base_method"].tolist()
    assert set(data.metrics["method"]) == {"gan"}


def test_stacked_bars_are_the_mean_and_std_over_seeds_per_method_and_d_size(run):
    table = stacked_table(load_runs([run])).set_index(["method", "variant", "metric"])
    for (method, variant), modes in MODES.items():
        got = table.loc[(method, variant, "stacked_modes")]
        assert got["n"] == 3
        assert got["mean"] == pytest.approx(np.mean(modes), rel=1e-12)  # float sums only
        assert got["std"] == pytest.approx(np.std(modes, ddof=1), rel=1e-9)
        kl = table.loc[(method, variant, "stacked_kl")]
        assert kl["mean"] == pytest.approx(1 - np.mean(modes) / 1000, rel=1e-9)
    figs = run / "report" / "figures"
    assert (figs / "stacked_modes_kl.png").stat().st_size > 1000 and (figs / "stacked_modes_kl.pdf").exists()
    assert "figures/stacked_modes_kl.png" in (run / "report" / "index.html").read_text()


def test_no_stacked_figure_without_the_stacked_metrics(tmp_path):
    run = tmp_path / "other"
    run.mkdir()
    _write(run, "g0", "gan", "B", 0, {"fid_dom": 10.0}, [])
    merge_parts(run)
    assert stacked_figure(load_runs([run]), tmp_path / "figs") == []
    assert not (tmp_path / "figs").exists()


def test_paper_vs_ours_compares_each_table_3_column_with_its_own_variant(run):
    pvo = paper_vs_ours(load_runs([run])).set_index("id")
    quarter = pvo.loc["mdgan-t3-mdgan-stacked_modes-s1_4"]
    assert quarter["status"] == "compared" and quarter["ours_n"] == 3 and quarter["method"] == "mdgan"
    assert quarter["ours_mean"] == pytest.approx(700.0, rel=1e-12)  # the S1/4 trials only, not B's or S1/2's
    assert quarter["diff"] == pytest.approx(700.0 - 696.0, rel=1e-12)
    full = pvo.loc["mdgan-t3-mdgan-stacked_kl-b"]
    assert full["status"] == "compared" and full["ours_mean"] == pytest.approx(1 - 995.0 / 1000, rel=1e-9)
    gan = pvo.loc["mdgan-t3-gan-stacked_modes-b"]  # Table 3 lists GAN under B only
    assert gan["status"] == "compared" and gan["ours_mean"] == pytest.approx(620.0, rel=1e-12)
    assert pvo.loc["mdgan-t3-deligan-stacked_modes-s1_4", "status"] == "not run"
