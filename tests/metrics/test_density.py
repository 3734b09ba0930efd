"""NLL of generated points under the true mixture (gm-gan Fig. 5): equal to a direct scipy computation, and
on true-mixture samples equal to the mixture's entropy, which a collapsed generator matches (or beats)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from bench.data import DataSpec, GaussianMixture, get_spec
from bench.metrics import get_metric

NLL = get_metric("nll")
N = 10_000
# Separated sets: modes ≥ 10σ apart, so the mixture entropy is H(w) + H(N(0, σ²I)) = log K + log(2πe σ²)
# up to overlap terms below e^{−15}.
SEPARATED = {"ring8_mgan": (8, 0.02), "ring8_mdgan": (8, 0.05**2), "grid25": (25, 0.05**2),
             "deligan_uni": (1, 0.3**2), "deligan_bimodal": (2, 0.15**2)}


def _entropy(k: int, var: float) -> float:
    return math.log(k) + math.log(2 * math.pi * math.e * var)


def _scipy_nll(mix: GaussianMixture, x: np.ndarray) -> float:
    comp = np.stack([np.log(mix.weights[k]) + stats.multivariate_normal(mix.means[k], mix.covs[k]).logpdf(x)
                     for k in range(mix.n_components)], axis=1)
    return float(-logsumexp(comp, axis=1).mean())


def _mc_tolerance(x: np.ndarray, spec) -> float:
    """4 Monte-Carlo standard errors of the mean of −log p over the samples the metric uses."""
    lp = spec.mixture.log_prob(x[:N])
    return 4 * lp.std(ddof=1) / math.sqrt(len(lp))


def test_record_uses_10000_samples_lower_is_better_and_applies_to_every_point_set():
    assert NLL.n_samples == 10_000 and NLL.higher_is_better is False
    for name in ("ring8_mgan", "ring8_mdgan", "grid25", "gm9", "deligan_uni", "deligan_bimodal"):
        assert NLL.not_applicable(get_spec(name)) is None
    assert NLL.not_applicable(DataSpec(name="x", kind="points", shape=(2,), n_classes=1)) is not None


@pytest.mark.parametrize("name", ["grid25", "gm9", "anisotropic"])
def test_nll_equals_direct_scipy_computation_on_hand_points(name):
    if name == "anisotropic":  # full covariances and unequal weights
        mix = GaussianMixture(np.array([[0.0, 0.0], [2.0, 1.0]]),
                              np.array([[[1.0, 0.6], [0.6, 0.5]], [[0.3, -0.1], [-0.1, 0.2]]]),
                              np.array([0.7, 0.3]))
        spec = DataSpec(name="aniso", kind="points", shape=(2,), n_classes=2, mixture=mix)
    else:
        spec = get_spec(name)
    x = np.array([[0.0, 0.0], [0.1, -0.05], [-4.0, -4.0], [1.0, 1.0], [2.5, -3.3], [7.0, 7.0], [-0.6, 0.9]])
    # Same formula both ways in float64: ~1e-15 relative; 1e-10 leaves room for summation order.
    assert NLL(x, spec) == pytest.approx(_scipy_nll(spec.mixture, x), rel=1e-10)


def test_nll_of_one_point_at_a_grid25_mean_is_known_in_closed_form():
    # At a mean, p = (1/25)·1/(2πσ²) (other modes ≥ 40σ away contribute < e^{−800}).
    spec = get_spec("grid25")
    expected = math.log(25) + math.log(2 * math.pi * 0.05**2)
    assert NLL(spec.mixture.means[7:8], spec) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", list(SEPARATED))
def test_oracle_nll_is_the_mixture_entropy(name, oracle_samples):
    spec = get_spec(name)
    x = oracle_samples(name, N, 2)
    # −log p(x) = log K + log(2πσ²) + r²/2 with r² ~ χ²₂: std ≈ 1, so 4 standard errors ≈ 0.04.
    assert NLL(x, spec) == pytest.approx(_entropy(*SEPARATED[name]), abs=_mc_tolerance(x, spec))


def test_oracle_nll_on_overlapping_gm9_is_its_entropy_estimated_with_scipy(oracle_samples):
    # No closed form where modes overlap: reference entropy from 200,000 independent points, scored with
    # scipy (MC error ≈ 1/√200,000 ≈ 0.002, small beside the 10,000-sample tolerance of ≈ 0.045).
    spec = get_spec("gm9")
    ref = _scipy_nll(spec.mixture, oracle_samples("gm9", 200_000, 99))
    x = oracle_samples("gm9", N, 3)
    assert NLL(x, spec) == pytest.approx(ref, abs=_mc_tolerance(x, spec))
    # Known bounds: above a component's entropy log(2πe·0.1) ≈ 0.535, below the Gaussian of the same
    # covariance, per-axis variance 0.1 + 2/3: log(2πe·0.7667) ≈ 2.573 (itself below the separated-modes
    # value log 9 + log(2πe·0.1) ≈ 2.733: overlap lowers it). Measured ≈ 2.36.
    assert math.log(2 * math.pi * math.e * 0.1) < ref < math.log(2 * math.pi * math.e * (0.1 + 2 / 3))


def test_collapsed_generator_scores_the_oracles_nll_on_ring8_mgan(oracle_samples, collapsed_samples):
    # One mode's samples: −log p = log 8 + (−log N(x; μ₀, 0.02·I)), whose mean is log 8 + the single
    # Gaussian's entropy — the same value as the oracle's. NLL alone cannot see that 7 modes are missing.
    spec = get_spec("ring8_mgan")
    expected = math.log(8) + math.log(2 * math.pi * math.e * 0.02)  # ≈ 1.005
    xc, xo = collapsed_samples("ring8_mgan", N), oracle_samples("ring8_mgan", N)
    assert NLL(xc, spec) == pytest.approx(expected, abs=_mc_tolerance(xc, spec))
    assert NLL(xo, spec) == pytest.approx(expected, abs=_mc_tolerance(xo, spec))


def test_a_generator_sitting_on_one_peak_beats_the_oracle():
    # Every sample at mode 0's mean: NLL = log 8 + log(2π·0.02) ≈ 0.0146, a full nat below the oracle's
    # ≈ 1.005 (the 'e' of the entropy is gone: −log N at the peak drops the r²/2 term, mean 1).
    spec = get_spec("ring8_mgan")
    x = np.repeat(spec.mixture.means[:1], 100, axis=0)
    assert NLL(x, spec) == pytest.approx(math.log(8) + math.log(2 * math.pi * 0.02), rel=1e-10)


def test_record_truncates_to_10000_samples(oracle_samples):
    spec = get_spec("grid25")
    x = oracle_samples("grid25", N, 4)
    assert NLL(np.concatenate([x, np.full((500, 2), 50.0)]), spec) == NLL(x, spec)
