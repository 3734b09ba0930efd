"""(f) What each method's default-profile trial costs, in CPU seconds, for sizing the default profile.

For each method × dataset of the default profile (seed 0, its resolved params), single-threaded: the training
step's CPU time (process time, median of blocks of BLOCK steps after WARMUP steps, so a busy machine disturbs
it less than the wall clock) and one intermediate and one final evaluation with the suite's metrics (the final
one adds the σ sweep). The projected trial is steps × step + (n_evals − 1) × intermediate + final; the
projected sweep on C cores is the sum over trials / C (Ray keeps every core busy; per-trial start-up aside).

    python -m bench.perf.method_costs [--methods a,b] [--datasets x,y] [--steps-per-block 20] [--json PATH]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from bench.perf import write_json

WARMUP = 5
BLOCKS = 3


def cost_one(spec, block: int) -> dict:
    import random

    import numpy as np

    from bench.data import build_dataset
    from bench.metrics import get_metric
    from bench.registry import METHODS
    from bench.trial import evaluate

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    data = build_dataset(spec.dataset, 0, "cpu")
    cls = METHODS.get(spec.method)
    m = cls(data.spec, cls.Params(**spec.params), "cpu")
    metrics = [get_metric(n) for n in spec.metrics]
    metrics = [x for x in metrics if not x.not_applicable(data.spec, m)]
    gen = torch.Generator().manual_seed(0)
    step_ms = 0.0
    if cls.trainable:
        for _ in range(WARMUP):
            m.train_step(*data.batch(m.batch_size, gen))
        blocks = []
        for _ in range(BLOCKS):
            c0 = time.process_time()
            for _ in range(block):
                m.train_step(*data.batch(m.batch_size, gen))
            blocks.append(time.process_time() - c0)
        step_ms = 1e3 * statistics.median(blocks) / block
    evaluate(m, data.spec, metrics, 1, final=True)  # warm-up: first-call caches and imports
    c0 = time.process_time()
    evaluate(m, data.spec, metrics, 2, final=False)
    mid_s = time.process_time() - c0
    c0 = time.process_time()
    evaluate(m, data.spec, metrics, 3, final=True)
    final_s = time.process_time() - c0
    n_evals = len(spec.eval_steps)
    trial_s = spec.steps * step_ms / 1e3 + (n_evals - 1) * mid_s + final_s
    return {"method": spec.method, "dataset": spec.dataset, "steps": spec.steps, "n_evals": n_evals,
            "step_ms_cpu": step_ms, "eval_mid_s_cpu": mid_s, "eval_final_s_cpu": final_s,
            "trial_s_cpu": trial_s}


def measure(methods=None, datasets=None, block: int = 20, log=print) -> dict:
    from bench.suites import build_plan, load_suite

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    plan = build_plan(load_suite("mode_collapse"), "default", methods=methods, datasets=datasets, seeds=1)
    rows = []
    try:
        log(f"(f) default-profile trial costs (CPU s, 1 thread): {len(plan.trials)} method × dataset")
        for spec in plan.trials:
            r = cost_one(spec, block)
            rows.append(r)
            log(f"  {r['method']:<17} {r['dataset']:<16} step {r['step_ms_cpu']:7.2f} ms  "
                f"eval {r['eval_mid_s_cpu']:5.2f}"
                f" / final {r['eval_final_s_cpu']:5.2f} s  trial ≈ {r['trial_s_cpu']:7.1f} s")
    finally:
        torch.set_num_threads(threads)
    return {"rows": rows, "block": block}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.perf.method_costs", description=__doc__.splitlines()[0])
    p.add_argument("--methods")
    p.add_argument("--datasets")
    p.add_argument("--steps-per-block", type=int, default=20)
    p.add_argument("--json", help="write the results as JSON to this path")
    args = p.parse_args(argv)
    write_json(args.json, measure(args.methods, args.datasets, args.steps_per_block))
    return 0


if __name__ == "__main__":
    sys.exit(main())
