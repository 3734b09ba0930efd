"""Benchmark metrics: pure functions (samples -> statistics), one record per metric in the registry.

A record says what the metric needs (data kind, sample count), which way is better, where its formula
comes from, the range its values can take on a dataset (`bounds`, e.g. modes in [0, K]: the report clips
intervals to it), and when it does not apply to a dataset (with the reason, recorded in the trial's hparams).
Metric functions return a float, or a {subset: value} dict whose "all" entry is the headline value.

Two calling conventions, chosen by the record: 2-D metrics (`fn`) read the raw samples; image metrics
(`from_features`) read what the streamed evaluation pass kept (`bench.metrics.image_eval.Features`: per
extractor features/logits, a small pool of images, components) plus its context (real-side statistics,
extractor protocols). An image metric's `fn` is None: it never sees an array of all generated images.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from bench.registry import METRICS

MetricValue = float | Mapping[str, float]
Bounds = tuple[float | None, float | None]  # (lowest, highest) value the metric can take; None: unbounded


def unbounded(spec) -> Bounds:
    return (None, None)


def fixed_bounds(lo: float | None, hi: float | None) -> Callable[..., Bounds]:
    """A range that does not depend on the dataset, e.g. fixed_bounds(0, 100) for a percentage."""
    return lambda spec: (lo, hi)


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[..., MetricValue] | None  # fn(samples (N, d) float64, spec: DataSpec) -> value; None: image
    higher_is_better: bool
    kind: str | tuple[str, ...]  # data kind(s) it measures: "points" | "image" (a tuple: both, fn + from_features)
    n_samples: int  # generated samples it is computed on (the protocol's count)
    source: str  # paper section the protocol follows
    unit: str = ""
    applies: Callable[..., str | None] = lambda spec: None  # returns why it does not apply, or None
    needs_components: bool = False  # fn(samples, spec, components): samples drawn per latent component
    sigmas: tuple[float, ...] = ()  # latent scales to evaluate at (final step only; rows carry `sigma`)
    protocol: dict = field(default_factory=dict)  # documented choices, recorded with every trial
    # -- image metrics: what the streamed evaluation pass must produce for them ------------------------------
    from_features: Callable[..., MetricValue] | None = None  # from_features(feats: Features, ctx) -> value
    extractors: tuple[str, ...] = ()  # feature extractors it reads ("dom", "inception")
    layer: bool = False  # it also reads the dom extractor's layer_features (GM-GAN's c_l)
    n_images: int = 0  # generated images it needs kept beside the features (MS-SSIM pairs)
    bounds: Callable[..., Bounds] = unbounded  # bounds(spec) -> (lo, hi) on that dataset (recorded in hparams)

    def not_applicable(self, spec, method=None) -> str | None:
        kinds = (self.kind,) if isinstance(self.kind, str) else self.kind
        if spec.kind not in kinds:
            return f"{self.name} measures {' or '.join(kinds)} data; {spec.name} is {spec.kind}"
        if self.needs_components and method is not None and method.n_components < 2:
            return f"{self.name} needs a method with several latent components; {method.name} has 1"
        return self.applies(spec)

    def __call__(self, samples: np.ndarray, spec, components: np.ndarray | None = None) -> MetricValue:
        if self.fn is None:
            raise TypeError(f"{self.name} reads the evaluation pass's features, not raw samples: "
                            "compute it with bench.metrics.image_eval.evaluate_images")
        if self.needs_components:
            if components is None:
                raise ValueError(f"{self.name} needs the latent component of every sample")
            return self.fn(samples[: self.n_samples], spec, components[: self.n_samples])
        return self.fn(samples[: self.n_samples], spec)

    def value_range(self, spec) -> Bounds:
        """(lo, hi) the metric's values can take on `spec`'s dataset; None for an open end."""
        lo, hi = self.bounds(spec)
        return (None if lo is None else float(lo), None if hi is None else float(hi))

    def describe(self, spec=None) -> dict:
        """JSON-able record of the protocol; with the dataset's spec, also the range of its values (`value_range`;
        a protocol's own `range`, e.g. the histograms' bin range, is something else)."""
        out = {"higher_is_better": self.higher_is_better, "n_samples": self.n_samples, "source": self.source,
               "unit": self.unit, **self.protocol}
        if spec is not None:
            out["value_range"] = list(self.value_range(spec))
        if self.extractors:
            out["extractors"] = list(self.extractors)
        if self.n_images:
            out["n_images"] = self.n_images
        return out


def register(metric: Metric) -> Metric:
    return METRICS.register(metric.name)(metric)


def get_metric(name: str) -> Metric:
    return METRICS.get(name)
