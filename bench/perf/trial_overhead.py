"""(a) The harness's per-step overhead: `bench.trial.run_trial` vs a bare hand-written loop of the same GAN.

Both do the same work from the same seed: seed everything, build ring8_mgan, construct `methods.gan.GAN` with
the same params, draw every batch from `PointData.batch` with a `torch.Generator` seeded with the trial seed,
call `train_step` STEPS times, and sample the 512 points the harness keeps at its one (metric-free)
evaluation. The bare loop's final points are checked equal to the trial's, so the two did identical work.
Single-threaded; one warm-up of each, then the two alternate REPS times; medians and the ratio.

    python -m bench.perf.trial_overhead [--steps 2000] [--reps 5] [--json PATH]
Goal (issue): trial / bare − 1 ≤ 3 %.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

GOAL_PCT = 3.0
DATASET, METHOD, SEED = "ring8_mgan", "gan", 0


def make_spec(steps: int):
    from bench.suites import TrialSpec, resolve_method_params

    params = resolve_method_params(METHOD, where="bench.perf.trial_overhead")
    return TrialSpec(suite="perf", profile="perf", method=METHOD, dataset=DATASET, seed=SEED, steps=steps,
                     eval_steps=[steps], params=params, metrics=[])


def run_harness(spec) -> tuple[float, np.ndarray]:
    from bench.trial import run_trial

    t0 = time.perf_counter()
    out = run_trial(spec, threads=1)
    wall = time.perf_counter() - t0
    if out.status != "completed":
        raise RuntimeError(f"trial {out.status}: {out.trial['error']}")
    pts = np.array([[r["x"], r["y"]] for r in out.samples])
    return wall, pts


def run_bare(spec) -> tuple[float, np.ndarray]:
    """The same trial without the harness: no hparams, no divergence checks, no eval bookkeeping."""
    import random

    from bench.data import build_dataset
    from bench.trial import N_SAMPLES_KEPT, eval_seed
    from methods.gan import GAN

    t0 = time.perf_counter()
    random.seed(spec.seed)
    np.random.seed(spec.seed)
    torch.manual_seed(spec.seed)
    data = build_dataset(spec.dataset, spec.seed, "cpu")
    gan = GAN(data.spec, GAN.Params(**spec.params), "cpu")
    gen = torch.Generator().manual_seed(spec.seed)
    for _ in range(spec.steps):
        x, y = data.batch(gan.batch_size, gen)
        gan.train_step(x, y)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(eval_seed(spec.trial_id, spec.steps))
        with torch.no_grad():
            pts = gan.sample(N_SAMPLES_KEPT).to(torch.float64).numpy()
    return time.perf_counter() - t0, pts


def measure(steps: int = 2000, reps: int = 5, warmup_steps: int = 200, log=print) -> dict:
    from bench.provenance import machine

    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        mach = machine()
        log(f"machine: {mach['cpu']}; cpu_count {mach['cpu_count']}; torch threads {torch.get_num_threads()} "
            f"(torch {mach['torch']})")
        log(f"(a) run_trial vs bare loop: {METHOD} on {DATASET}, {steps} steps, final eval with no metrics, "
            f"1 warm-up + {reps} interleaved repetitions each")
        warm = make_spec(warmup_steps)
        run_harness(warm)
        run_bare(warm)
        spec = make_spec(steps)
        trial_s, bare_s, same = [], [], True
        for i in range(reps):
            # alternate which goes first, so drift (thermal, neighbours) does not favour one side
            order = (("trial", run_harness), ("bare", run_bare)) if i % 2 == 0 else \
                (("bare", run_bare), ("trial", run_harness))
            pts = {}
            for name, fn in order:
                wall, pts[name] = fn(spec)
                (trial_s if name == "trial" else bare_s).append(wall)
            same &= bool(np.array_equal(pts["trial"], pts["bare"]))
            log(f"  rep {i + 1}: trial {trial_s[-1]:.3f} s   bare {bare_s[-1]:.3f} s   "
                f"ratio {trial_s[-1] / bare_s[-1]:.4f}")
        t_med, b_med = statistics.median(trial_s), statistics.median(bare_s)
        pair_pct = statistics.median(100 * (t / b - 1) for t, b in zip(trial_s, bare_s))
        overhead_pct = 100 * (t_med / b_med - 1)
        res = {"steps": steps, "reps": reps, "trial_s": trial_s, "bare_s": bare_s, "trial_median_s": t_med,
               "bare_median_s": b_med, "overhead_pct": overhead_pct, "overhead_pct_pairwise_median": pair_pct,
               "overhead_ms_per_step": 1e3 * (t_med - b_med) / steps, "bare_ms_per_step": 1e3 * b_med / steps,
               "identical_final_samples": same, "goal_pct": GOAL_PCT, "meets_goal": overhead_pct <= GOAL_PCT,
               "machine": mach}
        log(f"  median: trial {t_med:.3f} s, bare {b_med:.3f} s ({res['bare_ms_per_step']:.3f} ms/step); "
            f"overhead {overhead_pct:+.2f} % (median of pairwise ratios {pair_pct:+.2f} %), "
            f"{res['overhead_ms_per_step']:+.4f} ms/step; goal ≤ {GOAL_PCT:g} %: "
            f"{'met' if res['meets_goal'] else 'NOT met'}")
        log(f"  same final samples from both (identical training): {same}")
        return res
    finally:
        torch.set_num_threads(threads_before)


def write_json(path: str | None, res: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(res, indent=2, sort_keys=True, default=str))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.perf.trial_overhead", description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--json", help="write the results as JSON to this path")
    args = p.parse_args(argv)
    write_json(args.json, measure(args.steps, args.reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
