"""bench.perf.plan_cost: the cost table is the plan's own trials × measured step times (timings are never asserted,
only that every trainable trial is counted once, at its own steps, and the hours follow from them)."""
from __future__ import annotations

import pytest

from bench.perf import plan_cost
from bench.suites import build_plan, load_suite


def test_every_trainable_trial_is_costed_at_its_own_steps(monkeypatch):
    timed = []

    def fake_sps(method, dataset, params, device, steps):  # a known s/step per method: the arithmetic is checked
        timed.append((method, dataset, params["d_param_fraction"]))
        return {"gan": 0.5, "mdgan": 2.0}[method]

    monkeypatch.setattr(plan_cost, "seconds_per_step", fake_sps)
    res = plan_cost.measure("stacked_mnist", "default", methods="gan,mdgan", log=lambda *_: None)
    plan = build_plan(load_suite("stacked_mnist"), "default", methods="gan,mdgan").trials
    assert sorted(timed) == sorted({(t.method, t.dataset, t.params["d_param_fraction"]) for t in plan})
    rows = {r["method"]: r for r in res["rows"]}
    for m, sps in (("gan", 0.5), ("mdgan", 2.0)):
        mine = [t for t in plan if t.method == m]
        assert rows[m]["trials"] == len(mine) == 3  # the three D sizes
        assert rows[m]["steps"] == sum(t.steps for t in mine)
        assert rows[m]["hours"] == pytest.approx(rows[m]["steps"] * sps / 3600)
    assert res["total_hours"] == pytest.approx(sum(r["hours"] for r in rows.values()))


def test_a_real_step_is_timed_on_a_dataset_that_is_not_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEBENCH_DATA", str(tmp_path))  # nothing there: the cost needs shapes, not pixels
    res = plan_cost.measure("images", "default", steps=1, methods="gan", datasets="mnist", log=lambda *_: None)
    (row,) = res["rows"]
    assert row["method"] == "gan" and row["trials"] == 1 and row["ms_per_step"] > 0


def test_cuda_without_a_gpu_is_refused_with_exit_2(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert plan_cost.main(["--suite", "images", "--profile", "smoke", "--device", "cuda"]) == 2
    assert "--device cpu" in capsys.readouterr().err
