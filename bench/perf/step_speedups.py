"""(e) Candidate speed-ups of the training step, each as a ratio to the current code in ONE interleaved run.

For each method (default: gan, mgan) on ring8_mgan (fresh draws every step, so the sampler counts), the bare
training loop (seed, build data and method, `data.batch` + `train_step` STEPS times; construction not timed)
runs under each variant, in rotating order, ROUNDS times after a warm-up of each:
- `current`: the code as it is; `current again`: the same, an A/A control (this machine's noise floor);
- `legacy sampler`: `GaussianMixture.sample` as it was (per-call Cholesky, per-sample (n, 2, 2) einsum);
  its ratio to `current` is what the isotropic μ + σ ε sampler gained;
- `adam foreach` / `adam fused`: every optimiser rebuilt with `foreach=True` / `fused=True` (same param groups,
  fresh state, before the first step: equivalent to constructing them so);
- `torch.compile`: G's and D's modules wrapped in `torch.compile` (inductor), compile time included, since a
  default trial pays it once in 3,000 steps; its steady-state ms/step is reported apart.
Wall and process CPU time are both recorded; medians over rounds; ratio = variant / current (< 1 is faster).
Single-threaded (as a trial runs with 1 CPU).

Measured (2026-12-01, 2 cores under a load of ~15-20: CPU-time ratios, 400 steps × 5 rounds; A/A shows the noise):
    variant / current      gan (3.70 ms/step)   mgan (16.8 ms/step)
    legacy sampler         1.202                0.965      kept: μ + σ ε, bit-identical draws and values
    adam foreach           1.010                0.979      no gain
    adam fused             0.801                0.909      pays, but changes every result at float rounding
                                                           (3.7e-9 after one step): not adopted here
    current again (A/A)    0.903                1.011
    torch.compile (3,000 steps, gan, compile included): 1.756 — does not pay for a default trial.
A `.item()` on a CPU scalar costs ~0.2 µs (three per step: < 0.05 % of a step); it is a device sync only on GPU.

    python -m bench.perf.step_speedups [--methods gan,mgan] [--steps 500] [--rounds 5] [--compile]
                                       [--variants current,adam fused,...] [--json PATH]
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time

import numpy as np
import torch

from bench.perf import write_json

DATASET = "ring8_mgan"


def legacy_sample(self, n, generator, *, components=None):
    """`GaussianMixture.sample` before the isotropic fast path (commit 058af40), for the comparison."""
    if components is None:
        w = torch.as_tensor(self.weights, dtype=torch.float64)
        components = torch.multinomial(w, n, replacement=True, generator=generator)
    eps = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
    mu = torch.as_tensor(self.means)[components]
    L = torch.as_tensor(self.chol)[components]  # (n, d, d)
    x = mu + torch.einsum("nij,nj->ni", L, eps)
    return x.float(), components.long()


def _rebuild_optimizers(method, **flags) -> None:
    for name, opt in list(method.optimizers.items()):
        groups = [{k: v for k, v in g.items() if k not in ("foreach", "fused")} for g in opt.param_groups]
        method.optimizers[name] = type(opt)(groups, **flags)


@contextlib.contextmanager
def variant(name: str, method):
    """Apply variant `name` to a freshly built method for the duration of the timed loop."""
    from bench.data.base import GaussianMixture

    if name == "legacy sampler":
        orig = GaussianMixture.sample
        GaussianMixture.sample = legacy_sample
        try:
            yield
        finally:
            GaussianMixture.sample = orig
    else:
        if name == "adam foreach":
            _rebuild_optimizers(method, foreach=True)
        elif name == "adam fused":
            _rebuild_optimizers(method, fused=True)
        elif name == "torch.compile":
            for attr in ("G", "D", "body", "generators"):
                mod = getattr(method, attr, None)
                if isinstance(mod, torch.nn.Module):
                    setattr(method, attr, torch.compile(mod))
        yield


def run_loop(method_name: str, steps: int, name: str, seed: int = 0) -> tuple[float, float, np.ndarray]:
    """(wall s, CPU s, final G samples) of STEPS training steps under variant `name`."""
    import random

    from bench.data import build_dataset
    from bench.registry import METHODS
    from bench.suites import resolve_method_params

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    data = build_dataset(DATASET, seed, "cpu")
    cls = METHODS.get(method_name)
    m = cls(data.spec, cls.Params(**resolve_method_params(method_name, where="step_speedups")), "cpu")
    gen = torch.Generator().manual_seed(seed)
    with variant(name, m):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            x, y = data.batch(m.batch_size, gen)
            m.train_step(x, y)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    torch.manual_seed(1234)
    return wall, cpu, m.sample(256).detach().double().numpy()


VARIANTS = ("current", "legacy sampler", "adam foreach", "adam fused", "current again")


def measure(methods=("gan", "mgan"), steps: int = 500, rounds: int = 5, with_compile: bool = False,
            variants: tuple[str, ...] = VARIANTS, log=print) -> dict:
    from bench.provenance import machine

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    names = tuple(variants) + (("torch.compile",) if with_compile else ())
    if names[0] != "current":
        raise ValueError("the first variant is the baseline: 'current'")
    out = {"steps": steps, "rounds": rounds, "dataset": DATASET, "machine": machine(), "methods": {}}
    try:
        log(f"(e) step speed-ups on {DATASET}: {steps} steps per run, {rounds} rounds in rotating order after a "
            "warm-up; ratio = variant / current (median of each; < 1 is faster)")
        for method in methods:
            for name in names:  # warm-up: imports, allocator, first-call paths
                run_loop(method, min(50, steps), name)
            wall = {n: [] for n in names}
            cpu = {n: [] for n in names}
            same = {}
            for r in range(rounds):
                order = names[r % len(names):] + names[:r % len(names)]
                pts = {}
                for name in order:
                    w, c, pts[name] = run_loop(method, steps, name)
                    wall[name].append(w)
                    cpu[name].append(c)
                same = {n: bool(np.allclose(pts[n], pts["current"], rtol=1e-4, atol=1e-5)) for n in names}
            med_w = {n: statistics.median(v) for n, v in wall.items()}
            med_c = {n: statistics.median(v) for n, v in cpu.items()}
            rows = {n: {"wall_s": wall[n], "cpu_s": cpu[n], "ms_per_step_wall": 1e3 * med_w[n] / steps,
                        "ms_per_step_cpu": 1e3 * med_c[n] / steps, "ratio_wall": med_w[n] / med_w["current"],
                        "ratio_cpu": med_c[n] / med_c["current"], "same_result_as_current": same[n]}
                    for n in names}
            out["methods"][method] = rows
            log(f"  {method}: current {rows['current']['ms_per_step_cpu']:.3f} ms/step CPU "
                f"({rows['current']['ms_per_step_wall']:.3f} wall)")
            for n in names[1:]:
                r = rows[n]
                log(f"    {n:<15} ratio CPU {r['ratio_cpu']:.3f}  wall {r['ratio_wall']:.3f}  "
                    f"({r['ms_per_step_cpu']:.3f} ms/step CPU; same samples as current: {r['same_result_as_current']})")
    finally:
        torch.set_num_threads(threads)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.perf.step_speedups", description=__doc__.splitlines()[0])
    p.add_argument("--methods", default="gan,mgan")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--compile", action="store_true", help="also torch.compile (slow: compile time included)")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, 'current' first")
    p.add_argument("--json", help="write the results as JSON to this path")
    args = p.parse_args(argv)
    write_json(args.json, measure(args.methods.split(","), args.steps, args.rounds, args.compile,
                                  tuple(args.variants.split(","))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
