"""The six 2-D datasets carry the parameters their papers (or the authors' code) state, their training sets
are labelled by component and reproducible from the seed, and the mixture primitives they rest on
(`log_prob`, `sample`, `balanced_components`) agree with scipy and with sampling theory."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

from bench.data import GaussianMixture, PointData, get_spec
from bench.registry import DATASETS

S2 = math.sqrt(2.0)
# Ring of radius 2, mode k at angle k·45°, written out by hand (mode 0 on the positive x axis).
RING = [(2, 0), (S2, S2), (0, 2), (-S2, S2), (-2, 0), (-S2, -S2), (0, -2), (S2, -S2)]
GRID25 = list(itertools.product([-4, -2, 0, 2, 4], repeat=2))  # mode 0 = (−4, −4)
GM9 = list(itertools.product([-1, 0, 1], repeat=2))

# name: (means, per-axis variance, n_train, points per component in the fixed training set)
EXPECTED = {
    "ring8_mgan": (RING, 0.02, None, None),  # MGAN: covariance 0.02·I, fresh samples every step
    "ring8_mdgan": (RING, 0.05**2, 10_000, [1250] * 8),  # MD-GAN: std 0.05
    "grid25": (GRID25, 0.05**2, 10_000, [400] * 25),  # MD-GAN code: 400 per mode
    "gm9": (GM9, 0.1, 5_000, None),  # GM-GAN: covariance 0.1·I; 5,000 = 9·555 + 5 (checked below)
    "deligan_uni": ([(0, 0)], 0.3**2, 400, [400]),  # DeLiGAN code: N(0, 0.3²I)
    "deligan_bimodal": ([(0.6, 0.6), (-0.6, -0.6)], 0.15**2, 400, [200, 200]),  # ±(0.6, 0.6), std 0.15
}
SEPARATED_FIXED = ["ring8_mdgan", "grid25", "deligan_bimodal"]  # means ≥ 11σ apart: nearest mean = label


def test_registry_holds_exactly_the_six_point_sets():
    point_sets = {n for n in DATASETS.names() if get_spec(n).kind == "points"}
    assert point_sets == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_dataset_parameters_are_the_documented_ones(name):
    means, var, n_train, _ = EXPECTED[name]
    spec = get_spec(name)
    mix = spec.mixture
    k = len(means)
    assert (spec.name, spec.kind, spec.shape, spec.n_classes, spec.n_train) == (name, "points", (2,), k, n_train)
    # Means are written by hand above; cos/sin of multiples of 45° are exact to ~1e-15.
    np.testing.assert_allclose(mix.means, np.array(means, dtype=float), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mix.covs, np.tile(var * np.eye(2), (k, 1, 1)), rtol=1e-12, atol=0)
    np.testing.assert_allclose(mix.stds, np.full(k, math.sqrt(var)), rtol=1e-12)
    np.testing.assert_allclose(mix.weights, np.full(k, 1.0 / k), rtol=1e-12)


def test_ring_radius_is_two_for_both_rings():
    for name in ("ring8_mgan", "ring8_mdgan"):
        r = np.linalg.norm(get_spec(name).mixture.means, axis=1)
        assert r == pytest.approx(np.full(8, 2.0), rel=1e-12)


@pytest.mark.parametrize("name", [n for n in EXPECTED if EXPECTED[n][2] is not None])
def test_training_set_has_documented_size_and_counts_per_component(name):
    _, _, n_train, counts = EXPECTED[name]
    data = PointData(get_spec(name), seed=0)
    assert tuple(data.x.shape) == (n_train, 2) and tuple(data.y.shape) == (n_train,)
    assert data.x.dtype == torch.float32 and data.y.dtype == torch.int64
    got = np.bincount(data.y.numpy(), minlength=len(EXPECTED[name][0]))
    if counts is not None:
        assert got.tolist() == counts
    else:  # gm9: 5,000 points in shares as equal as they can be: five Gaussians get 556, four get 555
        assert sorted(got.tolist()) == [555] * 4 + [556] * 5


@pytest.mark.parametrize("name", SEPARATED_FIXED)
def test_every_training_point_is_nearest_to_its_labels_mean(name):
    # Means are ≥ 11.3σ apart (deligan_bimodal: 1.70/0.15), so a point is nearer another mean with
    # probability < Φ(−5.6) ≈ 1e-8 per point: every label must equal the nearest mean.
    spec = get_spec(name)
    data = PointData(spec, seed=3)
    x, y = data.x.double().numpy(), data.y.numpy()
    nearest = np.linalg.norm(x[:, None, :] - spec.mixture.means[None], axis=2).argmin(axis=1)
    np.testing.assert_array_equal(nearest, y)


@pytest.mark.parametrize("name", [n for n in EXPECTED if EXPECTED[n][2] is not None])
def test_training_points_of_each_label_have_their_components_mean_and_variance(name):
    # Holds also where modes overlap (gm9). Tolerances: 5 standard errors, σ/√n_k for a mean,
    # σ²·√(2/(n_k−1)) for a variance (Gaussian data).
    spec = get_spec(name)
    data = PointData(spec, seed=1)
    x, y = data.x.double().numpy(), data.y.numpy()
    sigma = spec.mixture.stds
    for k in range(spec.mixture.n_components):
        xk = x[y == k]
        n_k = len(xk)
        assert xk.mean(axis=0) == pytest.approx(spec.mixture.means[k], abs=5 * sigma[k] / math.sqrt(n_k))
        var_tol = 5 * sigma[k] ** 2 * math.sqrt(2 / (n_k - 1))
        assert xk.var(axis=0, ddof=1) == pytest.approx(np.full(2, sigma[k] ** 2), abs=var_tol)


@pytest.mark.parametrize("name", [n for n in EXPECTED if EXPECTED[n][2] is not None])
def test_training_set_is_a_function_of_the_seed(name):
    spec = get_spec(name)
    a, b, c = PointData(spec, seed=7), PointData(spec, seed=7), PointData(spec, seed=8)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.allclose(a.x, c.x)
    # Labels are the balanced block order, the same for every seed; only the points differ.
    assert torch.equal(a.y, c.y)
    assert torch.equal(a.y, torch.sort(a.y).values)


def test_fixed_set_batches_are_rows_of_the_training_set():
    data = PointData(get_spec("deligan_bimodal"), seed=0)
    xb, yb = data.batch(64, torch.Generator().manual_seed(0))
    # Each batch row equals some training row exactly, and carries that row's label.
    match = (xb[:, None, :] == data.x[None, :, :]).all(dim=2)  # (64, 400)
    assert match.any(dim=1).all()
    rows = match.float().argmax(dim=1)
    assert torch.equal(yb, data.y[rows])


def test_fresh_sampling_set_draws_from_the_generator_each_batch():
    data = PointData(get_spec("ring8_mgan"), seed=0)
    assert data.x is None and data.y is None  # n_train None: no fixed set
    x1, y1 = data.batch(256, torch.Generator().manual_seed(5))
    x2, y2 = data.batch(256, torch.Generator().manual_seed(5))
    x3, _ = data.batch(256, torch.Generator().manual_seed(6))
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.allclose(x1, x3)
    # Fresh points sit within 6σ of their own component's mean (σ = √0.02; P(r > 6σ) = e^{−18} per point).
    means = torch.as_tensor(data.spec.mixture.means, dtype=torch.float32)
    assert ((x1 - means[y1]).norm(dim=1) < 6 * math.sqrt(0.02)).all()


# -- GaussianMixture primitives -------------------------------------------------------------------------
def _anisotropic() -> GaussianMixture:
    """A full-covariance, unequal-weight mixture: catches a transposed Cholesky factor or a wrong weight."""
    means = np.array([[0.0, 0.0], [3.0, -1.0], [-2.0, 4.0]])
    covs = np.array([[[1.0, 0.8], [0.8, 1.0]], [[0.5, -0.3], [-0.3, 2.0]], [[0.2, 0.0], [0.0, 0.05]]])
    return GaussianMixture(means, covs, np.array([0.2, 0.5, 0.3]))


def _scipy_log_prob(mix: GaussianMixture, x: np.ndarray) -> np.ndarray:
    comp = np.stack([np.log(mix.weights[k]) + stats.multivariate_normal(mix.means[k], mix.covs[k]).logpdf(x)
                     for k in range(mix.n_components)], axis=1)
    return logsumexp(comp, axis=1)


@pytest.mark.parametrize("name", list(EXPECTED) + ["anisotropic"])
def test_log_prob_matches_scipy_mixture_density(name):
    mix = _anisotropic() if name == "anisotropic" else get_spec(name).mixture
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(scale=3.0, size=(500, 2)),  # across the support
                        mix.means + 0.01,  # at the peaks
                        np.array([[40.0, -35.0], [-60.0, 0.0]])])  # far away: needs the log-sum-exp
    # Same formula in float64 both ways: agreement to ~1e-13 relative; 1e-10 leaves room for rounding.
    np.testing.assert_allclose(mix.log_prob(x), _scipy_log_prob(mix, x), rtol=1e-10, atol=0)
    assert np.isfinite(mix.log_prob(x)).all()


def test_sample_matches_weights_means_and_covariances():
    mix = _anisotropic()
    n = 200_000
    x, y = mix.sample(n, torch.Generator().manual_seed(0))
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and tuple(x.shape) == (n, 2)
    x, y = x.double().numpy(), y.numpy()
    freq = np.bincount(y, minlength=3) / n
    # Binomial: 5 standard deviations sqrt(w(1−w)/n) ≈ 5·0.001.
    assert freq == pytest.approx(mix.weights, abs=5 * math.sqrt(0.25 / n))
    for k in range(3):
        xk = x[y == k]
        nk = len(xk)
        cov = mix.covs[k]
        se_mean = np.sqrt(np.diag(cov) / nk)
        assert np.all(np.abs(xk.mean(axis=0) - mix.means[k]) < 5 * se_mean)
        # Standard error of a sample covariance entry: sqrt((Σ_ii Σ_jj + Σ_ij²) / n).
        se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / nk)
        assert np.all(np.abs(np.cov(xk.T) - cov) < 5 * se_cov), (k, np.cov(xk.T), cov)


def test_sample_with_given_components_keeps_them_and_reproduces_with_the_seed():
    mix = get_spec("grid25").mixture
    comps = torch.tensor([24, 0, 0, 7, 12])
    x1, y1 = mix.sample(5, torch.Generator().manual_seed(1), components=comps)
    x2, _ = mix.sample(5, torch.Generator().manual_seed(1), components=comps)
    assert torch.equal(y1, comps) and torch.equal(x1, x2)
    # std 0.05: every point within 6σ = 0.3 of its given mean.
    assert np.all(np.linalg.norm(x1.double().numpy() - mix.means[comps.numpy()], axis=1) < 0.3)


@pytest.mark.parametrize("weights, n, counts", [
    ([0.5, 0.3, 0.2], 10, [5, 3, 2]),  # exact
    ([0.55, 0.3, 0.15], 7, [4, 2, 1]),  # raw 3.85, 2.1, 1.05 -> floors 3, 2, 1; the spare to the 0.85 remainder
    ([0.46, 0.34, 0.2], 10, [5, 3, 2]),  # raw 4.6, 3.4, 2.0 -> the spare to 0.6
    ([0.1, 0.2, 0.3, 0.4], 3, [0, 1, 1, 1]),  # raw 0.3, 0.6, 0.9, 1.2 -> 0, 0, 0, 1 + spares to .9 and .6
])
def test_balanced_components_gives_largest_remainder_counts_in_block_order(weights, n, counts):
    means = np.arange(2 * len(weights), dtype=float).reshape(-1, 2) * 10
    comps = GaussianMixture.isotropic(means, 1.0, weights).balanced_components(n).numpy()
    assert np.bincount(comps, minlength=len(weights)).tolist() == counts
    np.testing.assert_array_equal(comps, np.repeat(np.arange(len(weights)), counts))


def test_balanced_components_of_equal_weights_differ_by_at_most_one():
    comps = get_spec("gm9").mixture.balanced_components(5_000).numpy()
    assert len(comps) == 5_000
    assert sorted(np.bincount(comps).tolist()) == [555] * 4 + [556] * 5


def test_mixture_rejects_inconsistent_shapes_and_unnormalised_weights():
    with pytest.raises(ValueError, match="inconsistent"):
        GaussianMixture(np.zeros((2, 2)), np.tile(np.eye(2), (3, 1, 1)), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="sum to 1"):
        GaussianMixture.isotropic(np.zeros((2, 2)), 1.0, [0.5, 0.6])


def _cholesky_sample(mix: GaussianMixture, n: int, generator: torch.Generator):
    """The general path, written out: y ~ Categorical(w), x = μ_y + L_y ε with L = cholesky(Σ), float64."""
    comps = torch.multinomial(torch.as_tensor(mix.weights), n, replacement=True, generator=generator)
    eps = torch.randn(n, mix.dim, generator=generator, dtype=torch.float64)
    L = torch.as_tensor(np.linalg.cholesky(mix.covs))[comps]
    return (torch.as_tensor(mix.means)[comps] + torch.einsum("nij,nj->ni", L, eps)).float(), comps


@pytest.mark.parametrize("name", ["ring8_mgan", "grid25", "gm9", "deligan_bimodal"])
def test_isotropic_sampling_gives_the_cholesky_paths_values_bit_for_bit(name):
    """μ + σ ε (the isotropic fast path) draws the same random numbers as μ + L ε and gives the same floats:
    training batches, and so every result, are unchanged by it."""
    mix = get_spec(name).mixture
    x, y = mix.sample(4096, torch.Generator().manual_seed(3))
    x_ref, y_ref = _cholesky_sample(mix, 4096, torch.Generator().manual_seed(3))
    assert torch.equal(y, y_ref) and torch.equal(x, x_ref)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    mix.sample(100, g1)
    _cholesky_sample(mix, 100, g2)
    assert torch.equal(g1.get_state(), g2.get_state())  # the generator advanced by exactly the same draws


def test_anisotropic_sampling_keeps_the_cholesky_path():
    mix = _anisotropic()
    x, y = mix.sample(1000, torch.Generator().manual_seed(2))
    x_ref, y_ref = _cholesky_sample(mix, 1000, torch.Generator().manual_seed(2))
    assert torch.equal(y, y_ref) and torch.equal(x, x_ref)  # the cached factor is the same cholesky(Σ)
