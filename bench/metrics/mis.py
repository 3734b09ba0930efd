"""Modified Inception Score (deligan §5.1): exp(E_{x_i} E_{x_j} KL(p(y|x_i) ‖ p(y|x_j))) over pairs of samples
of the same predicted class, per class and overall: a within-class diversity score (1 when all samples of a
class get the same prediction).

Aggregation (seed-review K5, from the authors' code; it reproduces deligan Table 1's "Overall"): samples are
grouped by argmax class; pairs include i = j; each class's samples are cut into 10 splits; the class's value is
the mean over its splits and its ± the std over them; "all" = the mean of the per-class values and "all:std"
their POPULATION std (ddof 0). Classes with fewer samples than splits are left out.
Rows: subset "c" / "c:std" per predicted class c, "all" / "all:std". Domain classifier, 10,000 samples (the
paper's count is unstated; the authors' code uses 50k with a CIFAR-retrained Inception).
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from bench.metrics import Metric, register

N_SAMPLES = 10_000
SPLITS = 10


def m_is_group(log_p: np.ndarray) -> float:
    # deligan §5.1: exp(mean_i mean_j KL(p_i ‖ p_j))
    #            = exp(mean_i Σ_y p_i log p_i − Σ_y p̄(y) · mean_j log p_j(y)).
    p = np.exp(log_p)
    return float(np.exp(np.mean(np.sum(p * log_p, axis=1)) - np.sum(p.mean(axis=0) * log_p.mean(axis=0))))


def overall(per_class: np.ndarray) -> tuple[float, float]:
    # deligan Table 1 "Overall" (seed-review K5): mean ± population std of the per-class values.
    per_class = np.asarray(per_class, dtype=np.float64)
    return float(per_class.mean()), float(per_class.std(ddof=0))


def m_is(logits: np.ndarray, splits: int = SPLITS) -> dict:
    log_p = log_softmax(np.asarray(logits, dtype=np.float64), axis=1)
    pred = log_p.argmax(axis=1)
    out, means = {}, []
    for c in np.unique(pred):
        idx = np.flatnonzero(pred == c)
        if len(idx) < splits:
            continue
        scores = [m_is_group(log_p[part]) for part in np.array_split(idx, splits)]
        out[str(int(c))], out[f"{int(c)}:std"] = float(np.mean(scores)), float(np.std(scores))
        means.append(np.mean(scores))
    if not means:
        raise ValueError(f"m_is: no predicted class has {splits} samples")
    out["all"], out["all:std"] = overall(np.array(means))
    return out


MAX_CLASSES = 100


def _few_classes(spec) -> str | None:
    # DeLiGAN reports m-IS per class of 10-class CIFAR and 4-5 sketch categories; grouped into 10 splits per
    # predicted class, 1,000 classes would need far more than the 10,000 samples for any class to have 10.
    if spec.n_classes > MAX_CLASSES:
        return (f"m_is groups samples by predicted class ({SPLITS} splits each): {spec.name} has {spec.n_classes} "
                f"classes (more than {MAX_CLASSES}); use stacked_modes / stacked_kl there")
    return None


register(Metric("m_is", None, higher_is_better=True, kind="image", n_samples=N_SAMPLES, source="deligan §5.1",
                extractors=("dom",), applies=_few_classes, from_features=lambda feats, ctx: m_is(feats.get("dom", "logits")),
                protocol={"extractor": "dom", "splits_per_class": SPLITS, "grouping": "argmax class",
                          "pairs": "all ordered pairs, i = j included", "class_std": "std over splits",
                          "overall": "mean ± population std over classes (seed-review K5)",
                          "min_class_size": SPLITS}))
