"""Stacked-MNIST mode counting (md-gan §6.1): the 1,000-class domain classifier labels 25,000 generated
samples; `stacked_modes` = the number of distinct predicted classes, `stacked_kl` = KL(p_gen ‖ uniform)
between the predicted-label histogram and the uniform real label distribution.

The paper does not state the KL's direction (seed-review K3): we use KL(p_gen ‖ p_real) with p_real = 1/1000,
the usual one (VEEGAN, PacGAN): Σ_c p_c log(1000 p_c), 0 for a uniform histogram, log 1000 for one class.
Stages: logits -> argmax labels -> histogram -> numbers. The classifier's held-out accuracy is in the
evaluation protocol (bench/evaluators.py).
"""
from __future__ import annotations

import numpy as np

from bench.metrics import Metric, register

N_SAMPLES = 25_000  # md-gan §6.1: "after 25000 generated samples"
N_CLASSES = 1_000


def label_histogram(logits: np.ndarray) -> np.ndarray:
    """(K,) share of the samples whose argmax class is c."""
    counts = np.bincount(logits.argmax(axis=1), minlength=logits.shape[1])
    return counts / counts.sum()


def modes_hit(p: np.ndarray) -> float:
    # md-gan §6.1: the number of classes that at least one sample is labelled with.
    return float((p > 0).sum())


def kl_to_uniform(p: np.ndarray) -> float:
    # KL(p_gen ‖ uniform) = Σ_c p_c log(K p_c); empty classes contribute 0.
    nz = p[p > 0]
    return float(np.sum(nz * np.log(len(p) * nz)))


def _applies(spec) -> str | None:
    if spec.n_classes != N_CLASSES:
        return f"{spec.name} has {spec.n_classes} classes; Stacked-MNIST mode counting needs the 1,000 stacked classes"
    return None


_PROTOCOL = {"extractor": "dom", "classifier": "CNN on the 1,000 stacked classes (md-gan §6.1)",
             "kl_direction": "KL(p_gen ‖ uniform)"}
register(Metric("stacked_modes", None, higher_is_better=True, kind="image", n_samples=N_SAMPLES,
                source="md-gan §6.1", unit="modes", applies=_applies, extractors=("dom",),
                from_features=lambda feats, ctx: modes_hit(label_histogram(feats.get("dom", "logits"))),
                protocol=_PROTOCOL))
register(Metric("stacked_kl", None, higher_is_better=False, kind="image", n_samples=N_SAMPLES,
                source="md-gan §6.1", unit="nats", applies=_applies, extractors=("dom",),
                from_features=lambda feats, ctx: kl_to_uniform(label_histogram(feats.get("dom", "logits"))),
                protocol=_PROTOCOL))
