"""Symmetric KL and Wasserstein-1 between 2-D histograms of generated points and the true mixture (mgan §5.1).

MGAN states only "normalized histograms of 10,000 points"; our documented choices (`HIST_PROTOCOL`):
- range: per axis [min μ − pad, max μ + pad], pad = 0.2·span(μ) + 4·max σ; 21×21 bins (odd, so a mixture
  symmetric about 0 has a bin centred on 0). Points outside the range are clipped into the edge bins, and
  the true histogram's edge bins extend to ±∞, so no mass is lost on either side.
- true histogram: exact bin masses of the known mixture (products of 1-D normal CDFs; diagonal covariances).
- symmetric KL: ½(KL(p‖q) + KL(q‖p)) after adding ε = 1e-6 to every bin of both and renormalising
  (ε is a hundredth of one point's mass at n = 10,000, so an empty bin still differs from a bin with one point).
- W1: exact earth mover's distance between the bin masses with Euclidean ground cost between bin centres
  (POT's network-simplex solver `ot.emd2`), in data units.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from bench.metrics import Metric, fixed_bounds, register

N_SAMPLES = 10_000  # mgan §5.1: histograms of 10,000 generated points
N_BINS = 21
EPS = 1e-6
HIST_PROTOCOL = {"bins": f"{N_BINS}x{N_BINS}", "range": "[min μ − pad, max μ + pad], pad = 0.2·span + 4·max σ",
                 "outside_range": "clipped into edge bins", "true_histogram": "exact bin masses",
                 "eps": EPS}


def bin_edges(spec) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges per axis (N_BINS + 1 each) from the mixture's means and stds."""
    mix = spec.mixture
    lo, hi = mix.means.min(axis=0), mix.means.max(axis=0)
    pad = 0.2 * (hi - lo) + 4.0 * mix.stds.max()
    return tuple(np.linspace(lo[a] - pad[a], hi[a] + pad[a], N_BINS + 1) for a in range(2))


def sample_histogram(samples: np.ndarray, edges) -> np.ndarray:
    """(B, B) normalised counts; points outside the range land in the edge bins."""
    idx = [np.clip(np.searchsorted(e, samples[:, a], side="right") - 1, 0, N_BINS - 1)
           for a, e in enumerate(edges)]
    h = np.bincount(idx[0] * N_BINS + idx[1], minlength=N_BINS * N_BINS).astype(np.float64)
    return (h / h.sum()).reshape(N_BINS, N_BINS)


_TRUE_HIST_CACHE: dict[bytes, np.ndarray] = {}


def true_histogram(spec) -> np.ndarray:
    """(B, B) exact bin masses of the mixture (edge bins open to ±∞). Needs diagonal covariances.
    Cached by the mixture's content: it is the same for every evaluation of a dataset."""
    mix = spec.mixture
    key = mix.means.tobytes() + mix.covs.tobytes() + mix.weights.tobytes()
    if key not in _TRUE_HIST_CACHE:
        _TRUE_HIST_CACHE[key] = _true_histogram(spec)
    return _TRUE_HIST_CACHE[key]


def _true_histogram(spec) -> np.ndarray:
    mix = spec.mixture
    off_diag = mix.covs - np.einsum("kii->ki", mix.covs)[:, :, None] * np.eye(mix.dim)
    if np.abs(off_diag).max() > 0:
        raise ValueError(f"{spec.name}: exact bin masses need diagonal covariances")
    edges = bin_edges(spec)
    p = np.zeros((N_BINS, N_BINS))
    for k in range(mix.n_components):
        axis_mass = []
        for a in range(2):
            e = edges[a].copy()
            e[0], e[-1] = -np.inf, np.inf
            cdf = ndtr((e - mix.means[k, a]) / np.sqrt(mix.covs[k, a, a]))
            axis_mass.append(np.diff(cdf))
        p += mix.weights[k] * np.outer(axis_mass[0], axis_mass[1])
    return p / p.sum()


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p‖q) for strictly positive, normalised arrays."""
    return float(np.sum(p * np.log(p / q)))


def smooth(h: np.ndarray, eps: float = EPS) -> np.ndarray:
    h = h + eps
    return h / h.sum()


def sym_kl(samples: np.ndarray, spec) -> float:
    # mgan §5.1: symmetric KL = average of KL and reverse KL between the two normalised histograms.
    p = smooth(true_histogram(spec))
    q = smooth(sample_histogram(samples, bin_edges(spec)))
    return 0.5 * (kl(p, q) + kl(q, p))


def bin_centres(spec) -> np.ndarray:
    """(B·B, 2) centres of the bins in the flattened (row = x bin, column = y bin) order."""
    cx, cy = ((e[:-1] + e[1:]) / 2 for e in bin_edges(spec))
    gx, gy = np.meshgrid(cx, cy, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def w1(samples: np.ndarray, spec) -> float:
    # mgan §5.1: Wasserstein distance between the histograms; exact EMD, Euclidean ground cost (POT).
    import ot

    c = bin_centres(spec)
    cost = ot.dist(c, c, metric="euclidean")
    p = true_histogram(spec).ravel()
    q = sample_histogram(samples, bin_edges(spec)).ravel()
    return float(ot.emd2(p, q, cost, numItermax=1_000_000))


def _needs_diag_mixture(spec) -> str | None:
    if spec.mixture is None or spec.mixture.dim != 2:
        return f"{spec.name} has no known 2-D mixture"
    return None


register(Metric("sym_kl", sym_kl, higher_is_better=False, kind="points", n_samples=N_SAMPLES,
                source="mgan §5.1", unit="nats", applies=_needs_diag_mixture, protocol=HIST_PROTOCOL,
                bounds=fixed_bounds(0.0, None)))  # a (symmetrised) KL divergence is >= 0
register(Metric("w1", w1, higher_is_better=False, kind="points", n_samples=N_SAMPLES,
                source="mgan §5.1", unit="data units", applies=_needs_diag_mixture,
                protocol={**HIST_PROTOCOL, "eps": "none (exact masses)", "solver": "ot.emd2, Euclidean cost"},
                bounds=fixed_bounds(0.0, None)))  # a distance is >= 0
