"""Mode coverage on 2-D mixtures: modes covered, % high-quality samples, and KL over modes.

Stages: samples -> (N, K) "within 3σ of mode k" -> counts/shares -> numbers.
"""
from __future__ import annotations

import math

import numpy as np

from bench.data.base import GaussianMixture
from bench.metrics import Metric, fixed_bounds, register

N_SAMPLES = 2_500  # md-gan §6.1: "we sample G 2,500 times"
K_SIGMA = 3.0  # md-gan §6.1: a sample within 3σ of a mean is high quality


def within(samples: np.ndarray, mixture: GaussianMixture, k_sigma: float = K_SIGMA) -> np.ndarray:
    """(N, K) bool: sample n lies within k_sigma standard deviations of component k (Mahalanobis distance,
    which is the L2 distance in units of σ for the isotropic components the papers use)."""
    return mixture.mahalanobis_sq(samples) <= k_sigma**2


def modes_covered(samples: np.ndarray, spec) -> float:
    # md-gan §6.1: a mode is covered if at least one sample lies within 3σ of its mean.
    return float(within(samples, spec.mixture).any(axis=0).sum())


def hq_percent(samples: np.ndarray, spec) -> float:
    # md-gan §6.1: % of samples within 3σ of some mean ("% hq"); the true distribution gives 1 − e^{−4.5}.
    return 100.0 * float(within(samples, spec.mixture).any(axis=1).mean())


def hq_mode_shares(samples: np.ndarray, mixture: GaussianMixture) -> np.ndarray | None:
    """(K,): share of the high-quality samples whose nearest mode (Mahalanobis) is k; None if none is HQ."""
    d2 = mixture.mahalanobis_sq(samples)
    hq = (d2 <= K_SIGMA**2).any(axis=1)
    if not hq.any():
        return None
    counts = np.bincount(d2[hq].argmin(axis=1), minlength=mixture.n_components)
    return counts / counts.sum()


def mode_kl(samples: np.ndarray, spec) -> float:
    # VEEGAN/PacGAN-style: KL(q ‖ w) between the HQ samples' share per mode q and the true weights w.
    # 0 when modes are hit in proportion; log K for all samples in one of K equal modes. With no HQ sample
    # at all we return the largest value a distribution over modes can reach, −log min_k w_k (documented).
    w = spec.mixture.weights
    q = hq_mode_shares(samples, spec.mixture)
    if q is None:
        return float(-np.log(w.min()))
    nz = q > 0
    return float(np.sum(q[nz] * np.log(q[nz] / w[nz])))


def separated_modes(spec) -> str | None:
    """3σ counting needs the 3σ balls of the modes to be disjoint; say why not where they overlap (gm9)."""
    mix = spec.mixture
    if mix is None:
        return f"{spec.name} has no known mixture"
    s = mix.stds
    for i in range(mix.n_components):
        for j in range(i + 1, mix.n_components):
            if np.linalg.norm(mix.means[i] - mix.means[j]) <= K_SIGMA * (s[i] + s[j]):
                return (f"{spec.name}: the 3σ balls of modes {i} and {j} overlap, so 3σ mode counting is "
                        "meaningless (use nll)")
    return None


def mode_count_bounds(spec) -> tuple[float, float]:
    """modes: 0 to K, the dataset's number of mixture components."""
    return (0.0, float(spec.mixture.n_components))


def mode_kl_bounds(spec) -> tuple[float, float]:
    """KL(q ‖ w) = Σ q log q − Σ q log w ≤ −log min_k w_k: from 0 to what mode_kl gives with no HQ sample."""
    return (0.0, float(-np.log(spec.mixture.weights.min())))


_PROTOCOL = {"k_sigma": K_SIGMA, "distance": "Mahalanobis (= L2/σ for isotropic modes)"}

register(Metric("modes", modes_covered, higher_is_better=True, kind="points", n_samples=N_SAMPLES,
                source="md-gan §6.1", unit="modes", applies=separated_modes, protocol=_PROTOCOL,
                bounds=mode_count_bounds))
register(Metric("hq", hq_percent, higher_is_better=True, kind="points", n_samples=N_SAMPLES,
                source="md-gan §6.1", unit="%", applies=separated_modes,
                protocol={**_PROTOCOL, "oracle_value": 100 * (1 - math.exp(-K_SIGMA**2 / 2))},
                bounds=fixed_bounds(0.0, 100.0)))
register(Metric("mode_kl", mode_kl, higher_is_better=False, kind="points", n_samples=N_SAMPLES,
                source="VEEGAN/PacGAN-style KL over modes of HQ samples", unit="nats", applies=separated_modes,
                protocol={**_PROTOCOL, "direction": "KL(q_HQ ‖ w_true)",
                          "no_hq_samples": "−log min_k w_k (the maximum)"}, bounds=mode_kl_bounds))
