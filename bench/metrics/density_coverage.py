"""Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models",
§3 Eq. 3–4) on the domain classifier's features. torch-fidelity has no density/coverage, so this is our own
implementation (the authors' `prdc` package is not a dependency); it is tested against a direct numpy
computation on small sets and against the real-vs-real expectations.

With real features X (N) and generated Y (M), r_i = distance from X_i to its k-th nearest other real point:
  density  = 1/(kM) Σ_j Σ_i 1[‖Y_j − X_i‖ ≤ r_i]      (≈ 1 when Y ~ the real distribution)
  coverage = 1/N Σ_i 1[∃ j: ‖Y_j − X_i‖ ≤ r_i]
             (real vs real: E = 1 − Π_{t<k} (N−1−t)/(M+N−1−t) ≈ 1 − 2^−k)
Distances in row blocks (BLOCK × N float32), so 10,000 × 10,000 needs ~ 40 MB, never the full matrix.
Protocol: k = 5 (Naeem et al.'s recommendation), 10,000 generated vs 10,000 real training features (fixed subset).
"""
from __future__ import annotations

import numpy as np
import torch

from bench.metrics import Metric, register

N_SAMPLES = 10_000
K = 5  # Naeem et al. 2020 §4: k = 5
BLOCK = 1_000


def knn_radii(real: torch.Tensor, k: int = K, block: int = BLOCK) -> torch.Tensor:
    """(N,): distance from each real point to its k-th nearest other real point (self excluded)."""
    out = []
    for i in range(0, len(real), block):
        d = torch.cdist(real[i:i + block], real)  # (b, N), the self-distance 0 is among them
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, -1])  # the (k+1)-th smallest; topk ≫ kthvalue
    return torch.cat(out)


def density_coverage(gen: np.ndarray, real: np.ndarray, k: int = K, block: int = BLOCK) -> dict:
    # Naeem et al. 2020 Eq. 3 (density) and Eq. 4 (coverage), with k-NN balls around the REAL points.
    x, y = torch.from_numpy(np.ascontiguousarray(real)), torch.from_numpy(np.ascontiguousarray(gen))
    r = knn_radii(x, k, block)  # (N,)
    inside_count = 0.0
    covered = torch.zeros(len(x), dtype=torch.bool)
    for j in range(0, len(y), block):
        inside = torch.cdist(y[j:j + block], x) <= r[None, :]  # (b, N): Y_j inside ball i
        inside_count += float(inside.sum())
        covered |= inside.any(dim=0)
    return {"density": inside_count / (k * len(y)), "coverage": float(covered.double().mean())}


def _reader(which: str):
    def fn(feats, ctx) -> float:
        key = ("dc", feats.n)
        if key not in feats.cache:  # density and coverage come from one computation
            feats.cache[key] = density_coverage(feats.get("dom"), ctx.real_subset("dom", "train", min(N_SAMPLES, feats.n)))
        return feats.cache[key][which]
    return fn


_PROTOCOL = {"extractor": "dom", "k": K, "n_real": N_SAMPLES, "real_split": "train",
             "implementation": "ours (torch-fidelity has none), blocked torch.cdist"}
register(Metric("density_dom", None, higher_is_better=True, kind="image", n_samples=N_SAMPLES,
                source="Naeem et al. 2020 Eq. 3", from_features=_reader("density"), extractors=("dom",),
                protocol=_PROTOCOL))
register(Metric("coverage_dom", None, higher_is_better=True, kind="image", n_samples=N_SAMPLES,
                source="Naeem et al. 2020 Eq. 4", from_features=_reader("coverage"), extractors=("dom",),
                protocol=_PROTOCOL))
