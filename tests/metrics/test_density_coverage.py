"""Density and coverage (Naeem et al. 2020): a direct numpy computation, real-vs-real expectations, blocks."""
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from bench.metrics.density_coverage import density_coverage


def direct(gen, real, k):
    """Naeem et al. Eq. 3–4 from full distance matrices (numpy/scipy)."""
    rr = cdist(real, real)
    r = np.sort(rr, axis=1)[:, k]  # column 0 is the point itself
    inside = cdist(gen, real) <= r[None, :]
    return {"density": inside.sum() / (k * len(gen)), "coverage": inside.any(axis=0).mean()}


def test_equals_a_direct_numpy_computation_on_small_sets():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((300, 4)).astype(np.float32)
    gen = (rng.standard_normal((250, 4)) * 1.3 + 0.4).astype(np.float32)
    want = direct(gen.astype(np.float64), real.astype(np.float64), 5)
    for block in (7, 1000):  # independent of the block size
        got = density_coverage(gen, real, k=5, block=block)
        # float32 torch.cdist vs float64 scipy: a point exactly on a ball's edge could flip; none does here
        assert got["density"] == pytest.approx(want["density"], abs=1e-12)
        assert got["coverage"] == pytest.approx(want["coverage"], abs=1e-12)


def test_real_vs_real_is_one_in_expectation_and_collapse_is_low():
    rng = np.random.default_rng(1)
    real, other = (rng.standard_normal((2000, 8)).astype(np.float32) for _ in range(2))
    got = density_coverage(other, real)
    # Naeem et al. §3.2: E[density] = 1; E[coverage] = 1 − Π_{t<k} (N−1−t)/(M+N−1−t) ≈ 1 − 2^-5 (M = N)
    n = m = 2000
    cov_expect = 1 - np.prod([(n - 1 - t) / (m + n - 1 - t) for t in range(5)])
    assert got["density"] == pytest.approx(1.0, abs=0.06)  # sd of the mean over 2,000 samples ~ 0.02
    assert got["coverage"] == pytest.approx(cov_expect, abs=0.015)  # binomial sd at N = 2,000: 0.004
    collapsed = np.repeat(other[:1], 2000, axis=0)
    low = density_coverage(collapsed, real)
    assert low["coverage"] < 0.01
