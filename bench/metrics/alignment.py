"""How well a method's latent components align with the true data Gaussians (gm-gan §4.1: "each Gaussian in
the latent space [maps] to samples … almost perfectly aligned with a single Gaussian").

Stages: per-component samples -> each point's MAP data Gaussian under the true mixture (2-D) or its domain
classifier's argmax class (images) -> contingency table (latent component × Gaussian / class) -> purity / NMI.
Purity alone is fooled by collapse (every component on one Gaussian is "pure"), so it is read beside NMI,
which is 0 for a collapsed generator.
"""
from __future__ import annotations

import numpy as np

from bench.metrics import Metric, fixed_bounds, register

N_SAMPLES = 10_000  # gm-gan states no count: 10,000 points, split equally over the latent components


def map_gaussian(samples: np.ndarray, spec) -> np.ndarray:
    """(N,): argmax_j p(j | x) under the true mixture (the nearest mean for equal isotropic Gaussians)."""
    return spec.mixture.component_log_prob(samples).argmax(axis=1)


def purity(components: np.ndarray, labels: np.ndarray) -> float:
    # Purity: Σ_k max_j n_kj / N over the (latent component k × label j) contingency table.
    from sklearn.metrics.cluster import contingency_matrix

    table = contingency_matrix(components, labels)
    return float(table.max(axis=1).sum() / table.sum())


def nmi(components: np.ndarray, labels: np.ndarray) -> float:
    # NMI = I(k; j) / sqrt(H(k) H(j)) (geometric normalisation, as gm-gan §5 should read: seed-review K7).
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(components, labels, average_method="geometric"))


def latent_purity(samples: np.ndarray, spec, components: np.ndarray) -> float:
    return purity(components, map_gaussian(samples, spec))


def latent_nmi(samples: np.ndarray, spec, components: np.ndarray) -> float:
    return nmi(components, map_gaussian(samples, spec))


def image_purity(feats, ctx) -> float:
    # Images: per-component samples labelled by the domain classifier's argmax class.
    return purity(feats.components, feats.get("dom", "logits").argmax(axis=1))


def image_nmi(feats, ctx) -> float:
    return nmi(feats.components, feats.get("dom", "logits").argmax(axis=1))


def _needs_mixture(spec) -> str | None:
    if spec.kind == "image":
        return None  # images: the domain classifier labels the samples
    return None if spec.mixture is not None else f"{spec.name} has no known mixture to align with"


_PROTOCOL = {"assignment": "MAP data Gaussian under the true mixture (images: the dom classifier's argmax)",
             "sampling": "sample(n / K, component=k) for each latent component k",
             "reads_alone": False}
register(Metric("latent_purity", latent_purity, higher_is_better=True, kind=("points", "image"),
                n_samples=N_SAMPLES, source="gm-gan §4.1 (alignment claim); purity is our measure of it",
                applies=_needs_mixture, needs_components=True, protocol=_PROTOCOL,
                from_features=image_purity, extractors=("dom",), bounds=fixed_bounds(0.0, 1.0)))  # share / NMI in [0, 1]
register(Metric("latent_nmi", latent_nmi, higher_is_better=True, kind=("points", "image"), n_samples=N_SAMPLES,
                source="gm-gan §4.1 (alignment claim); NMI (geometric) is our measure of it",
                applies=_needs_mixture, needs_components=True, protocol=_PROTOCOL,
                from_features=image_nmi, extractors=("dom",), bounds=fixed_bounds(0.0, 1.0)))  # share / NMI in [0, 1]
