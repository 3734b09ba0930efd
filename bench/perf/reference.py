"""This machine's speed on a fixed reference: the bare 2-D GAN training loop, in ms per step.

The reference is `methods.gan.GAN` with its default params (MGAN App. C.1 Table 3: G 256→128→128→2, D 2→128→1,
512 real + 128 fake points, Adam) on ring8_mgan's fresh draws, one thread, seed 0: the step every default trial
is built from. After WARMUP steps, blocks of BLOCK steps are timed until `budget_s` is spent (at least
MIN_BLOCKS); the median block gives ms/step, by the wall clock and by the process's CPU time (a loaded machine
shows wall > CPU). `bench run` measures it once per invocation on the driver (≈ 1–2 s) and records it in
run.json as `reference_speed` (also per invocation), so a run's wall time can be read against the speed of the
machine it ran on: a trial that takes twice as long where the reference is twice as slow is not a slower harness.

    python -m bench.perf.reference [--budget 1.0] [--json PATH]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from bench.perf import write_json

NAME = "gan-2d-step"  # bump the name if the reference's work changes: values of different names don't compare
WARMUP = 20
BLOCK = 25
MIN_BLOCKS = 3


def measure(budget_s: float = 1.0) -> dict:
    """{'name', 'ms_per_step' (wall, median block), 'cpu_ms_per_step', 'steps', 'seconds', 'threads': 1}."""
    import torch

    from bench.data import build_dataset
    from methods.gan import GAN

    t_start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):  # the driver's own RNG streams are left as they were
            torch.manual_seed(0)
            data = build_dataset("ring8_mgan", 0, "cpu")
            gan = GAN(data.spec, GAN.Params(), "cpu")
            gen = torch.Generator().manual_seed(0)
            for _ in range(WARMUP):
                gan.train_step(*data.batch(gan.batch_size, gen))
            walls, cpus = [], []
            t0 = time.perf_counter()
            while len(walls) < MIN_BLOCKS or time.perf_counter() - t0 < budget_s:
                w0, c0 = time.perf_counter(), time.process_time()
                for _ in range(BLOCK):
                    gan.train_step(*data.batch(gan.batch_size, gen))
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
    finally:
        torch.set_num_threads(threads)
    return {"name": NAME, "ms_per_step": 1e3 * statistics.median(walls) / BLOCK,
            "cpu_ms_per_step": 1e3 * statistics.median(cpus) / BLOCK, "steps": WARMUP + BLOCK * len(walls),
            "seconds": time.perf_counter() - t_start, "threads": 1,
            "what": "bare gan train_step (MGAN Table 3 nets, 512 real + 128 fake) on ring8_mgan, 1 thread, "
                    "median of 25-step blocks"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.perf.reference", description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=1.0, help="seconds of timed blocks (default 1)")
    p.add_argument("--json", help="write the result as JSON to this path")
    args = p.parse_args(argv)
    res = measure(args.budget)
    print(f"reference speed ({res['name']}): {res['ms_per_step']:.3f} ms/step wall, {res['cpu_ms_per_step']:.3f} "
          f"ms/step CPU ({res['steps']} steps, {res['seconds']:.1f} s)")
    write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
