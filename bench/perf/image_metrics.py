"""(d) Image-metric cost on this CPU: one streamed evaluation of 10,000 28×28 samples with every `_dom` metric
(goal ≤ 15 s), and precision/recall and density/coverage alone at 10k and 50k (time, peak memory).

Each measurement runs in its own subprocess with 1 torch thread; "peak MB" = the process's peak RSS during the
measured call (VmHWM, reset right before it through /proc/self/clear_refs) minus its RSS right before it.
Times: wall and CPU (process time); on a shared, loaded machine CPU time is the steadier number.

Extractor: a STAND-IN of the same shape as the evaluators' 28×28 domain CNN (conv 32 / conv 64 / fc 128 /
10 logits; random weights: timing only), named "standin-28px-cnn" — this branch has no bench/evaluators.py and
no MNIST; with them, swap in get_extractor("dom", spec, "cpu"). Samples: scikit-learn's digits upscaled to
28×28 with pixel noise (a cheap generator, so the time is the metrics' and the extractor's). PR / D&C alone:
Gaussian 128-d features (the evaluators' `dom` feature width).

    python -m bench.perf.image_metrics [--sizes 10000,50000] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

DOM_METRICS = ("fid_dom", "is_dom", "kid_dom", "precision_dom", "recall_dom", "density_dom", "coverage_dom")
N_EVAL = 10_000
GOAL_S = 15.0
FEATURE_DIM = 128


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


class _Measure:
    """Wall time, CPU time and peak RSS increase of the block."""

    def __enter__(self):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak RSS (VmHWM) to the current RSS
        self.base = _status_mb("VmRSS")
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c
        self.peak_mb = _status_mb("VmHWM") - self.base


class _StandinExtractor:
    """Timing stand-in shaped like the evaluators' 28×28 domain CNN (random weights)."""

    def __init__(self):
        import torch
        from torch import nn

        torch.manual_seed(0)
        self.conv = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.ReLU()).eval()
        self.out = nn.Linear(FEATURE_DIM, 10).eval()
        self.name = "standin-28px-cnn"
        self.protocol = {"extractor": self.name, "content_hash": "standin", "note": "random weights, timing only"}

    def __call__(self, x):
        import torch

        with torch.no_grad():
            f = self.conv(x)
            return {"features": f, "logits": self.out(f)}

    def layer_features(self, x):
        return self(x)["features"]


class _DigitsGenerator:
    """Digits upscaled to 28×28 plus pixel noise: a cheap, varied image source (torch's global RNG)."""

    n_components = 10

    def __init__(self):
        import numpy as np
        import torch
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.from_numpy(d.images.astype(np.float32) / 8.0 - 1.0)[:, None]
        self.x = torch.nn.functional.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
        self.y = torch.from_numpy(d.target)
        self.device = torch.device("cpu")

    def sample(self, n, *, scale=1.0, component=None):
        import torch

        pool = torch.arange(len(self.x)) if component is None else torch.nonzero(self.y == component)[:, 0]
        x = self.x[pool[torch.randint(0, len(pool), (n,))]]
        return (x + 0.1 * scale * torch.randn_like(x)).clamp(-1, 1)

    def responsibilities(self, x):
        return None


def _spec():
    from bench.data.base import DataSpec

    return DataSpec(name="perf_digits28", kind="image", shape=(1, 28, 28), n_classes=10, source="perf stand-in")


def one_evaluation() -> dict:
    """The streamed pass, 10,000 samples, every _dom metric; real side precomputed (the evaluators' disk cache)."""
    import torch

    from bench.metrics import get_metric
    from bench.metrics.image_eval import evaluate_images

    torch.set_num_threads(1)
    ext, gen, spec = _StandinExtractor(), _DigitsGenerator(), _spec()
    torch.manual_seed(1)
    parts = [ext(gen.sample(500)) for _ in range(N_EVAL // 500)]
    real = {k: torch.cat([p[k] for p in parts]).numpy() for k in ("features", "logits")}
    metrics = [get_metric(n) for n in DOM_METRICS]
    assert all(m.n_samples == N_EVAL for m in metrics), "the _dom protocol counts changed"

    def run():
        return evaluate_images(gen, spec, metrics, 5, final=False, extractors={"dom": ext},
                               real_source=lambda e, split: real, real_images=lambda split: (None, None))

    from bench.metrics import image_eval

    run()  # warm-up (first-call imports, real-side statistics memo)
    image_eval._REAL_MEMO.clear()  # measure with the real statistics recomputed: the cold per-process cost
    with _Measure() as m:
        ev = run()
    with _Measure() as f, torch.no_grad():  # the feature pass alone (generation + extractor), to split the time
        for _ in range(N_EVAL // 500):
            ext(gen.sample(500))
    per_metric = {}
    feats = image_eval.Features({"dom": real}, N_EVAL)  # the real features stand in for generated ones
    ctx = image_eval.EvalContext(spec, {"dom": ext}, lambda e, split: real, lambda split: (None, None), 5)
    for metric in metrics:  # each metric alone on ready features (PR / D&C share one computation: the first pays)
        with _Measure() as t:
            metric.from_features(feats, ctx)
        per_metric[metric.name] = round(t.cpu, 3)
    values = {k[0]: (v["all"] if isinstance(v, dict) else v) for k, v in ev.values.items()}
    return {"wall_s": m.wall, "cpu_s": m.cpu, "peak_mb": m.peak_mb, "feature_pass_wall_s": f.wall,
            "feature_pass_cpu_s": f.cpu, "metric_cpu_s": per_metric, "values": values, "extractor": ext.name}


def pr_dc(n: int) -> dict:
    import numpy as np
    import torch

    from bench.metrics.density_coverage import density_coverage
    from bench.metrics.fidelity import pr_from_features

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    gen = rng.standard_normal((n, FEATURE_DIM), dtype=np.float32)
    real = rng.standard_normal((n, FEATURE_DIM), dtype=np.float32)
    with _Measure() as a:
        pr = pr_from_features(gen, real)
    with _Measure() as b:
        dc = density_coverage(gen, real)
    return {"n": n, "pr_wall_s": a.wall, "pr_cpu_s": a.cpu, "pr_peak_mb": a.peak_mb, "dc_wall_s": b.wall,
            "dc_cpu_s": b.cpu, "dc_peak_mb": b.peak_mb, "pr": pr, "dc": dc}


def _child(what: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.perf.image_metrics", "--child", what],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(sizes=(10_000, 50_000), log=print) -> dict:
    log(f"(d) image metrics on this CPU (1 torch thread per measurement; each in its own process)")
    ev = _child("eval")
    log(f"  one evaluation, {N_EVAL:,} 28×28 samples, {len(DOM_METRICS)} _dom metrics ({ev['extractor']}): "
        f"wall {ev['wall_s']:.2f} s, CPU {ev['cpu_s']:.2f} s (feature pass: wall {ev['feature_pass_wall_s']:.2f} s, "
        f"CPU {ev['feature_pass_cpu_s']:.2f} s), peak +{ev['peak_mb']:.0f} MB; goal ≤ {GOAL_S:g} s (CPU): "
        f"{'yes' if ev['cpu_s'] <= GOAL_S else 'NO'}")
    log("  CPU s per metric on ready features: " + ", ".join(f"{k} {v:.2f}" for k, v in ev["metric_cpu_s"].items()))
    res = {"eval": ev, "pr_dc": []}
    for n in sizes:
        r = _child(f"prdc:{n}")
        res["pr_dc"].append(r)
        log(f"  n = {n:,} vs {n:,}, {FEATURE_DIM}-d: precision/recall wall {r['pr_wall_s']:.1f} s, CPU "
            f"{r['pr_cpu_s']:.1f} s, peak +{r['pr_peak_mb']:.0f} MB; density/coverage wall {r['dc_wall_s']:.1f} s, "
            f"CPU {r['dc_cpu_s']:.1f} s, peak +{r['dc_peak_mb']:.0f} MB")
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,50000")
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        res = one_evaluation() if args.child == "eval" else pr_dc(int(args.child.split(":")[1]))
        print(json.dumps(res, default=float))
        return
    res = measure(tuple(int(s) for s in args.sizes.split(",")))
    if args.json:
        from bench.perf import write_json

        write_json(args.json, res)


if __name__ == "__main__":
    main()
