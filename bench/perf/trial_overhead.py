"""(a) The harness's per-step overhead: `bench.trial.run_trial` vs a bare hand-written loop of the same GAN.

Both do the same work from the same seed: seed everything, build the dataset (ring8_mgan, or with --dataset an
image set such as mnist or digits: the same DCGAN networks as the image suites), construct `methods.gan.GAN`
with the same params, draw every batch from the data's `batch` with a `torch.Generator` seeded with the trial
seed, call `train_step` STEPS times, and sample what the harness keeps at its one (metric-free) evaluation: the
512 points (2-D) or the 64-image grid's PNG (images). The bare loop's final output is checked equal to the
trial's, so the two did identical work.
Single-threaded; one warm-up of each, then REPS rounds of trial, bare and bare again (an A/A control that
shows the machine's noise floor), in rotating order; medians and the ratio, of wall time and of the
process's CPU time (which other processes on a busy machine disturb less than the wall clock).

    python -m bench.perf.trial_overhead [--steps 2000] [--reps 5] [--dataset ring8_mgan] [--data-root DIR]
                                        [--profile] [--json PATH]
    python -m bench.perf.trial_overhead --dataset mnist --steps 200   # the DCGAN on 28×28 (real MNIST needed)
Goal (issue): trial / bare − 1 ≤ 3 %. On a busy machine the wall-clock ratio swings by several % either way;
--profile adds a cProfile breakdown of one run_trial: the share spent outside train_step, data.batch and
the evaluation is the harness's own cost, whatever the neighbours do (cProfile inflates it, if anything).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bench.perf import write_json

GOAL_PCT = 3.0
DATASET, METHOD, SEED = "ring8_mgan", "gan", 0
# Images: DCGAN's minibatch and latent (Radford et al. 2016 §4: 64, z 100), as the images suite's default profile
IMAGE_PARAMS = {"z_dim": 100, "batch_size": 64, "fake_batch_size": 64}
DATA_ROOT: str | None = None  # --data-root


def make_spec(steps: int, dataset: str = DATASET):
    from bench.data import get_spec
    from bench.suites import TrialSpec, resolve_method_params

    image = get_spec(dataset).kind == "image"
    params = resolve_method_params(METHOD, *([IMAGE_PARAMS] if image else []), where="bench.perf.trial_overhead")
    return TrialSpec(suite="perf", profile="perf", method=METHOD, dataset=dataset, seed=SEED, steps=steps,
                     eval_steps=[steps], params=params, metrics=[])


def run_harness(spec) -> tuple[float, float, object]:
    from bench.trial import run_trial

    t0, c0 = time.perf_counter(), time.process_time()
    out = run_trial(spec, threads=1, data_root=DATA_ROOT)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if out.status != "completed":
        raise RuntimeError(f"trial {out.status}: {out.trial['error']}")
    if out.images:  # image data: the final 64-image grid (PNG bytes)
        return wall, cpu, next(r["png"] for r in out.images if r["kind"] == "generated")
    return wall, cpu, np.array([[r["x"], r["y"]] for r in out.samples])


def run_bare(spec) -> tuple[float, float, object]:
    """The same trial without the harness: no hparams, no divergence checks, no eval bookkeeping."""
    import random

    from bench.data import build_dataset
    from bench.trial import N_SAMPLES_KEPT, eval_seed, grid_rows
    from methods.gan import GAN

    t0, c0 = time.perf_counter(), time.process_time()
    random.seed(spec.seed)
    np.random.seed(spec.seed)
    torch.manual_seed(spec.seed)
    data = build_dataset(spec.dataset, spec.seed, "cpu", data_root=DATA_ROOT)
    gan = GAN(data.spec, GAN.Params(**spec.params), "cpu")
    gen = torch.Generator().manual_seed(spec.seed)
    for _ in range(spec.steps):
        x, y = data.batch(gan.batch_size, gen)
        gan.train_step(x, y)
    seed = eval_seed(spec.trial_id, spec.steps)
    if data.spec.kind == "image":  # the grid the harness stores (its own forked RNG, seed + 1)
        rows = grid_rows(spec, spec.trial_id, spec.steps, gan, data, seed + 1, real=True)
        return time.perf_counter() - t0, time.process_time() - c0, rows[0]["png"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.no_grad():
            pts = gan.sample(N_SAMPLES_KEPT).to(torch.float64).numpy()
    return time.perf_counter() - t0, time.process_time() - c0, pts


def measure(steps: int = 2000, reps: int = 5, warmup_steps: int = 200, log=print, dataset: str = DATASET) -> dict:
    from bench.provenance import machine

    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        mach = machine()
        log(f"machine: {mach['cpu']}; cpu_count {mach['cpu_count']}; torch threads {torch.get_num_threads()} "
            f"(torch {mach['torch']})")
        log(f"(a) run_trial vs bare loop: {METHOD} on {dataset}, {steps} steps, final eval with no metrics, "
            f"1 warm-up + {reps} rounds of (trial, bare, bare again) in rotating order")
        warm = make_spec(warmup_steps, dataset)
        run_harness(warm)
        run_bare(warm)
        spec = make_spec(steps, dataset)
        runs = {"trial": run_harness, "bare": run_bare, "bare again": run_bare}
        wall = {k: [] for k in runs}
        cpu = {k: [] for k in runs}
        same = True
        for i in range(reps):
            # rotate the order, so drift (thermal, neighbours) favours none; "bare again" is an A/A control:
            # its ratio to "bare" is the noise floor of this machine right now
            names = list(runs)[i % 3:] + list(runs)[:i % 3]
            pts = {}
            for name in names:
                w, c, pts[name] = runs[name](spec)
                wall[name].append(w)
                cpu[name].append(c)
            same &= bool(_equal(pts["trial"], pts["bare"]) and _equal(pts["bare"], pts["bare again"]))
            log(f"  rep {i + 1}: trial {wall['trial'][-1]:.3f} s   bare {wall['bare'][-1]:.3f} s   "
                f"bare again {wall['bare again'][-1]:.3f} s   trial/bare {wall['trial'][-1] / wall['bare'][-1]:.4f}   "
                f"A/A {wall['bare again'][-1] / wall['bare'][-1]:.4f}")
        med = {k: statistics.median(v) for k, v in wall.items()}
        cmed = {k: statistics.median(v) for k, v in cpu.items()}
        t_med, b_med = med["trial"], med["bare"]
        pair_pct = statistics.median(100 * (t / b - 1) for t, b in zip(wall["trial"], wall["bare"]))
        overhead_pct = 100 * (t_med / b_med - 1)
        cpu_pct = 100 * (cmed["trial"] / cmed["bare"] - 1)
        aa_pct = 100 * (med["bare again"] / b_med - 1)
        aa_pairs = [100 * (a / b - 1) for a, b in zip(wall["bare again"], wall["bare"])]
        res = {"dataset": dataset, "steps": steps, "reps": reps, "trial_s": wall["trial"], "bare_s": wall["bare"],
               "bare_again_s": wall["bare again"], "trial_median_s": t_med, "bare_median_s": b_med,
               "overhead_pct": overhead_pct, "overhead_pct_pairwise_median": pair_pct,
               "overhead_ms_per_step": 1e3 * (t_med - b_med) / steps, "bare_ms_per_step": 1e3 * b_med / steps,
               "trial_cpu_s": cpu["trial"], "bare_cpu_s": cpu["bare"], "overhead_pct_cpu": cpu_pct,
               "aa_noise_pct": aa_pct, "aa_pairs_pct": aa_pairs,
               "identical_final_samples": same, "goal_pct": GOAL_PCT, "meets_goal": overhead_pct <= GOAL_PCT,
               "machine": mach}
        log(f"  median: trial {t_med:.3f} s, bare {b_med:.3f} s ({res['bare_ms_per_step']:.3f} ms/step); "
            f"overhead {overhead_pct:+.2f} % (median of pairwise ratios {pair_pct:+.2f} %), "
            f"{res['overhead_ms_per_step']:+.4f} ms/step; goal ≤ {GOAL_PCT:g} %: "
            f"{'met' if res['meets_goal'] else 'NOT met'}")
        log(f"  CPU time: overhead {cpu_pct:+.2f} % (medians {cmed['trial']:.3f} s vs {cmed['bare']:.3f} s)")
        log(f"  noise floor (A/A, bare again vs bare): {aa_pct:+.2f} % on the medians; pairs from "
            f"{min(aa_pairs):+.1f} % to {max(aa_pairs):+.1f} %")
        log(f"  same final samples from all runs (identical training): {same}")
        return res
    finally:
        torch.set_num_threads(threads_before)


def _equal(a, b) -> bool:
    return a == b if isinstance(a, bytes) else bool(np.array_equal(a, b))


def profile_trial(steps: int = 2000, log=print, dataset: str = DATASET) -> dict:
    """cProfile one run_trial: time in train_step, in data.batch, in evaluation, and the harness's own rest."""
    import cProfile
    import pstats

    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        spec = make_spec(steps, dataset)
        run_harness(make_spec(min(50, steps), dataset))
        prof = cProfile.Profile()
        prof.enable()
        run_harness(spec)
        prof.disable()
    finally:
        torch.set_num_threads(threads_before)
    stats = pstats.Stats(prof).stats  # {(file, line, func): (cc, nc, tottime, cumtime, callers)}

    def cum(func: str, file_part: str) -> float:
        return sum(v[3] for k, v in stats.items() if k[2] == func and file_part in k[0])

    total = cum("run_trial", "bench/trial.py")
    parts = {"train_step": cum("train_step", "methods/gan.py"), "data.batch": cum("batch", "bench/data/base.py"),
             "evaluation": cum("_eval_into", "bench/trial.py")}
    parts["harness (rest of run_trial)"] = total - sum(parts.values())
    own = sorted(((v[2], f"{Path(k[0]).name}:{k[1]}({k[2]})") for k, v in stats.items()
                  if "bench/" in k[0] and "bench/perf" not in k[0] and "bench/data" not in k[0]), reverse=True)[:5]
    log(f"  cProfile of one run_trial ({steps} steps): {total:.3f} s")
    for name, t in parts.items():
        log(f"    {name:<28} {t:8.4f} s  {100 * t / total:6.2f} %")
    log("    harness functions (bench.*, data excluded) by own time: "
        + ", ".join(f"{n} {1e3 * t:.1f} ms" for t, n in own))
    share = 100 * parts["harness (rest of run_trial)"] / total
    return {"profiled_s": total, "parts_s": parts, "harness_share_pct": share,
            "bench_own_time_top": [{"function": n, "s": t} for t, n in own]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.perf.trial_overhead", description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--dataset", default=DATASET, help="ring8_mgan (default) or an image set: mnist, digits, …")
    p.add_argument("--data-root", help="image data root (default: $MODEBENCH_DATA or ~/.cache/modebench/data)")
    p.add_argument("--profile", action="store_true", help="also cProfile one run_trial: where its time goes")
    p.add_argument("--json", help="write the results as JSON to this path")
    args = p.parse_args(argv)
    global DATA_ROOT
    DATA_ROOT = args.data_root
    res = measure(args.steps, args.reps, warmup_steps=min(200, args.steps), dataset=args.dataset)
    if args.profile:
        res["profile"] = profile_trial(args.steps, dataset=args.dataset)
    write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
