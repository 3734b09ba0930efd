"""(f) Several seeds as one vectorised model (bench/vectorised.py) vs separate trials: seed-steps per core-second.

For each method (default gan, mgan) on ring8_mgan at its default params, and each S (default 3 and 8), S seeds
are built exactly as run_trial builds them (`seed_everything`, `build_trial`), then trained STEPS steps:
- `separate`: seed after seed, `data.batch` + `method.train_step` (the training loop of S separate trials);
- `vectorised`: the method's `stack` over the same S seeds, each step every seed's `data.batch` + `stack.step`.
Construction is not timed (both pay it once per trial); evaluation is not timed (both run the same per-seed
evaluation code). Single-threaded (1 torch thread, as a trial runs with 1 CPU). Process CPU time is the
core-seconds (the steadier number on a shared machine); wall time is recorded too. One warm-up of each, then
ROUNDS rounds, each running both variants in alternating order (interleaved, so a busy neighbour slows both
alike); ratio = separate CPU s / vectorised CPU s per round (= vectorised seed-steps per core-second over
separate's), median over rounds. The 1-minute load average before and after is reported. Goal (issue 16): ≥ 1.4.
Measured, never asserted. Also per method: its step's per-op overhead (the step on 1-2-unit networks) and the
ratio expected from removing it for S-1 of S seeds (`ceiling`).

Measured (2026-12-02, 2 AMD EPYC cores shared with other work, load average 4.8-8; three full runs of the
defaults, 100 steps x 5 rounds; median CPU ratio of each run):
    gan  S=3: 1.40, 1.48, 1.47      gan  S=8: 1.43, 1.47, 1.31   (rounds range 1.13-1.96: the load)
    mgan S=3: 1.07, 1.05, 1.04      mgan S=8: 1.14, 1.08, 1.11
gan reaches the goal (1.4) at S=3 and about at S=8 (S=8's activations, 8·512·128 floats = 2 MB per layer, leave
the 1 MB L2). mgan cannot: its step (14.4 ms) is 2.2 ms per-op overhead and 12 ms per-element work that every
seed pays whether stacked or not (2·1024·256 latent normals per step, the K generators' input layers on
K·128 fakes, Adam on K·256·128 input weights), so removing the overhead gives at most ~1.12 (S=3) / ~1.16 (S=8).

    python -m bench.perf.vectorised_seeds [--methods gan,mgan] [--seeds 3,8] [--steps 100] [--rounds 5] [--json PATH]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

from bench.perf import write_json

DATASET = "ring8_mgan"
GOAL = 1.4


def build_seeds(method: str, n_seeds: int):
    """[(data, method, batch generator)] and the seeds' RngStreams, built as run_trial builds each seed."""
    from bench.suites import TrialSpec, resolve_method_params
    from bench.trial import build_trial, seed_everything
    from methods.stacked import RngStream

    params = resolve_method_params(method, where="vectorised_seeds")
    seeds, streams = [], []
    for s in range(n_seeds):
        spec = TrialSpec(suite="perf", profile="perf", method=method, dataset=DATASET, seed=s, steps=1,
                         eval_steps=[1], params=params, metrics=[])
        seed_everything(s)
        data, _, m, _ = build_trial(spec, {}, "cpu")
        seeds.append((data, m, torch.Generator().manual_seed(s)))
        streams.append(RngStream.capture())
    return seeds, streams


def run(variant: str, method: str, n_seeds: int, steps: int) -> tuple[float, float]:
    """(CPU s, wall s) of `steps` training steps of n_seeds seeds under `variant`."""
    seeds, streams = build_seeds(method, n_seeds)
    if variant == "separate":
        t0, c0 = time.perf_counter(), time.process_time()
        for data, m, gen in seeds:
            for _ in range(steps):
                x, y = data.batch(m.batch_size, gen)
                m.train_step(x, y)
    else:
        stack = type(seeds[0][1]).stack([m for _, m, _ in seeds], streams)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            batches = [data.batch(m.batch_size, gen) for data, m, gen in seeds]
            stack.step(torch.stack([b[0] for b in batches]), torch.stack([b[1] for b in batches]))
    return time.process_time() - c0, time.perf_counter() - t0


TINY = {"batch_size": 2, "fake_batch_size": 1, "z_dim": 2, "g_hidden": (2, 2), "d_hidden": (2,)}


def ceiling(method: str, seed_counts, steps: int) -> dict:
    """What vectorising can remove: a step's per-op cost (the same step on 1-2-unit networks and batches, `TINY`:
    dispatch, autograd and optimiser bookkeeping) is paid once for S seeds, its per-element work (draws, matmuls,
    Adam on every weight) S times. Expected ratio from that alone: full / (full − overhead·(1 − 1/S)) (the
    stacked path's fused Adam can add a little; S-times-larger tensors falling out of cache take some away)."""
    from bench.data import build_dataset
    from bench.registry import METHODS
    from bench.suites import resolve_method_params

    data, gen = build_dataset(DATASET, 0, "cpu"), torch.Generator().manual_seed(0)
    cls = METHODS.get(method)
    ms = {}
    for label, extra in (("full", {}), ("overhead", TINY)):
        m = cls(data.spec, cls.Params(**resolve_method_params(method, extra, where="vectorised_seeds")), "cpu")
        for _ in range(5):
            m.train_step(*data.batch(m.batch_size, gen))
        c0 = time.process_time()
        for _ in range(steps):
            m.train_step(*data.batch(m.batch_size, gen))
        ms[label] = 1e3 * (time.process_time() - c0) / steps
    return {"ms_per_step": ms["full"], "overhead_ms_per_step": ms["overhead"],
            "expected": {n: ms["full"] / (ms["full"] - ms["overhead"] * (1 - 1 / n)) for n in seed_counts}}


def measure(methods=("gan", "mgan"), seed_counts=(3, 8), steps: int = 100, rounds: int = 5, log=print) -> dict:
    from bench.provenance import machine

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = {"dataset": DATASET, "steps": steps, "rounds": rounds, "machine": machine(),
           "load_before": os.getloadavg(), "results": {}}
    log(f"(f) vectorised seeds on {DATASET}: {steps} steps, {rounds} interleaved rounds, 1 torch thread; "
        f"load average {out['load_before'][0]:.2f} on {os.cpu_count()} cores")
    try:
        for method in methods:
            c = out.setdefault("ceiling", {})[method] = ceiling(method, seed_counts, steps)
            log(f"  {method}: {c['ms_per_step']:.2f} ms/step, of which per-op overhead {c['overhead_ms_per_step']:.2f} "
                f"(the step on 1-2-unit networks): expected ratio from removing it " + ", ".join(
                    f"S={n} {b:.2f}" for n, b in c["expected"].items()))
            for n in seed_counts:
                for v in ("separate", "vectorised"):  # warm-up: imports, allocator, first-call paths
                    run(v, method, n, min(steps, 20))
                cpu = {"separate": [], "vectorised": []}
                wall = {"separate": [], "vectorised": []}
                for r in range(rounds):
                    order = ("separate", "vectorised") if r % 2 == 0 else ("vectorised", "separate")
                    for v in order:
                        c, w = run(v, method, n, steps)
                        cpu[v].append(c)
                        wall[v].append(w)
                ratios = [s / v for s, v in zip(cpu["separate"], cpu["vectorised"])]
                wall_ratios = [s / v for s, v in zip(wall["separate"], wall["vectorised"])]
                res = {"cpu_s": cpu, "wall_s": wall, "ratios_cpu": ratios, "ratio_cpu": statistics.median(ratios),
                       "ratio_wall": statistics.median(wall_ratios),
                       "seed_steps_per_core_s": {v: n * steps / statistics.median(c) for v, c in cpu.items()}}
                out["results"][f"{method} S={n}"] = res
                log(f"  {method} S={n}: separate {res['seed_steps_per_core_s']['separate']:.0f}, vectorised "
                    f"{res['seed_steps_per_core_s']['vectorised']:.0f} seed-steps per core-second; ratio "
                    f"{res['ratio_cpu']:.2f} (CPU, rounds {', '.join(f'{x:.2f}' for x in ratios)}), "
                    f"{res['ratio_wall']:.2f} (wall); goal ≥ {GOAL}")
    finally:
        torch.set_num_threads(threads)
    out["load_after"] = os.getloadavg()
    log(f"  load average after: {out['load_after'][0]:.2f}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.perf.vectorised_seeds", description=__doc__.splitlines()[0])
    p.add_argument("--methods", default="gan,mgan")
    p.add_argument("--seeds", default="3,8", help="comma-separated seed counts S")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", help="write the results as JSON to this path")
    args = p.parse_args(argv)
    write_json(args.json, measure(args.methods.split(","), tuple(int(s) for s in args.seeds.split(",")),
                                  args.steps, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
