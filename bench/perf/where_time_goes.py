"""(d) Where a default-profile trial's time goes: cProfile of `run_trial` on the suite's own resolved trials.

For each method × dataset, the trial `bench run --suite mode_collapse --profile default` would run (seed 0:
its steps, evaluation schedule, metrics and params, from `build_plan`) runs once under cProfile, single-threaded,
after a 20-step warm-up of the same trial (imports and caches: once per Ray worker), and its time is split into
- training: `train_step` (the method's own step), of which the optimisers' `step` and autograd's backward;
- data: `data.batch` (the training batches);
- evaluation: `_eval_into` (sampling + metrics at every scheduled evaluation), of which the metrics;
- harness: the rest of `run_trial` (seeding, building data and method, divergence checks, rows).
cProfile inflates many small Python calls, so the shares are a guide; the speed-ups are measured without it
(bench/perf/step_speedups.py).

Measured (2026-12-01, 2 cores under a load of ~15-20, before the isotropic sampler; % of run_trial):
    trial                    training  (optimiser.step, backward)  data.batch  evaluation  harness
    gan on ring8_mgan          87.0 %   (21.7 %, 29.3 %)              9.2 %       2.7 %     1.1 %
    mgan on ring8_mgan         94.8 %   (11.5 %, 29.5 %)              3.0 %       1.5 %     0.7 %
    wgan_gp on ring8_mgan      95.9 %   (12.7 %, 30.3 %)              3.2 %       0.6 %     0.3 %
    unrolled_gan on ring8_mgan 94.4 %   ( 9.0 %, 12.8 %)              3.8 %       1.2 %     0.6 %
    gan on grid25              84.8 %   (20.6 %, 27.1 %)              3.4 %       9.6 %     2.1 %
The step is the trial: evaluation (5 per trial) and the harness are a few % (cProfile inflates evaluation's
many small numpy calls: without it an evaluation costs 0.05-0.17 s of CPU, the final one with the σ sweep
0.2-0.7 s, bench/perf/method_costs.py), so cheaper intermediate evaluations could save ≤ 2-3 %.

    python -m bench.perf.where_time_goes [--methods gan,mgan,wgan_gp,unrolled_gan] [--datasets ring8_mgan,grid25]
                                         [--steps N (default: the profile's)] [--json PATH]
"""
from __future__ import annotations

import argparse
import sys

import torch

from bench.perf import write_json

METHODS = ("gan", "mgan", "wgan_gp", "unrolled_gan")
DATASETS = ("ring8_mgan", "grid25")


def default_spec(method: str, dataset: str, steps: int | None = None):
    """Seed 0 of the default profile's trial for method × dataset (optionally with another step count)."""
    from bench.suites import build_plan, eval_schedule, load_suite

    spec = build_plan(load_suite("mode_collapse"), "default", methods=method, datasets=dataset, seeds=1).trials[0]
    if steps is not None:
        prof = load_suite("mode_collapse").profiles["default"]
        spec = spec.model_copy(update={"steps": steps,
                                       "eval_steps": eval_schedule(steps, prof.n_evals, prof.eval_every)})
    return spec


def _cum(stats: dict, func: str, file_part: str) -> float:
    """Cumulative time of the outermost calls of `func` in files matching `file_part` (recursion counted once:
    pstats' cumtime already excludes recursive re-entries)."""
    return sum(v[3] for k, v in stats.items() if k[2] == func and file_part in k[0])


def profile_one(spec, log=print) -> dict:
    import cProfile
    import pstats
    import time

    from bench.trial import run_trial

    # warm-up: imports (the method's module, POT, scikit-learn) and first-call caches, paid once per Ray worker
    warm = spec.model_copy(update={"steps": 20, "eval_steps": [10, 20]})
    run_trial(warm, threads=1)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    out = run_trial(spec, threads=1)
    prof.disable()
    wall = time.perf_counter() - t0
    if out.status != "completed":
        raise RuntimeError(f"{spec.method} on {spec.dataset}: {out.status}: {out.trial['error']}")
    st = pstats.Stats(prof).stats
    total = _cum(st, "run_trial", "bench/trial.py")
    train = _cum(st, "train_step", "methods/")
    # unrolled_gan and friends call their parent's train_step: count the outermost only
    train = min(train, total)
    parts = {"training (train_step)": train,
             "  of which optimiser.step": _cum(st, "step", "torch/optim/"),
             "  of which backward": _cum(st, "backward", "torch/_tensor.py"),
             "  of which .item() (own time)": sum(v[2] for k, v in st.items() if "method 'item'" in k[2]),
             "data (data.batch)": _cum(st, "batch", "bench/data/"),
             "evaluation (_eval_into)": _cum(st, "_eval_into", "bench/trial.py"),
             "  of which metrics": _cum(st, "__call__", "bench/metrics/__init__.py")}
    parts["harness (rest of run_trial)"] = total - parts["training (train_step)"] - parts["data (data.batch)"] \
        - parts["evaluation (_eval_into)"]
    log(f"  {spec.method} on {spec.dataset}: {spec.steps} steps, evals at {spec.eval_steps}; "
        f"{total:.2f} s profiled ({wall:.2f} s wall)")
    for name, t in parts.items():
        log(f"    {name:<30} {t:8.3f} s  {100 * t / total:6.2f} %")
    return {"method": spec.method, "dataset": spec.dataset, "steps": spec.steps, "profiled_s": total,
            "parts_s": parts, "shares_pct": {k: 100 * v / total for k, v in parts.items()}}


def measure(methods=METHODS, datasets=DATASETS, steps: int | None = None, log=print) -> dict:
    from bench.provenance import machine

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        mach = machine()
        log(f"machine: {mach['cpu']}; cpu_count {mach['cpu_count']}; torch threads 1")
        log("(d) where a default-profile trial's time goes (cProfile of run_trial, seed 0)")
        rows = [profile_one(default_spec(m, d, steps), log) for d in datasets for m in methods]
    finally:
        torch.set_num_threads(threads)
    return {"rows": rows, "machine": mach}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.perf.where_time_goes", description=__doc__.splitlines()[0])
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--steps", type=int, help="override the profile's steps (evaluations rescheduled)")
    p.add_argument("--json", help="write the results as JSON to this path")
    args = p.parse_args(argv)
    write_json(args.json, measure(args.methods.split(","), args.datasets.split(","), args.steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
