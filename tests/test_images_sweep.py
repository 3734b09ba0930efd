"""The image suite's smoke profile end to end through Ray (digits and stacked digits, offline): tables, image
grids, the evaluation protocol in hparams, and the calibration rows (held-out real images vs one image
repeated) separating on every metric as they must. gan and the two references keep it to about a minute; every
method's image training is tested in tests/methods/test_image_methods.py.

Then the stacked_mnist suite's smoke profile (MD-GAN Table 3's protocol at the three D sizes) through the same Ray
instance and evaluator cache: gan and mdgan (Table 3's subject) at B, S1/2 and S1/4, report included; the other
methods' plans at the three sizes are built in tests/test_variants.py."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main

pytestmark = pytest.mark.ray

METHODS = "gan,oracle,collapsed"


@pytest.fixture(scope="module")
def image_run(ray_env, tmp_path_factory):
    import os

    out = tmp_path_factory.mktemp("images")
    os.environ["MODEBENCH_CACHE"] = str(tmp_path_factory.mktemp("cache"))  # evaluators trained once, here
    rc = main(["run", "--suite", "images", "--profile", "smoke", "--methods", METHODS, "--out", str(out)])
    run_dir = next((out / "images").iterdir())
    from bench.results import read_run

    return rc, run_dir, read_run(run_dir)


def final_values(run, metric: str, subset: str = "all"):
    m = run["metrics"]
    m = m[(m["metric"] == metric) & (m["subset"] == subset) & m["sigma"].isna()]
    return {(r.dataset, r.method): r.value for r in m.itertuples()}


def test_the_smoke_sweep_completes_with_tables_grids_and_a_report(image_run):
    rc, run_dir, run = image_run
    assert rc == 0
    t = run["trials"]
    assert len(t) == 6 and set(t["status"]) == {"completed"}
    assert (run_dir / "report" / "index.html").exists()
    figures = {p.name for p in (run_dir / "report" / "figures").glob("*.png")}
    assert {"images_digits.png", "images_stacked_digits.png", "components_digits.png"} <= figures
    img = run["images"]
    for tid in t["trial_id"]:
        kinds = img[img["trial_id"] == tid]["kind"].tolist()
        assert kinds.count("generated") == 1 and kinds.count("real") == 1  # one evaluation (the final step)
    oracle = t[(t["method"] == "oracle") & (t["dataset"] == "digits")]["trial_id"].iloc[0]
    assert (img[img["trial_id"] == oracle]["kind"] == "component").sum() == 10  # one component per class


def test_the_smoke_report_shows_every_image_figure_and_table_and_renders_in_chromium(image_run):
    from bench.report.browser import check_in_browser, find_chromium

    _, run_dir, _ = image_run
    report = run_dir / "report"
    figures = {p.stem for p in (report / "figures").glob("*.png")}
    expected = {"images_digits", "images_stacked_digits", "components_digits",  # sample and per-component grids
                "stacked_modes_kl",  # Stacked-MNIST mode-count and KL bars
                "quality_diversity_images",  # GM-GAN Fig. 7 over σ
                "curve_fid_dom", "curve_stacked_modes", "curve_m_is", "curve_gm_score"}  # metrics against step
    assert expected <= figures, expected - figures
    per_class = (report / "per_class.md").read_text()  # m-IS per predicted class (DeLiGAN Table 1)
    assert "## m_is on digits" in per_class
    page = (report / "index.html").read_text()
    assert "id='per-class'" in page and all(f"figures/{f}.png" in page for f in expected)
    assert (report / "paper_vs_ours.md").exists()
    if find_chromium() is None:
        pytest.fail("chromium is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    check = check_in_browser(report / "index.html")
    loaded, total = map(int, check.images_loaded.split("/"))
    assert total >= len(expected) and loaded == total and check.console == [], check


def test_every_value_records_its_evaluator_and_sample_count(image_run):
    _, _, run = image_run
    for hp in map(json.loads, run["trials"]["hparams"]):
        dom = hp["evaluation_protocol"]
        assert any("accuracy" in json.dumps(v) for v in dom.values())  # the classifier's held-out accuracy
        assert hp["metrics"]["is_dom"]["n_samples"] == 500 and hp["metrics"]["is_dom"]["n_samples_protocol"] == 10_000
        if hp["dataset"]["name"] == "stacked_digits":
            assert hp["metrics"]["stacked_modes"]["n_samples"] == 25_000


def test_calibration_held_out_images_beat_one_repeated_image(image_run):
    _, _, run = image_run
    is_dom, fid, recall = final_values(run, "is_dom"), final_values(run, "fid_dom"), final_values(run, "recall_dom")
    for ds in ("digits", "stacked_digits"):
        assert is_dom[(ds, "collapsed")] == pytest.approx(1.0, abs=0.05)  # one image: p(y|x) = p(y)
        assert fid[(ds, "oracle")] < 0.2 * fid[(ds, "collapsed")]
        assert recall[(ds, "oracle")] > 0.5 and recall[(ds, "collapsed")] < 0.05
        cover = final_values(run, "coverage_dom")
        assert cover[(ds, "oracle")] > 0.6 and cover[(ds, "collapsed")] < 0.05
    # m-IS (deligan §5.1): one image repeated gives identical predictions in its one class, exp(0) = 1; held-out real
    # digits spread a little within each class (docs/reproductions.md "m-IS against real images": ~1.3)
    mis = final_values(run, "m_is")
    assert mis[("digits", "collapsed")] == pytest.approx(1.0, abs=1e-6) and 1.05 < mis[("digits", "oracle")] < 2.0
    # 10 digit classes, each ~ equally likely, classified ~99 % right: IS near 10 (500 samples in 10 splits of 50)
    assert 7.0 < is_dom[("digits", "oracle")] <= 10.0
    modes, kl = final_values(run, "stacked_modes"), final_values(run, "stacked_kl")
    # 25,000 held-out stacks cover all 1,000 classes (expected misses 1000·e^−25); ~4 % misclassified stacks
    # move between classes but leave none empty
    assert modes[("stacked_digits", "oracle")] >= 990 and modes[("stacked_digits", "collapsed")] == 1
    assert kl[("stacked_digits", "oracle")] < 0.1
    assert kl[("stacked_digits", "collapsed")] == pytest.approx(6.9078, abs=1e-3)  # log 1000: one class


# -- the stacked_mnist suite's smoke profile -------------------------------------------------------------------
STACKED_METHODS = "gan,mdgan"


@pytest.fixture(scope="module")
def stacked_run(image_run, tmp_path_factory):
    """After image_run, so the stacked_digits classifier it trained (same MODEBENCH_CACHE) and Ray are reused."""
    from bench.results import read_run

    out = tmp_path_factory.mktemp("stacked")
    rc = main(["run", "--suite", "stacked_mnist", "--profile", "smoke", "--methods", STACKED_METHODS,
               "--out", str(out)])
    run_dir = next((out / "stacked_mnist").iterdir())
    return rc, run_dir, read_run(run_dir)


def test_stacked_smoke_trains_each_method_at_the_three_d_sizes(stacked_run):
    rc, _, run = stacked_run
    assert rc == 0
    t = run["trials"]
    assert set(t["status"]) == {"completed"} and set(t["dataset"]) == {"stacked_digits"}
    assert sorted(zip(t["method"], t["variant"])) == sorted(
        (m, v) for m in STACKED_METHODS.split(",") for v in ("B", "S1/2", "S1/4"))
    for method, rows in t.groupby("method"):
        n = dict(zip(rows["variant"], rows["n_params"]))
        assert n["B"] > n["S1/2"] > n["S1/4"], (method, n)  # only D shrinks: G is the same in all three
        hp = {v: json.loads(h) for v, h in zip(rows["variant"], rows["hparams"])}
        assert {v: h["params"]["d_param_fraction"] for v, h in hp.items()} == {"B": 1.0, "S1/2": 0.5, "S1/4": 0.25}
        d = {v: h["n_params_by_player"]["D"] for v, h in hp.items()}  # D's optimiser: D and its heads
        assert d["S1/2"] / d["B"] == pytest.approx(0.5, abs=0.05) and d["S1/4"] / d["B"] == pytest.approx(0.25, abs=0.05)
        assert len({h["n_params_by_player"]["G"] for h in hp.values()}) == 1
    m = run["metrics"].set_index("trial_id")
    modes, kl = m[m["metric"] == "stacked_modes"]["value"], m[m["metric"] == "stacked_kl"]["value"]
    assert len(modes) == len(kl) == 6 and modes.between(1, 1000).all()
    # KL(p ‖ uniform) = log 1000 − H(p), and p on `modes` classes has H(p) ≤ log modes: log(1000 / modes) ≤ KL ≤ log 1000
    assert (kl >= np.log(1000 / modes[kl.index]) - 1e-6).all() and (kl <= np.log(1000) + 1e-6).all()
    for hp in map(json.loads, t["hparams"]):
        assert hp["metrics"]["stacked_modes"]["n_samples"] == 25_000  # md-gan §6.3.1's sample count
        assert hp["protocols"] == []  # smoke follows no paper protocol: nothing is compared with Table 3


def test_stacked_smoke_report_draws_modes_and_kl_per_d_size(stacked_run):
    _, run_dir, _ = stacked_run
    report = run_dir / "report"
    figures = {p.stem for p in (report / "figures").glob("*.png")}
    assert {"stacked_modes_kl", "curve_stacked_modes", "curve_stacked_kl", "images_stacked_digits"} <= figures
    board = (report / "leaderboard.md").read_text()
    assert all(f"| {m} [{v}] |" in board for m in STACKED_METHODS.split(",") for v in ("B", "S1/2", "S1/4"))
    page = (report / "index.html").read_text()
    assert "figures/stacked_modes_kl.png" in page
