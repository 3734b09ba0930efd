"""The streamed evaluation pass for image trials (issue 13, DESIGN.md "Images").

Stages: generate on the trial's device in fixed chunks -> push each chunk once through every feature
extractor the trial's metrics need -> keep only features / logits (+ a small pool of images for MS-SSIM
pairs) -> every metric reads those (`Metric.from_features(feats, ctx)`). One generator pass and one pass per
extractor per draw, however many metrics read them. Draws, as the 2-D `evaluate`: one plain draw (the largest
count any metric needs; each metric reads the first `n_samples`), one per-component draw for the metrics that
need latent components, and at the final step one draw per latent scale σ for the metrics with `sigmas`.
Never one array of all generated images, never float64 images.

Real side: `bench.evaluators.real_features(extractor, dataset, split)` (cached on disk by the evaluators),
memoised here per process with the statistics derived from it (mean/covariance, the fixed real subset).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

GEN_CHUNK = 500  # samples per method.sample call: fixed, so the draws never depend on the extractor batch size
EXTRACT_BATCH = 500  # default extractor batch (the evaluation batch size; no metric depends on it)
REAL_SUBSET_SEED = 0  # the fixed permutation that picks the real subset (e.g. MD-GAN's 10k real for FID)

_REAL_MEMO: dict = {}  # (extractor key, dataset, split, what) -> arrays / statistics, once per process


def to_float(u8: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] (the data contract's `u8 / 127.5 - 1`)."""
    return u8.float() / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8, rounded as a saved PNG would be (the kept MS-SSIM pool)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@dataclass
class Features:
    """What one generator draw left behind. out[extractor] = {"features": (n, D), "logits": (n, K)[,
    "layer": (n, D_l)]} float32 numpy; images: (m, C, H, W) uint8 CPU, the first m samples (MS-SSIM pairs);
    components: (n,) latent component of each sample (per-component draws) or None; sigma: latent scale."""

    out: dict[str, dict[str, np.ndarray]]
    n: int
    images: torch.Tensor | None = None
    components: np.ndarray | None = None
    sigma: float | None = None
    cache: dict = field(default_factory=dict)  # intermediates shared by metrics (e.g. mean MS-SSIM)
    _heads: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.n

    def get(self, extractor: str, what: str = "features") -> np.ndarray:
        return self.out[extractor][what]

    def head(self, n: int) -> "Features":
        """The first n samples (the same object for the same n, so metrics on one count share the cache)."""
        if n >= self.n:
            return self
        if n not in self._heads:
            self._heads[n] = Features({e: {k: v[:n] for k, v in d.items()} for e, d in self.out.items()}, n,
                                      None if self.images is None else self.images[:n],
                                      None if self.components is None else self.components[:n], self.sigma)
        return self._heads[n]


def _extractor_key(ext) -> tuple:
    return ext.name, json.dumps(ext.protocol, sort_keys=True, default=str)


@dataclass
class EvalContext:
    """What a metric may read besides the generated features: the dataset, the extractors (and their
    protocols), the real side, the method (clustering), the evaluation seed and device."""

    spec: object
    extractors: dict
    real_source: Callable  # (extractor, split) -> {"features", "logits"[, "labels", "layer"]} numpy
    real_images: Callable  # split -> (uint8 (N, C, H, W), int64 (N,)) CPU
    seed: int
    method: object = None
    device: torch.device = torch.device("cpu")
    batch_size: int = EXTRACT_BATCH
    protocol: dict = field(default_factory=dict)  # values decided during the evaluation, recorded with it

    def _memo(self, name: str, split: str, what: str, compute: Callable):
        key = (_extractor_key(self.extractors[name]), self.spec.name, split, what)
        if key not in _REAL_MEMO:
            _REAL_MEMO[key] = compute()
        return _REAL_MEMO[key]

    def real(self, name: str, split: str = "train") -> dict:
        """Real features/logits of a split through extractor `name` (the evaluators' disk cache, memoised)."""
        return self._memo(name, split, "all", lambda: self.real_source(self.extractors[name], split))

    def real_subset(self, name: str, split: str, n: int, what: str = "features") -> np.ndarray:
        """The first n rows of a fixed permutation of the real split (all rows when the split is smaller)."""
        full = self.real(name, split)[what]
        perm = self._memo(name, split, "perm", lambda: np.random.default_rng(REAL_SUBSET_SEED).permutation(len(full)))
        return full[np.sort(perm[: min(n, len(full))])]

    def real_labels(self, split: str) -> np.ndarray:
        return np.asarray(self.real_images(split)[1])

    def real_layer(self, split: str = "train") -> np.ndarray:
        """(N, D_l) dom layer features of a real split: the evaluators' cache when it carries them, else one
        batched pass over the split's images through `layer_features`, once per process."""
        real = self.real("dom", split)
        if "layer" in real:
            return real["layer"]

        def compute():
            images, _ = self.real_images(split)
            ext = self.extractors["dom"]
            parts = []
            with torch.no_grad():
                for i in range(0, len(images), self.batch_size):
                    xb = to_float(images[i:i + self.batch_size].to(self.device))
                    parts.append(ext.layer_features(xb).float().cpu().numpy())
            return np.concatenate(parts)

        return self._memo("dom", split, "layer", compute)

    def memo(self, name: str, split: str, what: str, compute: Callable):
        """Memoise a real-side statistic per (extractor, dataset, split, what) for the process."""
        return self._memo(name, split, what, compute)


def draw_features(sample: Callable[[int], torch.Tensor], n: int, extractors: dict, *, layer: bool = False,
                  n_images: int = 0, batch_size: int = EXTRACT_BATCH, check_finite: Callable | None = None
                  ) -> tuple[dict, torch.Tensor | None]:
    """n samples from `sample(k)` in chunks of GEN_CHUNK, each pushed once through every extractor in
    sub-batches of `batch_size`. Returns ({extractor: {"features", "logits"[, "layer"]}} float32 numpy,
    the first n_images as uint8 CPU or None)."""
    out: dict = {name: {} for name in extractors}
    kept = []
    done = 0
    while done < n:
        c = min(GEN_CHUNK, n - done)
        x = sample(c)
        if x.dtype != torch.float32:
            x = x.float()
        if check_finite is not None:
            check_finite(x)
        if sum(len(k) for k in kept) < n_images:
            kept.append(to_uint8(x[: n_images - sum(len(k) for k in kept)]).cpu())
        for i in range(0, c, batch_size):
            xb = x[i:i + batch_size]
            for name, ext in extractors.items():
                res = dict(ext(xb))
                if layer and name == "dom" and "layer" not in res:
                    res["layer"] = ext.layer_features(xb)
                for k in ("features", "logits", "layer"):
                    if k not in res:
                        continue
                    arr = out[name].get(k)
                    v = res[k].detach().float().cpu().numpy()
                    if arr is None:
                        arr = out[name][k] = np.empty((n, v.shape[1]), dtype=np.float32)
                    arr[done + i: done + i + len(v)] = v
        done += c
    return out, (torch.cat(kept) if kept else None)


def _check_finite(x: torch.Tensor) -> None:
    if not torch.isfinite(x).all():
        from bench.trial import Diverged

        raise Diverged("non-finite generated samples")


def default_real_source(spec, data_root=None) -> Callable:
    def source(extractor, split):
        from bench.evaluators import real_features

        return real_features(extractor, spec.name, split, data_root=data_root)

    return source


def default_real_images(spec, data_root=None) -> Callable:
    def images(split):
        from bench.data.images import load_split

        return load_split(spec.name, split, data_root=data_root)

    return images


def evaluate_images(method, spec, metrics: list, seed: int, *, final: bool = True, n_keep: int = 64,
                    extractors: dict | None = None, real_source: Callable | None = None,
                    real_images: Callable | None = None, data_root=None, batch_size: int = EXTRACT_BATCH):
    """One evaluation step of an image trial under the caller's fixed seed (the RNG is forked, so training's
    streams are untouched). Returns bench.trial.Evaluation: values[(metric, sigma)], the first n_keep images
    (uint8) as `points`, and `protocol` (each extractor's protocol and the values decided here)."""
    from bench.trial import Evaluation

    names = sorted({e for m in metrics for e in m.extractors})
    if extractors is None:
        from bench.evaluators import get_extractor

        extractors = {e: get_extractor(e, spec, method.device, data_root=data_root) for e in names}
    exts = {e: extractors[e] for e in names}
    ctx = EvalContext(spec, exts, real_source or default_real_source(spec, data_root),
                      real_images or default_real_images(spec, data_root), seed, method, method.device, batch_size)
    plain = [m for m in metrics if not m.needs_components]
    by_component = [m for m in metrics if m.needs_components]
    by_sigma = [m for m in metrics if m.sigmas] if final else []

    def draw(ms, sample, extra_images=0):
        used = {e: exts[e] for e in sorted({e for m in ms for e in m.extractors})}
        n_img = max([m.n_images for m in ms] + [extra_images])
        n = max([m.n_samples for m in ms] + [n_img])
        return draw_features(sample, n, used, layer=any(m.layer for m in ms), n_images=n_img,
                             batch_size=batch_size, check_finite=_check_finite) + (n,)

    values: dict = {}
    devices = [method.device] if method.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"), torch.no_grad():
        torch.manual_seed(seed)
        out, images, n = draw(plain, lambda c: method.sample(c), n_keep)
        feats = Features(out, n, images)
        for m in plain:
            values[(m.name, None)] = m.from_features(feats.head(m.n_samples), ctx)
        if by_component:
            k_total = method.n_components
            n_comp = max(m.n_samples for m in by_component)
            counts = [n_comp // k_total + (k < n_comp % k_total) for k in range(k_total)]
            comps = np.repeat(np.arange(k_total), counts)
            pos = {"i": 0}

            def sample_comp(c):  # consecutive chunks walk through the components in block order
                parts, i = [], pos["i"]
                for k in np.unique(comps[i:i + c]):
                    parts.append(method.sample(int((comps[i:i + c] == k).sum()), component=int(k)))
                pos["i"] = i + c
                return torch.cat(parts)

            out, _, _ = draw(by_component, sample_comp)
            cfeats = Features(out, n_comp, None, comps)
            for m in by_component:
                values[(m.name, None)] = m.from_features(cfeats, ctx)
        for s in sorted({s for m in by_sigma for s in m.sigmas}):
            ms = [m for m in by_sigma if s in m.sigmas]
            out, images, n = draw(ms, lambda c, s=s: method.sample(c, scale=s))
            sfeats = Features(out, n, images, sigma=s)
            for m in ms:
                values[(m.name, s)] = m.from_features(sfeats.head(m.n_samples), ctx)
    keep = feats.images[:n_keep].numpy() if feats.images is not None else np.empty((0, 2))
    protocol = {"extractors": {e: exts[e].protocol for e in names}, "gen_chunk": GEN_CHUNK,
                "real_subset_seed": REAL_SUBSET_SEED, **ctx.protocol}
    return Evaluation(values, keep, protocol=protocol)
