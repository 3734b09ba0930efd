"""Class histogram of generated samples under the dataset's domain classifier (our quantitative reading of
pcm-gan §III-E, whose imbalanced-MNIST comparison is qualitative, Fig. 7: does a method keep generating the
rare digits, or collapse onto the dominant one?).

Stages: dom logits -> argmax labels -> share of the generated samples per predicted class -> total variation to
the training split's class shares. Rows: subset "c" = the share of generated samples labelled c (every class,
0 included), "all" = TV(p_gen, p_train) = ½ Σ_c |p_gen(c) − p_train(c)|: 0 when the generated classes follow the
training set's proportions (imbalance included), 1 when no generated sample falls in any training class's share.
The training shares come from the dataset's own labels (for imbalanced_mnist: the imbalanced training set).
"""
from __future__ import annotations

import numpy as np

from bench.metrics import Metric, fixed_bounds, register

N_SAMPLES = 10_000  # pcm-gan states none (the paper shows 100 samples per method): the _dom metrics' count
MAX_CLASSES = 100  # one row per class: the 1,000 stacked classes have stacked_modes / stacked_kl instead


def shares(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(K,) share of `labels` equal to each class c."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)[:n_classes]
    return counts / counts.sum()


def class_share(logits: np.ndarray, train_labels: np.ndarray) -> dict:
    k = logits.shape[1]
    p_gen = shares(logits.argmax(axis=1), k)
    p_train = shares(train_labels, k)
    out = {str(c): float(p_gen[c]) for c in range(k)}
    # total variation between the generated and the training class histograms
    out["all"] = float(0.5 * np.abs(p_gen - p_train).sum())
    return out


def _few_classes(spec) -> str | None:
    if spec.n_classes > MAX_CLASSES:
        return (f"class_share has one row per class: {spec.name} has {spec.n_classes} classes (more than "
                f"{MAX_CLASSES}); use stacked_modes / stacked_kl there")
    return None


register(Metric("class_share", None, higher_is_better=False, kind="image", n_samples=N_SAMPLES,
                source="pcm-gan §III-E (qualitative there; the histogram is our extension)", unit="share",
                extractors=("dom",), applies=_few_classes, bounds=fixed_bounds(0.0, 1.0),
                from_features=lambda feats, ctx: class_share(feats.get("dom", "logits"), ctx.real_labels("train")),
                protocol={"extractor": "dom", "labels": "argmax class", "subsets": "share of samples per class",
                          "all": "total variation to the training split's class shares"}))
