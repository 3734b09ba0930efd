"""The machine's reference speed (bench/perf/reference.py): measured on the driver, recorded in run.json."""
import json

import torch

from bench.perf import reference
from bench.results import write_trial_part
from bench.suites import build_plan, load_suite


def test_reference_measures_the_gan_step_within_its_budget_and_leaves_the_rng_alone():
    state = torch.get_rng_state()
    threads = torch.get_num_threads()
    ref = reference.measure(budget_s=0.01)
    assert ref["name"] == "gan-2d-step" and ref["threads"] == 1
    # a tiny budget still times the minimum number of blocks
    assert ref["steps"] == reference.WARMUP + reference.MIN_BLOCKS * reference.BLOCK
    assert 0 < ref["cpu_ms_per_step"] < 1e3 and 0 < ref["ms_per_step"] < 1e4
    assert torch.equal(torch.get_rng_state(), state)  # the driver's own random stream is untouched
    assert torch.get_num_threads() == threads


def _fake_ray(todo, run_dir, plan, opts, t0):
    """Stand-in for the Ray side: run each (0-step oracle) trial in-process and write its part."""
    from bench.trial import run_trial

    for spec in todo:
        out = run_trial(spec)
        write_trial_part(run_dir, out.trial, out.metrics, out.samples)


def test_run_json_carries_the_reference_speed(tmp_path, monkeypatch):
    import bench.sweep as sweep

    monkeypatch.setattr(sweep, "_run_ray", _fake_ray)
    plan = build_plan(load_suite("mode_collapse"), "smoke", methods="oracle", datasets="grid25")
    plan = plan.model_copy(update={"trials": [t.model_copy(update={"steps": 0, "eval_steps": [0], "metrics": []})
                                              for t in plan.trials]})
    summary = sweep.run_sweep(plan, sweep.SweepOptions(out_root=tmp_path, quiet=True, reference_budget_s=0.01))
    run = json.loads((summary.run_dir / "run.json").read_text())
    assert run["status"] == "finished" and run["counts"]["completed"] == 1
    ref = run["reference_speed"]
    assert ref["name"] == "gan-2d-step" and ref["ms_per_step"] > 0 and ref["cpu_ms_per_step"] > 0
    assert run["invocations"][-1]["reference_speed"] == ref  # also per invocation (a resume measures again)
    off = sweep.run_sweep(plan, sweep.SweepOptions(out_root=tmp_path / "off", quiet=True, reference_budget_s=None))
    assert json.loads((off.run_dir / "run.json").read_text())["reference_speed"] is None
