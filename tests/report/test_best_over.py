"""PCM-GAN's "best over epochs" reading (pcm-gan Table III), from a hand-made run: only trials tagged with a
best-over protocol get it; the best is the max of a higher-is-better metric and the min of a lower-is-better one over
each trial's evaluation steps, then mean ± std over seeds, beside the final step's mean; the page shows it."""
import json

import pandas as pd
import pytest

from bench.report.build import build_report
from handmade import trial_row, write_run

# (method, seed) -> IS at steps 100, 200, 300 (peaks mid-training) and FID_dom (lowest mid-training)
IS = {("pcmgan", 0): (3.0, 6.0, 5.0), ("pcmgan", 1): (2.0, 4.0, 7.0), ("gan", 0): (3.0, 9.0, 1.0)}
FID = {("pcmgan", 0): (50.0, 20.0, 30.0), ("pcmgan", 1): (40.0, 35.0, 25.0), ("gan", 0): (9.0, 1.0, 2.0)}


def _rows(tid, method, seed, series):
    base = {"trial_id": tid, "suite": "images", "dataset": "mnist", "method": method, "seed": seed, "sigma": None,
            "subset": "all"}
    return [{**base, "step": step, "metric": name, "value": v}
            for name, values in series.items() for step, v in zip((100, 200, 300), values)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    trials = []
    for (method, seed), is_values in IS.items():
        tid = f"{method}{seed}"
        hp = json.dumps({"protocols": ["pcmgan-images"] if method == "pcmgan" else [], "params": {}})
        rows = _rows(tid, method, seed, {"is": is_values, "fid_dom": FID[(method, seed)]})
        rows.append({**rows[-1], "metric": "m_is", "value": 99.0, "subset": "0"})  # a class row: not overall
        trials.append((trial_row(tid, method, seed, dataset="mnist", suite="images", profile="paper", hparams=hp,
                                 steps=300), rows))
    run = write_run(tmp_path_factory.mktemp("best") / "run1", trials, ["is", "fid_dom"])
    build_report([run])
    return run


def test_best_is_the_max_or_min_over_evaluations_then_the_mean_over_seeds(run):
    t = pd.read_csv(run / "report" / "best_over_evaluations.csv").set_index("metric")
    assert set(t["method"]) == {"pcmgan"} and set(t["protocol"]) == {"pcmgan-images"}  # gan: untagged
    assert t.loc["is", "best_mean"] == pytest.approx((6.0 + 7.0) / 2)  # max per seed
    assert t.loc["is", "final_mean"] == pytest.approx((5.0 + 7.0) / 2)
    assert t.loc["is", "best_std"] == pytest.approx(0.5 ** 0.5)
    assert t.loc["fid_dom", "best_mean"] == pytest.approx((20.0 + 25.0) / 2)  # min per seed: lower is better
    assert t.loc["fid_dom", "final_mean"] == pytest.approx((30.0 + 25.0) / 2)
    assert (t["n"] == 2).all() and (t["evaluations"] == 3).all()
    assert "m_is" not in t.index


def test_the_page_and_markdown_label_the_best_reading(run):
    md = (run / "report" / "best_over_evaluations.md").read_text()
    assert "pcm-gan Table III reports the best IS / FID over epochs" in md
    assert "| mnist | pcmgan | is | 6.50 ± 0.707 | 6.00 | 2 | 3 |" in md
    page = (run / "report" / "index.html").read_text()
    assert "id='best'" in page and "best_over_evaluations.md" in page


def test_a_run_without_such_a_protocol_has_no_best_table(tmp_path):
    trial = trial_row("g", "gan", dataset="mnist", suite="images", profile="default",
                      hparams=json.dumps({"protocols": []}), steps=10)
    run = write_run(tmp_path / "run2", [(trial, _rows("g", "gan", 0, {"is": (1.0, 2.0, 1.5)}))], ["is"])
    build_report([run])
    assert not (run / "report" / "best_over_evaluations.csv").exists()
    assert "id='best'" not in (run / "report" / "index.html").read_text()
