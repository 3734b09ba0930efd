"""The image parts of the report on a hand-made image run: paper vs ours for an image table row (compared under
its protocol, "protocol differs" without it), m-IS / class-share per-class tables, GM-GAN Fig. 7's quality vs
diversity over σ, image metrics against training step, and the page in Chromium."""
import json

import pandas as pd
import pytest

from bench.report.build import build_report
from bench.results import merge_parts, write_json, write_trial_part
from handmade import trial_row

# (method, seed) -> final IS; mgan's trials follow MGAN's CIFAR protocol, gan's none
IS = {("mgan", 0): 8.0, ("mgan", 1): 8.5, ("gan", 0): 5.0, ("gan", 1): 6.0}
M_IS = {("mgan", 0): {"0": 2.0, "1": 3.0}, ("mgan", 1): {"0": 2.5, "1": 3.5},
        ("gan", 0): {"0": 1.0, "1": 1.5}, ("gan", 1): {"0": 1.2, "1": 1.7}}


def _rows(tid, method, seed):
    base = {"trial_id": tid, "suite": "images", "dataset": "cifar10", "method": method, "seed": seed}
    rows = []
    for step in (50, 100):
        late = step == 100
        rows.append({**base, "step": step, "metric": "is", "value": IS[(method, seed)] - (0 if late else 3),
                     "sigma": None, "subset": "all"})
        rows.append({**base, "step": step, "metric": "fid_dom", "value": 10.0 + seed + (0 if late else 5),
                     "sigma": None, "subset": "all"})
    per = M_IS[(method, seed)]
    for c, v in per.items():
        rows.append({**base, "step": 100, "metric": "m_is", "value": v, "sigma": None, "subset": c})
        rows.append({**base, "step": 100, "metric": "m_is", "value": 0.1, "sigma": None, "subset": f"{c}:std"})
        rows.append({**base, "step": 50, "metric": "m_is", "value": 99.0, "sigma": None, "subset": c})  # not final
    rows.append({**base, "step": 100, "metric": "m_is", "value": sum(per.values()) / 2, "sigma": None, "subset": "all"})
    for c, v in (("0", 0.75), ("1", 0.25), ("all", 0.25)):
        rows.append({**base, "step": 100, "metric": "class_share", "value": v, "sigma": None, "subset": c})
    for s in (0.5, 1.0, 2.0):  # quality falls and diversity grows with σ
        rows.append({**base, "step": 100, "metric": "gm_quality", "value": 0.9 - 0.2 * s, "sigma": s, "subset": "all"})
        rows.append({**base, "step": 100, "metric": "gm_diversity", "value": 0.3 * s, "sigma": s, "subset": "all"})
    return rows


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("img") / "run1"
    run.mkdir()
    for (method, seed) in IS:
        tid = f"{method}{seed}"
        hp = {"protocols": ["mgan-cifar-is"] if method == "mgan" else [],
              "params": {"n_generators": 10} if method == "mgan" else {}}
        trial = trial_row(tid, method, seed, dataset="cifar10", suite="images", profile="paper",
                          hparams=json.dumps(hp), config_hash="abc")
        write_trial_part(run, trial, _rows(tid, method, seed), [])
    merge_parts(run)
    write_json(run / "run.json", {"run_id": "run1", "suite": "images", "profile": "paper", "config_hash": "abc",
                                  "suite_config": {"metrics": ["is", "fid_dom", "m_is", "class_share"]}})
    build_report([run])
    return run


def test_paper_vs_ours_compares_an_image_row_only_under_its_protocol(run):
    t = pd.read_csv(run / "report" / "paper_vs_ours.csv").set_index("id")
    r = t.loc["mgan-t1-mgan-is-cifar10"]  # MGAN Table 1: 8.33
    assert r["status"] == "compared" and r["ours_n"] == 2
    assert r["ours_mean"] == pytest.approx(8.25) and r["diff"] == pytest.approx(8.25 - 8.33)
    g = t.loc["gmgan-t2-gan-is-cifar10"]  # GM-GAN Table 2's GAN: our gan trials carry no gmgan-is tag
    assert g["status"] == "protocol differs" and g["ours_mean"] == pytest.approx(5.5) and pd.isna(g["diff"])
    assert t.loc["mgan-t1-mgan-is-imagenet32", "status"] == "not runnable here"
    md = (run / "report" / "paper_vs_ours.md").read_text()
    assert "## Not runnable here" in md and "ImageNet 32×32 is not in our registry" in md


def test_per_class_tables_are_final_step_means_over_seeds(run):
    t = pd.read_csv(run / "report" / "per_class.csv", dtype={"subset": str})
    mis = t[(t.metric == "m_is") & (t.method == "mgan")].set_index("subset")
    assert set(mis.index) == {"0", "1", "all"}  # the ":std" rows (spread over splits) are not classes
    assert mis.loc["0", "mean"] == pytest.approx(2.25) and mis.loc["1", "mean"] == pytest.approx(3.25)
    assert mis.loc["0", "std"] == pytest.approx(0.5 ** 0.5 / 2 * 1.0, rel=1e-9)  # sample std of 2.0, 2.5
    share = t[(t.metric == "class_share") & (t.method == "gan")].set_index("subset")
    assert share.loc["0", "mean"] == pytest.approx(0.75) and share.loc["all", "mean"] == pytest.approx(0.25)
    md = (run / "report" / "per_class.md").read_text()
    assert "## m_is on cifar10" in md and "| mgan | 2.25 ± 0.354 | 3.25 ± 0.354 |" in md
    page = (run / "report" / "index.html").read_text()
    assert "Per-class tables" in page and "class_share on cifar10" in page


def test_quality_diversity_over_sigma_and_curves_for_image_metrics(run):
    figs = run / "report" / "figures"
    assert (figs / "quality_diversity_images.png").stat().st_size > 0
    assert not (figs / "quality_diversity.png").exists()  # no 2-D qd_* rows in this run
    for metric in ("is", "fid_dom"):
        assert (figs / f"curve_{metric}.png").stat().st_size > 0


def test_quality_diversity_axes_zoom_to_the_curves_within_the_metrics_bounds():
    from bench.report.figures import qd_limits

    # the hand-made run's curves: quality 0.9 − 0.2σ over σ ∈ {0.5, 1, 2}, diversity 0.3σ
    assert qd_limits([0.8, 0.7, 0.5]) == pytest.approx((0.5 - 0.024, 0.8 + 0.024))
    assert qd_limits([0.15, 0.3, 0.6]) == pytest.approx((0.15 - 0.036, 0.6 + 0.036))
    assert qd_limits([0.0, 1.0]) == pytest.approx((-0.02, 1.02))  # never past [0, 1] ± the marker margin
    assert qd_limits([0.42, 0.43, float("nan")]) == pytest.approx((0.4 - 0.004, 0.45 + 0.004))  # at least 0.05 wide
    assert qd_limits([]) == (-0.02, 1.02)


def test_the_image_report_renders_in_chromium_without_console_output(run):
    from bench.report.browser import check_in_browser, find_chromium

    if find_chromium() is None:
        pytest.fail("chromium is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    check = check_in_browser(run / "report" / "index.html")
    loaded, total = map(int, check.images_loaded.split("/"))
    assert total >= 3 and loaded == total and check.console == [], check
