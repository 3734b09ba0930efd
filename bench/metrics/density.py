"""Negative log-likelihood of generated points under the true 2-D mixture (gm-gan Fig. 5).

Precision-like: a generator that puts every sample on one mode's peak scores *better* than the true
distribution (whose NLL is the mixture's entropy), so it is never read without a coverage metric.
"""
from __future__ import annotations

import numpy as np

from bench.metrics import Metric, register, unbounded

N_SAMPLES = 10_000  # gm-gan Fig. 5 states no count; 10,000, as the histogram metrics


def nll(samples: np.ndarray, spec) -> float:
    # gm-gan Fig. 5: −(1/N) Σ_n log p_data(x_n), p_data the known true mixture.
    return float(-np.mean(spec.mixture.log_prob(samples)))


def _needs_mixture(spec) -> str | None:
    return None if spec.mixture is not None else f"{spec.name} has no known density"


register(Metric("nll", nll, higher_is_better=False, kind="points", n_samples=N_SAMPLES,
                source="gm-gan Fig. 5", unit="nats", applies=_needs_mixture,
                protocol={"reads_alone": False, "oracle_value": "the mixture's entropy"},
                bounds=unbounded))  # a density can exceed 1, so −log p(x) has no floor (and no ceiling)
