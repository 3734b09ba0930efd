"""Image training-step time of every trainable method on 28×28, 1 channel (MNIST's shape), relative to `gan`.

Each method is built with its default params (the shared DCGAN image networks, methods/conv_nets.py) and a
real batch of 64 and 64 fakes per step (MGAN: 64 / K per generator, so every method makes 64 fakes; PCM-GAN
draws ceil(64 / K) per Gaussian). The images are uniform noise in [−1, 1] under the honest name
"perf_noise_28px": a step's cost does not depend on the pixels. Single-threaded; one warm-up of every
method, then REPS rounds in which every method runs STEPS steps, the order rotating per round (interleaved,
so a busy neighbour slows every method alike); the median ms/step over rounds and its ratio to gan's.
Measured, never asserted.

    python -m bench.perf.image_step [--steps 3] [--reps 3] [--methods gan,mgan] [--json PATH]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from bench.perf import write_json

SHAPE, N_CLASSES, BATCH = (1, 28, 28), 10, 64


def build(name: str):
    from bench.data.base import DataSpec
    from bench.registry import METHODS

    cls = METHODS.get(name)
    spec = DataSpec(name="perf_noise_28px", kind="image", shape=SHAPE, n_classes=N_CLASSES,
                    source="bench.perf.image_step: uniform noise")
    fakes = BATCH // cls.Params().n_generators if name == "mgan" else BATCH
    torch.manual_seed(0)
    return cls(spec, cls.Params(batch_size=BATCH, fake_batch_size=fakes), "cpu")


def measure(methods: list[str] | None = None, steps: int = 3, reps: int = 3, log=print) -> dict:
    from bench.registry import METHODS

    torch.set_num_threads(1)
    names = methods or [n for n in METHODS.names() if METHODS.get(n).trainable]
    if "gan" not in names:
        names = ["gan", *names]
    built = {n: build(n) for n in names}
    g = torch.Generator().manual_seed(0)

    def batch(m):
        return (torch.rand(m.batch_size, *SHAPE, generator=g) * 2 - 1,
                torch.randint(0, N_CLASSES, (m.batch_size,), generator=g))

    for n, m in built.items():  # warm-up: allocator, first-call paths, Adam state
        m.train_step(*batch(m))
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(reps):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            m = built[n]
            data = [batch(m) for _ in range(steps)]
            t0 = time.perf_counter()
            for x, y in data:
                m.train_step(x, y)
            times[n].append((time.perf_counter() - t0) / steps * 1e3)
        log(f"round {r + 1}/{reps} done")
    ms = {n: statistics.median(t) for n, t in times.items()}
    rows = [{"method": n, "ms_per_step": ms[n], "vs_gan": ms[n] / ms["gan"], "n_params": built[n].n_params(),
             "fakes_per_step": _fakes(built[n])} for n in names]
    return {"shape": list(SHAPE), "batch": BATCH, "steps": steps, "reps": reps, "threads": 1,
            "torch": torch.__version__, "rows": rows}


def _fakes(m) -> int:
    p = m.params
    if m.name == "mgan":
        return p.n_generators * p.fake_batch_size
    if m.name == "pcmgan":
        return m.K * -(-p.fake_batch_size // m.K)
    return p.fake_batch_size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--methods", default="", help="comma-separated (default: every trainable method)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    res = measure([m for m in a.methods.split(",") if m] or None, a.steps, a.reps)
    print(f"{'method':<18}{'ms/step':>10}{'× gan':>8}{'params':>12}{'fakes':>7}")
    for r in sorted(res["rows"], key=lambda r: r["vs_gan"]):
        print(f"{r['method']:<18}{r['ms_per_step']:>10.1f}{r['vs_gan']:>8.2f}{r['n_params']:>12,}{r['fakes_per_step']:>7}")
    write_json(a.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
