"""What a profile's training costs in device-hours, from step times measured here, on this device.

Builds the profile's plan (`bench.suites.build_plan`, the same one `bench run` runs), and for every distinct
(method, dataset, params) of its trainable trials builds the method as the trial would, on the dataset's
DataSpec, and times STEPS training steps after one warm-up step, with batches of uniform noise of the dataset's
shape and random labels (a step's cost does not depend on the pixels; no dataset is read, so it runs where the
data is missing). Cost of a trial = its steps × the measured seconds per step; the table sums them per (method,
dataset) and in all, in device-hours with one trial per device at a time.

Not counted: evaluations (the Inception metrics need weights that may be missing here, and their cost depends on
the metric counts), data loading, checkpoints, and the packing of several trials on one GPU. On a CPU it runs
single-threaded, so the hours are CPU core-hours; on `--device cuda` they are GPU-hours measured on that GPU.
Timings, never test assertions.

    python -m bench.perf.plan_cost --suite stacked_mnist --profile paper [--device cuda] [--steps 3] [--json PATH]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

import torch

from bench.perf import write_json


def _key(t) -> tuple:
    return t.method, t.dataset, tuple(sorted((k, repr(v)) for k, v in t.params.items()))


def seconds_per_step(method: str, dataset: str, params: dict, device: str, steps: int) -> float:
    from bench.data import get_spec
    from bench.registry import METHODS

    spec = get_spec(dataset)
    cls = METHODS.get(method)
    torch.manual_seed(0)
    m = cls(spec, cls.Params(**params), device)
    g = torch.Generator(device="cpu").manual_seed(0)
    n_classes = max(int(spec.n_classes or 1), 1)

    def batch():
        x = torch.rand(m.batch_size, *spec.shape, generator=g) * 2 - 1
        y = torch.randint(0, n_classes, (m.batch_size,), generator=g)
        return x.to(device), y.to(device)

    m.train_step(*batch())  # warm-up: allocator, cuDNN's algorithm choice, Adam state
    data = [batch() for _ in range(steps)]
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for x, y in data:
        m.train_step(x, y)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps


def measure(suite: str, profile: str, device: str = "cpu", steps: int = 3, methods=None, datasets=None,
            log=print) -> dict:
    from bench.registry import METHODS
    from bench.suites import build_plan, load_suite

    if device == "cpu":
        torch.set_num_threads(1)
    plan = build_plan(load_suite(suite), profile, methods=methods, datasets=datasets)
    groups: dict[tuple, list] = defaultdict(list)
    for t in plan.trials:
        if METHODS.get(t.method).trainable and t.steps > 0:
            groups[_key(t)].append(t)
    per_pair: dict[tuple, dict] = defaultdict(lambda: {"trials": 0, "steps": 0, "hours": 0.0, "s_per_step": []})
    for i, (key, trials) in enumerate(sorted(groups.items(), key=lambda kv: kv[0][:2])):
        t0 = trials[0]
        sps = seconds_per_step(t0.method, t0.dataset, t0.params, device, steps)
        log(f"[{i + 1}/{len(groups)}] {t0.method} on {t0.dataset}"
            f"{' [' + t0.variant + ']' if t0.variant else ''}: {sps * 1e3:.1f} ms/step")
        row = per_pair[(t0.method, t0.dataset)]
        row["trials"] += len(trials)
        row["steps"] += sum(t.steps for t in trials)
        row["hours"] += sum(t.steps for t in trials) * sps / 3600
        row["s_per_step"].append(sps)
    rows = [{"method": m, "dataset": d, "trials": r["trials"], "steps": r["steps"],
             "ms_per_step": 1e3 * sum(r["s_per_step"]) / len(r["s_per_step"]), "hours": r["hours"]}
            for (m, d), r in sorted(per_pair.items())]
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu, 1 thread"
    return {"suite": suite, "profile": profile, "device": device, "device_name": name, "steps_timed": steps,
            "torch": torch.__version__, "trials": len(plan.trials), "rows": rows,
            "total_hours": sum(r["hours"] for r in rows),
            "not_counted": "evaluations, data loading, checkpoints, GPU packing"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--device", default="cpu", help="cpu (one thread: core-hours) or cuda[:N] (GPU-hours)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per (method, dataset, params)")
    ap.add_argument("--methods", default=None)
    ap.add_argument("--datasets", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device here; use --device cpu", file=sys.stderr)
        return 2
    res = measure(a.suite, a.profile, a.device, a.steps, a.methods, a.datasets)
    unit = "GPU-h" if a.device.startswith("cuda") else "core-h"
    print(f"\n{a.suite} / {a.profile} on {res['device_name']}: training only ({res['not_counted']} not counted)")
    print(f"{'method':<18}{'dataset':<18}{'trials':>7}{'steps':>12}{'ms/step':>10}{unit:>10}")
    for r in res["rows"]:
        print(f"{r['method']:<18}{r['dataset']:<18}{r['trials']:>7}{r['steps']:>12,}{r['ms_per_step']:>10.1f}"
              f"{r['hours']:>10.2f}")
    print(f"{'total':<36}{sum(r['trials'] for r in res['rows']):>7}{sum(r['steps'] for r in res['rows']):>12,}"
          f"{'':>10}{res['total_hours']:>10.2f}")
    write_json(a.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
