"""One trial, no Ray inside: seed everything, build data and method, train, evaluate on the schedule,
and return the trial's rows (trials / metrics / samples). Usable and testable on its own.

Status: `completed`; `diverged` (a non-finite loss or non-finite samples: a result, with the step);
`failed` (an exception: recorded with its error, never raised to the caller).
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from bench.data import build_dataset
from bench.metrics import Metric, get_metric
from bench.registry import METHODS
from bench.suites import TrialSpec

N_SAMPLES_KEPT = 512  # generated points per eval step kept in samples.parquet for figures (MGAN Fig. 2c: 512)


@dataclass
class TrialOutput:
    trial: dict
    metrics: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)  # image grids (images.parquet), image datasets only
    eval_protocol: dict = field(default_factory=dict)  # image trials: extractors' protocols etc. (hparams)

    @property
    def status(self) -> str:
        return self.trial["status"]


class Diverged(Exception):
    pass


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def eval_seed(trial_id: str, step: int) -> int:
    """Fixed RNG seed per (trial, step): re-evaluating a checkpoint gives the same numbers."""
    return int(hashlib.sha256(f"{trial_id}:{step}".encode()).hexdigest()[:15], 16)


@dataclass
class Evaluation:
    """One evaluation step: values[(metric, sigma)] (a float or a {subset: value} dict; sigma None at the
    training scale), kept points (n_keep, d) and kept per-component points with their component."""

    values: dict
    points: np.ndarray
    component_points: np.ndarray | None = None
    components: np.ndarray | None = None
    protocol: dict | None = None  # image trials: extractor protocols and values decided at evaluation


def evaluate(method, data_spec, metrics: list[Metric], seed: int, *, final: bool = True,
             n_keep: int = N_SAMPLES_KEPT, data_root=None) -> Evaluation:
    """All draws under a forked RNG seeded with `seed`, so training's random streams are untouched: one
    sample for the plain metrics (the largest count any needs), per-component draws for the metrics that need
    latent components, and — at the final step — one draw per latent scale σ for the metrics with `sigmas`.
    Image data: the streamed feature pass (bench.metrics.image_eval), the same draws, the same seed."""
    if data_spec.kind == "image":
        from bench.metrics.image_eval import evaluate_images

        return evaluate_images(method, data_spec, metrics, seed, final=final, data_root=data_root)
    plain = [m for m in metrics if not m.needs_components and not m.sigmas]
    by_component = [m for m in metrics if m.needs_components]
    by_sigma = [m for m in metrics if m.sigmas] if final else []
    n = max([m.n_samples for m in plain] + [n_keep])
    devices = [method.device] if method.device.type == "cuda" else []
    values: dict = {}
    comp_x = comps = None
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.manual_seed(seed)
        with torch.no_grad():
            samples = _to_numpy(method.sample(n), n)
            if by_component or method.n_components > 1:
                n_comp = max([m.n_samples for m in by_component] + [n_keep])
                comp_x, comps = _sample_per_component(method, n_comp)
            sigmas = sorted({s for m in by_sigma for s in m.sigmas})
            scaled = {s: _to_numpy(method.sample(max(m.n_samples for m in by_sigma), scale=s),
                                   max(m.n_samples for m in by_sigma)) for s in sigmas}
    for m in plain:
        values[(m.name, None)] = m(samples, data_spec)
    for m in by_component:
        values[(m.name, None)] = m(comp_x, data_spec, comps)
    for m in by_sigma:
        for s in m.sigmas:
            values[(m.name, s)] = m(scaled[s], data_spec)
    keep = None if comp_x is None else _spread_keep(comps, n_keep)
    return Evaluation(values, samples[:n_keep], None if keep is None else comp_x[keep],
                      None if keep is None else comps[keep])


def _spread_keep(comps: np.ndarray, n_keep: int) -> np.ndarray:
    """Indices of about n_keep points spread evenly over the components (the first ones of each block)."""
    k = int(comps.max()) + 1
    per = max(1, n_keep // k)
    return np.concatenate([np.flatnonzero(comps == c)[:per] for c in range(k)])


def _to_numpy(x: torch.Tensor, n: int) -> np.ndarray:
    out = x.detach().to("cpu", torch.float64).numpy().reshape(n, -1)
    if not np.isfinite(out).all():
        raise Diverged("non-finite generated samples")
    return out


def _sample_per_component(method, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n samples in total, n // K from each latent component (the first n mod K components one more)."""
    k_total = method.n_components
    counts = [n // k_total + (k < n % k_total) for k in range(k_total)]
    xs = [_to_numpy(method.sample(c, component=k), c) for k, c in enumerate(counts) if c]
    comps = np.repeat(np.arange(k_total), counts)
    return np.concatenate(xs), comps


def _metric_rows(spec: TrialSpec, trial_id: str, step: int, values: dict) -> list[dict]:
    rows = []
    for (name, sigma), value in values.items():
        subsets = value if isinstance(value, dict) else {"all": value}
        for subset, v in subsets.items():
            rows.append({"trial_id": trial_id, "suite": spec.suite, "dataset": spec.dataset,
                         "method": spec.method, "seed": spec.seed, "step": step, "metric": name,
                         "value": float(v), "sigma": sigma, "subset": subset})
    return rows


def _sample_rows(spec: TrialSpec, trial_id: str, step: int, pts: np.ndarray,
                 components: np.ndarray | None = None) -> list[dict]:
    if pts.ndim != 2 or pts.shape[1] != 2:
        return []
    comps = [None] * len(pts) if components is None else [int(c) for c in components]
    return [{"trial_id": trial_id, "dataset": spec.dataset, "method": spec.method, "seed": spec.seed,
             "step": step, "x": float(p[0]), "y": float(p[1]), "component": c} for p, c in zip(pts, comps)]


def with_samples(metric: Metric, n: int | None) -> Metric:
    """The metric on n generated samples (its kept images at most n) as a profile sets it, the protocol's own
    count recorded beside it; n None or the protocol's count: the metric unchanged."""
    if n is None or n == metric.n_samples:
        return metric
    import dataclasses

    return dataclasses.replace(metric, n_samples=n, n_images=min(metric.n_images, n),
                               protocol={**metric.protocol, "n_samples_protocol": metric.n_samples,
                                         "n_samples_set_by_profile": n})


def grid_rows(spec: TrialSpec, trial_id: str, step: int, method, data, seed: int, *, real: bool) -> list[dict]:
    """Image grids of one evaluation step (bench/imagegrid.py): 64 generated images and, for methods with several
    latent components / generators, 8 from each of the first 20; with `real`, 64 training images too. Drawn under their own
    forked RNG (seed), so neither training nor the metrics' draws move."""
    from bench import imagegrid

    if data.spec.kind != "image":
        return []
    base = {"trial_id": trial_id, "dataset": spec.dataset, "method": spec.method, "seed": spec.seed, "step": step}
    grids: list[tuple[str, int | None, torch.Tensor]] = []
    devices = [method.device] if method.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"), torch.no_grad():
        torch.manual_seed(seed)
        grids.append(("generated", None, method.sample(imagegrid.N_GRID)))
        if method.n_components > 1:
            grids += [("component", k, method.sample(imagegrid.N_PER_COMPONENT, component=k))
                      for k in range(min(method.n_components, imagegrid.MAX_COMPONENTS))]
        if real:
            g = torch.Generator().manual_seed(seed)
            grids.append(("real", None, data.batch(imagegrid.N_GRID, g)[0]))
    rows = []
    for kind, comp, x in grids:
        if not torch.isfinite(x).all():
            raise Diverged("non-finite generated images")
        u8 = imagegrid.to_uint8(x)
        rows.append({**base, "kind": kind, "component": comp, "n_images": int(u8.shape[0]),
                     "png": imagegrid.encode(u8, imagegrid.PER_ROW)})
    return rows


def _rng_state(batch_gen: torch.Generator) -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "batch": batch_gen.get_state()}


def _set_rng_state(state: dict, batch_gen: torch.Generator) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    batch_gen.set_state(state["batch"])


def save_checkpoint(path: Path, payload: dict) -> None:
    from bench.results import atomic_write

    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def new_trial(spec: TrialSpec, *, config_hash: str = "", code_version: str = "", device: str = "cpu",
              node_id: str = "") -> tuple[TrialOutput, dict]:
    """The trial's output with its row (status `completed` until told otherwise) and its hparams so far."""
    started = datetime.now(timezone.utc)
    row = {"trial_id": spec.trial_id, "suite": spec.suite, "profile": spec.profile, "dataset": spec.dataset,
           "method": spec.method, "seed": spec.seed, "variant": spec.variant, "status": "completed", "error": None,
           "steps": 0, "wall_s": 0.0, "device": str(device), "node_id": node_id, "n_params": 0, "hparams": "{}",
           "config_hash": config_hash, "code_version": code_version, "started_at": started,
           "finished_at": started}
    hparams: dict = {"params": spec.params, "steps": spec.steps, "eval_steps": spec.eval_steps,
                     "overrides": spec.overrides, "protocols": spec.protocols, "device": str(device),
                     "torch_threads": torch.get_num_threads(),
                     "seeding": "python/numpy/torch seeded with the trial seed; data drawn with it; batches from "
                                "a torch.Generator seeded with it; evaluation RNG fixed per (trial, step)"}
    return TrialOutput(row), hparams


def build_trial(spec: TrialSpec, hparams: dict, device="cpu", data_root=None):
    """(data, method class, method, metrics) of a trial, right after `seed_everything(spec.seed)`: the data, then
    the method (its initial weights from the global torch RNG) and the metrics that apply; records the hparams
    they decide."""
    data = build_dataset(spec.dataset, spec.seed, device, data_root=data_root)
    cls = METHODS.get(spec.method)
    method = cls(data.spec, cls.Params(**spec.params), device)
    metrics, skipped = [], {}
    for name in spec.metrics:
        m = with_samples(get_metric(name), spec.metric_samples.get(name, spec.metric_samples.get("*")))
        reason = m.not_applicable(data.spec, method)
        if reason:
            skipped[name] = reason
        else:
            metrics.append(m)
    hparams.update({"dataset": data.spec.describe(), "metrics": {m.name: m.describe(data.spec) for m in metrics},
                    "metrics_skipped": skipped, "method_class": f"{cls.__module__}.{cls.__qualname__}",
                    "trainable": cls.trainable, "needs_labels": cls.needs_labels})
    return data, cls, method, metrics


def record_size(row: dict, hparams: dict, method) -> None:
    """The method's parameter count in the trial row, and per player (G, D, …) in its hparams."""
    row["n_params"] = method.n_params()
    hparams["n_params_by_player"] = method.n_params_by_player()


def run_trial(spec: TrialSpec, *, config_hash: str = "", code_version: str = "", device: str = "cpu",
              threads: int | None = None, node_id: str = "", checkpoint_path: Path | None = None,
              data_root: str | None = None) -> TrialOutput:
    trial_id = spec.trial_id
    t0 = time.perf_counter()
    if threads:
        torch.set_num_threads(int(threads))
    out, hparams = new_trial(spec, config_hash=config_hash, code_version=code_version, device=device,
                             node_id=node_id)
    row = out.trial
    step = 0
    elapsed_before = 0.0
    try:
        seed_everything(spec.seed)
        data, cls, method, metrics = build_trial(spec, hparams, device, data_root)
        record_size(row, hparams, method)
        batch_gen = torch.Generator().manual_seed(spec.seed)

        if checkpoint_path is not None and Path(checkpoint_path).exists():
            ck = torch.load(checkpoint_path, weights_only=False)
            if ck["trial_id"] == trial_id:
                method.load_state_dict(ck["method"])
                _set_rng_state(ck["rng"], batch_gen)
                step, elapsed_before = ck["step"], ck["wall_s"]
                out.metrics, out.samples = ck["metrics"], ck["samples"]
                out.images = ck.get("images", [])
                hparams["resumed_from_step"] = step

        evals = set(spec.eval_steps)
        done_evals = {r["step"] for r in out.metrics}
        if 0 in evals and 0 not in done_evals:
            _eval_into(out, spec, trial_id, 0, method, data, metrics, data_root)
        while step < spec.steps:
            step += 1
            if cls.trainable:
                x, y = data.batch(method.batch_size, batch_gen)
                losses = method.train_step(x, y)
                for k, v in losses.items():
                    if not math.isfinite(v):
                        raise Diverged(f"non-finite {k} ({v}) at step {step}")
            if step in evals:
                _eval_into(out, spec, trial_id, step, method, data, metrics, data_root)
            if checkpoint_path is not None and spec.checkpoint_every and step % spec.checkpoint_every == 0 \
                    and step < spec.steps:
                save_checkpoint(Path(checkpoint_path), {
                    "trial_id": trial_id, "step": step, "method": method.state_dict(),
                    "rng": _rng_state(batch_gen), "metrics": out.metrics, "samples": out.samples,
                    "images": out.images,
                    "wall_s": elapsed_before + time.perf_counter() - t0})
        row["steps"] = step
    except Diverged as e:
        row.update(status="diverged", error=str(e) if "step" in str(e) else f"{e} at step {step}", steps=step)
    except Exception as e:  # noqa: BLE001 - a failed trial is recorded, never raised
        tb = traceback.format_exc(limit=-3)
        row.update(status="failed", error=f"{type(e).__name__}: {e}{_oom_fix(e)}\n{tb}", steps=step)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the worker's next trial starts with the failed one's memory returned
    row["wall_s"] = elapsed_before + time.perf_counter() - t0
    row["finished_at"] = datetime.now(timezone.utc)
    if out.eval_protocol:
        hparams["evaluation_protocol"] = out.eval_protocol
    row["hparams"] = json.dumps(hparams, sort_keys=True, default=str)
    return out


OOM_FIX = ("\nfix: this trial did not fit in its share of the GPU. Give each trial a larger fraction (e.g. "
           "--gpus-per-trial 0.5 or 1 instead of 0.25, so fewer trials share a device) or lower the batch size or the "
           "metric sample counts in the suite; then `bench run ... --resume` re-runs only the failed trials "
           "(docs/cluster.md, 'Sizing a GPU fraction')")


def _oom_fix(e: BaseException) -> str:
    """The fix appended to a CUDA out-of-memory error (torch.OutOfMemoryError, or a RuntimeError saying so)."""
    return OOM_FIX if isinstance(e, torch.OutOfMemoryError) or "CUDA out of memory" in str(e) else ""


def _eval_into(out: TrialOutput, spec, trial_id, step, method, data, metrics, data_root=None) -> None:
    data_spec = data.spec
    seed = eval_seed(trial_id, step)
    try:
        ev = evaluate(method, data_spec, metrics, seed, final=step == spec.steps, data_root=data_root)
        out.images.extend(grid_rows(spec, trial_id, step, method, data, seed + 1, real=not out.images))
    except Diverged as e:
        raise Diverged(f"{e} at step {step}") from None
    out.metrics.extend(_metric_rows(spec, trial_id, step, ev.values))
    out.samples.extend(_sample_rows(spec, trial_id, step, ev.points))
    if ev.component_points is not None:
        out.samples.extend(_sample_rows(spec, trial_id, step, ev.component_points, ev.components))
    if ev.protocol:
        out.eval_protocol.update(ev.protocol)
