"""Budget variants and label-using methods in the report, derived from each trial's hparams (issue 15): a trial
whose params depart from its method's paper-defining defaults is marked † with a footnote; methods with
needs_labels are marked ‡ and ranked only among themselves."""
import json

import pandas as pd
import pytest

from bench.registry import METHODS
from bench.report.build import build_report
from bench.report.figures import heatmap_tables
from bench.report.load import load_runs
from bench.report.stats import summarise
from bench.results import merge_parts, write_json, write_trial_part
from bench.suites import build_plan, load_suite, paper_departures
from handmade import trial_row

DATASETS = ["grid25", "ring8_mdgan"]
MIXTURE = {"name": "x", "mixture": {"means": [[0, 0], [2, 0]], "stds": [0.05, 0.05], "weights": [0.5, 0.5]}}
# final values per method (3 seeds: base, base + d, base - d): acgan is best on every metric by far
BASE = {"acgan": (25.0, 0.01), "gmgan_supervised": (12.0, 0.6), "gmgan_static": (22.0, 0.2), "gan": (18.0, 0.4),
        "unrolled_gan": (15.0, 0.5)}


@pytest.fixture(scope="module")
def plans():
    cfg = load_suite("mode_collapse")
    return {prof: {(t.method, t.dataset): t for t in build_plan(cfg, prof, methods=list(BASE), datasets=DATASETS,
                                                                seeds=1).trials}
            for prof in ("full", "paper")}


def params_of(plans, method, dataset):
    """grid25: the full profile (first-order unrolling); ring8_mdgan: the paper profile (second order)."""
    return plans["full" if dataset == "grid25" else "paper"][(method, dataset)].params


@pytest.fixture(scope="module")
def built(tmp_path_factory, plans):
    run = tmp_path_factory.mktemp("lab") / "run"
    run.mkdir()
    for dataset in DATASETS:
        for method, (modes, w1) in BASE.items():
            hp = json.dumps({"dataset": {**MIXTURE, "name": dataset}, "params": params_of(plans, method, dataset),
                             "needs_labels": METHODS.get(method).needs_labels})
            for seed, d in enumerate((0.0, 0.5, -0.5)):
                tid = f"{method}-{dataset}-{seed}"
                vals = {"modes": modes + d, "w1": w1 + d / 100}
                rows = [{"trial_id": tid, "suite": "s", "dataset": dataset, "method": method, "seed": seed,
                         "step": 100, "metric": m, "value": v, "sigma": None, "subset": "all"} for m, v in vals.items()]
                trial = trial_row(tid, method, seed, dataset=dataset, profile="x", hparams=hp)
                write_trial_part(run, trial, rows, [])
    merge_parts(run)
    write_json(run / "run.json", {"run_id": "run", "suite": "s", "profile": "x", "config_hash": "c",
                                  "suite_config": {"metrics": ["modes", "w1"], "dataset_groups": {"both": DATASETS}}})
    build_report([run])
    return run, pd.read_csv(run / "report" / "leaderboard.csv")


def test_unmarked_unrolled_gan_really_has_the_papers_parameters(plans):
    first, second = params_of(plans, "unrolled_gan", "grid25"), params_of(plans, "unrolled_gan", "ring8_mdgan")
    assert first["backprop_unroll"] is False and paper_departures("unrolled_gan", first) == [
        "first-order unrolling (Metz et al.: second order)"]
    # the paper profile's unrolled_gan: every paper-defining field at the paper's value (Params default), no mark
    fields = METHODS.get("unrolled_gan").Params.model_fields
    assert second["backprop_unroll"] is True == fields["backprop_unroll"].default
    assert second["unroll_steps"] == 5 and paper_departures("unrolled_gan", second) == []


def test_nx_gan_budget_width_is_a_departure_and_50x_is_not(plans):
    assert paper_departures("nx_gan", {"width_mult": 4}) == ["4× G units (DeLiGAN §5.2: 50×)"]
    assert paper_departures("nx_gan", {"width_mult": 50}) == []
    cfg = load_suite("mode_collapse")
    toy = build_plan(cfg, "paper", methods="nx_gan", datasets="deligan_uni", seeds=1).trials[0]
    assert toy.params["width_mult"] == 50 and paper_departures("nx_gan", toy.params) == []


def test_budget_variant_marked_in_md_csv_html_tex_with_its_footnote(built):
    run, lb = built
    rows = lb[lb.method == "unrolled_gan"].set_index("dataset")
    assert set(rows.loc["grid25", "method_label"]) == {"unrolled_gan†"}
    assert set(rows.loc["grid25", "paper_departure"]) == {"first-order unrolling (Metz et al.: second order)"}
    assert set(rows.loc["ring8_mdgan", "method_label"]) == {"unrolled_gan"}
    assert rows.loc["ring8_mdgan", "paper_departure"].isna().all()  # "" reads back as NaN
    md = (run / "report" / "leaderboard.md").read_text()
    grid, ring = md.split("## grid25")[1].split("## ring8_mdgan")
    assert "| unrolled_gan† |" in grid and "† unrolled_gan: first-order unrolling (Metz et al.: second order)" in grid
    assert "| unrolled_gan |" in ring.split("## group")[0] and "† unrolled_gan" not in ring.split("## group")[0]
    html = (run / "report" / "leaderboard.html").read_text()
    assert "unrolled_gan†" in html and "† unrolled_gan: first-order unrolling" in html
    tex = (run / "report" / "leaderboard.tex").read_text()
    assert r"unrolled\_gan$^\dagger$ &" in tex and r"$^\dagger$ unrolled\_gan: first-order unrolling" in tex


def test_label_using_methods_are_marked_and_ranked_apart(built):
    run, lb = built
    for dataset in DATASETS:
        for metric in ("modes", "w1"):
            g = lb[(lb.dataset == dataset) & (lb.metric == metric)].set_index("method")
            # acgan is best on every metric, yet rank 1 of the unsupervised ranking is an unsupervised method
            first = g[(g["rank"] == 1) & (g["rank_group"] == "unsupervised")].index.tolist()
            assert first == ["gmgan_static"]
            assert g.loc["acgan", "rank_group"] == "uses labels" and g.loc["acgan", "rank"] == 1
            assert g.loc["gmgan_supervised", "rank"] == 2 and g.loc["gan", "rank"] == 2
            assert g.loc["acgan", "method_label"] == "acgan‡" and g.loc["gan", "method_label"] == "gan"
    md = (run / "report" / "leaderboard.md").read_text()
    grid = md.split("## grid25")[1].split("## ")[0]
    names = [line.split("|")[1].strip() for line in grid.splitlines() if line.startswith("| ") and "method" not in line]
    # unsupervised first (by rank), then the label-using methods, marked ‡
    assert names == ["gmgan_static", "gan", "unrolled_gan†", "acgan‡", "gmgan_supervised‡"]
    assert "‡ trains on the class labels" in grid
    group = md.split("## group both")[1]
    bold = [line.split("|")[1].strip() for line in group.splitlines() if line.startswith("| ") and "**" in line]
    assert bold == ["gmgan_static", "acgan‡"]  # each group's best, never acgan over the unsupervised methods


def test_rank_heat_map_of_the_unsupervised_methods_leaves_out_the_label_users(built):
    run, _ = built
    data = load_runs([run])
    tables = heatmap_tables(summarise(data, {"modes": True, "w1": False}))
    unsup = tables["rank_heatmap"][1]
    assert list(unsup.index) == ["gmgan_static", "gan", "unrolled_gan†"]
    assert unsup.loc["gmgan_static"].tolist() == [1.0, 1.0]
    assert sorted(tables["rank_heatmap_labels"][1].index) == ["acgan‡", "gmgan_supervised‡"]
    assert (run / "report" / "figures" / "rank_heatmap.png").exists()
    assert (run / "report" / "figures" / "rank_heatmap_labels.png").exists()
