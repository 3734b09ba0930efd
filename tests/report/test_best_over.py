"""PCM-GAN's "best over epochs" reading (pcm-gan Table III), from a hand-made run: only trials tagged with a
best-over protocol get it; the best is the max of a higher-is-better metric and the min of a lower-is-better one over
each trial's evaluation steps, then mean ± std over seeds, beside the final step's mean; the page shows it."""
import json
from datetime import datetime, timezone

import pandas as pd
import pytest

from bench.report.build import build_report
from bench.results import merge_parts, write_json, write_trial_part

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
# (method, seed) -> IS at steps 100, 200, 300 (peaks mid-training) and FID_dom (lowest mid-training)
IS = {("pcmgan", 0): (3.0, 6.0, 5.0), ("pcmgan", 1): (2.0, 4.0, 7.0), ("gan", 0): (3.0, 9.0, 1.0)}
FID = {("pcmgan", 0): (50.0, 20.0, 30.0), ("pcmgan", 1): (40.0, 35.0, 25.0), ("gan", 0): (9.0, 1.0, 2.0)}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("best") / "run1"
    run.mkdir()
    for (method, seed), is_values in IS.items():
        tid = f"{method}{seed}"
        hp = {"protocols": ["pcmgan-images"] if method == "pcmgan" else [], "params": {}}
        trial = {"trial_id": tid, "suite": "images", "profile": "paper", "dataset": "mnist", "method": method,
                 "seed": seed, "status": "completed", "error": None, "steps": 300, "wall_s": 1.0, "device": "cpu",
                 "node_id": "n", "n_params": 3, "hparams": json.dumps(hp), "config_hash": "abc",
                 "code_version": "v", "started_at": NOW, "finished_at": NOW}
        base = {"trial_id": tid, "suite": "images", "dataset": "mnist", "method": method, "seed": seed,
                "sigma": None, "subset": "all"}
        rows = [{**base, "step": step, "metric": name, "value": v}
                for name, values in (("is", is_values), ("fid_dom", FID[(method, seed)]))
                for step, v in zip((100, 200, 300), values)]
        rows.append({**base, "step": 300, "metric": "m_is", "value": 99.0, "subset": "0"})  # a class row: not overall
        write_trial_part(run, trial, rows, [])
    merge_parts(run)
    write_json(run / "run.json", {"run_id": "run1", "suite": "images", "profile": "paper", "config_hash": "abc",
                                  "suite_config": {"metrics": ["is", "fid_dom"]}})
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
    assert "pcm-gan Table III reports the best IS / FID over epochs" in md and "| mnist | pcmgan | is | 6.50 ± 0.707 | 6.00 | 2 | 3 |" in md
    page = (run / "report" / "index.html").read_text()
    assert "id='best'" in page and "best_over_evaluations.md" in page


def test_a_run_without_such_a_protocol_has_no_best_table(tmp_path):
    run = tmp_path / "run2"
    run.mkdir()
    trial = {"trial_id": "g", "suite": "images", "profile": "default", "dataset": "mnist", "method": "gan", "seed": 0,
             "status": "completed", "error": None, "steps": 10, "wall_s": 1.0, "device": "cpu", "node_id": "n",
             "n_params": 3, "hparams": json.dumps({"protocols": []}), "config_hash": "abc", "code_version": "v",
             "started_at": NOW, "finished_at": NOW}
    write_trial_part(run, trial, [{"trial_id": "g", "suite": "images", "dataset": "mnist", "method": "gan",
                                   "seed": 0, "step": 10, "metric": "is", "value": 2.0, "sigma": None,
                                   "subset": "all"}], [])
    merge_parts(run)
    write_json(run / "run.json", {"run_id": "run2", "suite": "images", "profile": "default", "config_hash": "abc",
                                  "suite_config": {"metrics": ["is"]}})
    build_report([run])
    assert not (run / "report" / "best_over_evaluations.csv").exists()
    assert "id='best'" not in (run / "report" / "index.html").read_text()
