"""Histogram metrics of mgan §5.1 under our documented protocol (21×21 bins, range from the means and stds,
ε = 1e-6, exact bin masses, exact EMD): the binning against numpy, the true masses against Monte Carlo,
sym_kl against a direct computation, w1 against hand cases and a linear-programming solve of the same
transport problem, and both on oracle vs collapsed samples."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog
from scipy.stats import entropy

from bench.data import DataSpec, GaussianMixture, get_spec
from bench.metrics import get_metric
from bench.metrics.histograms import N_BINS, bin_centres, bin_edges, sample_histogram, true_histogram

SYM_KL, W1 = get_metric("sym_kl"), get_metric("w1")
N = 10_000
EPS = 1e-6  # documented smoothing (HIST_PROTOCOL["eps"])
POINT_SETS = ["ring8_mgan", "ring8_mdgan", "grid25", "gm9", "deligan_uni", "deligan_bimodal"]


def _point_mass_spec(std: float = 1e-4) -> tuple[DataSpec, float]:
    """All true mass at (1, 1), the centre of bin (10, 10); weight-0 modes at (0, 0) and (2, 2) only set the
    range. Returns the spec and the bin width, by hand: span 2, pad 0.2·2 + 4σ, width (2 + 2·pad)/21."""
    mix = GaussianMixture.isotropic([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], std, [0.0, 1.0, 0.0])
    spec = DataSpec(name="point_mass", kind="points", shape=(2,), n_classes=3, mixture=mix)
    return spec, (2 + 2 * (0.4 + 4 * std)) / 21


def _hist2d(x: np.ndarray, edges) -> np.ndarray:
    """Reference binning: numpy's histogram2d with the outer edges opened (points outside -> edge bins)."""
    ex, ey = (np.concatenate([[-1e300], e[1:-1], [1e300]]) for e in edges)
    h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[ex, ey])
    return h / h.sum()


# -- protocol: records, edges, binning ------------------------------------------------------------------
def test_records_use_10000_samples_and_apply_to_every_point_set():
    assert SYM_KL.n_samples == W1.n_samples == 10_000
    assert not SYM_KL.higher_is_better and not W1.higher_is_better
    assert SYM_KL.describe()["eps"] == EPS
    for name in POINT_SETS:
        assert SYM_KL.not_applicable(get_spec(name)) is None and W1.not_applicable(get_spec(name)) is None


def test_bin_edges_by_hand():
    # grid25: means in [−4, 4], pad = 0.2·8 + 4·0.05 = 1.8 -> [−5.8, 5.8]; deligan_uni: pad = 4·0.3 = 1.2.
    for name, half in (("grid25", 5.8), ("deligan_uni", 1.2)):
        ex, ey = bin_edges(get_spec(name))
        np.testing.assert_allclose(ex, np.linspace(-half, half, 22), rtol=0, atol=1e-12)
        np.testing.assert_allclose(ey, ex, rtol=0, atol=0)
    # 21 bins: the middle bin of a range symmetric about 0 is centred on 0.
    c = bin_centres(get_spec("grid25"))
    assert c[10 * N_BINS + 10] == pytest.approx([0.0, 0.0], abs=1e-12)
    # Flattened order: row = x bin, column = y bin.
    assert c[1, 0] == c[0, 0] and c[N_BINS, 0] > c[0, 0]


def test_sample_histogram_equals_numpy_histogram2d_inside_the_range():
    spec = get_spec("ring8_mgan")
    edges = bin_edges(spec)
    x = np.random.default_rng(0).uniform(edges[0][0], edges[0][-1], size=(5_000, 2))
    ref, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=list(edges))
    np.testing.assert_allclose(sample_histogram(x, edges), ref / len(x), rtol=0, atol=1e-15)


def test_out_of_range_points_land_in_the_edge_bins():
    spec = get_spec("grid25")
    edges = bin_edges(spec)
    x = np.array([[-100.0, 0.0], [100.0, 100.0], [0.0, -100.0], [-1e9, 1e9], [5.8, 5.8]])
    h = sample_histogram(x, edges) * len(x)
    expected = np.zeros((N_BINS, N_BINS))
    for i, j in [(0, 10), (20, 20), (10, 0), (0, 20), (20, 20)]:  # the top edge 5.8 is in the last bin
        expected[i, j] += 1
    np.testing.assert_allclose(h, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sample_histogram(x, edges), _hist2d(x, edges), rtol=0, atol=1e-15)


def test_bins_are_half_open_like_numpy():
    spec = get_spec("grid25")
    edges = bin_edges(spec)
    e = edges[0]
    x = np.array([[e[11], e[3]], [e[0], e[20]]])  # points exactly on edges: [e_i, e_i+1) holds e_i
    h = sample_histogram(x, edges) * len(x)
    assert h[11, 3] == 1 and h[0, 20] == 1
    np.testing.assert_allclose(sample_histogram(x, edges), _hist2d(x, edges), rtol=0, atol=1e-15)


# -- true histogram ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", POINT_SETS)
def test_true_histogram_matches_a_million_point_monte_carlo(name, oracle_samples):
    spec = get_spec(name)
    p = true_histogram(spec)
    assert p.shape == (N_BINS, N_BINS) and p.min() >= 0
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    n = 1_000_000
    h = _hist2d(oracle_samples(name, n, 123), bin_edges(spec))
    # Per bin: 5 binomial std sqrt(p(1−p)/n) (largest, at p = 0.04: 2e-4), plus 5/n for bins whose
    # expected count is below 1 (a Poisson count of 0..3). Max measured z ≈ 3.6 over all 6 × 441 bins.
    tol = 5 * np.sqrt(p * (1 - p) / n) + 5 / n
    assert np.all(np.abs(h - p) <= tol), np.abs(h - p).max()


def test_true_histogram_of_a_point_mass_is_one_bin():
    spec, _ = _point_mass_spec()
    p = true_histogram(spec)
    assert p[10, 10] == pytest.approx(1.0, abs=1e-15)  # 667σ from the bin's edges
    assert p.sum() - p[10, 10] == pytest.approx(0.0, abs=1e-15)


def test_true_histogram_refuses_correlated_covariances():
    mix = GaussianMixture(np.zeros((1, 2)), np.array([[[1.0, 0.5], [0.5, 1.0]]]), np.ones(1))
    with pytest.raises(ValueError, match="diagonal"):
        true_histogram(DataSpec(name="corr", kind="points", shape=(2,), n_classes=1, mixture=mix))


# -- symmetric KL ---------------------------------------------------------------------------------------
def _direct_sym_kl(x: np.ndarray, spec) -> float:
    p = true_histogram(spec).ravel() + EPS
    q = _hist2d(x, bin_edges(spec)).ravel() + EPS
    p, q = p / p.sum(), q / q.sum()
    return 0.5 * (entropy(p, q) + entropy(q, p))  # scipy.stats.entropy(p, q) = KL(p‖q)


@pytest.mark.parametrize("name", ["ring8_mgan", "gm9", "deligan_bimodal"])
def test_sym_kl_equals_a_direct_computation_on_hand_samples(name):
    spec = get_spec(name)
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-2.5, 2.5, size=(300, 2)),  # many bins with 0–2 points
                        spec.mixture.means[:1] + rng.normal(scale=0.1, size=(200, 2)),  # a pile on mode 0
                        [[50.0, -50.0], [-9.0, 0.3]]])  # outside the range
    # Same formula, float64 both ways: 1e-10 relative is rounding headroom.
    assert SYM_KL(x, spec) == pytest.approx(_direct_sym_kl(x, spec), rel=1e-10)


def test_sym_kl_by_hand_on_a_point_mass():
    spec, w = _point_mass_spec()
    # Samples in the true bin: smoothed p == smoothed q, so 0.
    assert SYM_KL(np.full((10, 2), 1.0), spec) == pytest.approx(0.0, abs=1e-12)
    # All samples one bin over: both KLs are (1/Z)·log((1+ε)/ε), Z = 1 + 441ε, so sym_kl is that too
    # (≈ log 1e6 = 13.8); this pins ε = 1e-6.
    x = np.full((10, 2), 1.0) + [w, 0.0]
    expected = math.log((1 + EPS) / EPS) / (1 + N_BINS**2 * EPS)
    assert SYM_KL(x, spec) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("name", [n for n in POINT_SETS if n != "deligan_uni"])
def test_sym_kl_oracle_floor_is_far_below_collapsed(name, oracle_samples, collapsed_samples):
    spec = get_spec(name)
    oracle, collapsed = SYM_KL(oracle_samples(name, N), spec), SYM_KL(collapsed_samples(name, N), spec)
    # Oracle floor: histogram noise, ≈ (B_eff − 1)/(2n) for B_eff occupied bins (≤ 441 -> ≤ 0.022);
    # measured 0.003–0.018 on these five sets. Collapsed: the missing modes' bins hold ε only, costing
    # ≈ ½(1 − 1/K)·log(bin mass/ε) ≥ 2.7 nats (measured 2.68 on deligan_bimodal up to 6.50 on grid25).
    assert 0.0 < oracle < 0.03
    assert 2.0 < collapsed < 8.0
    assert collapsed > 100 * oracle


def test_sym_kl_single_mode_collapsed_equals_oracle(oracle_samples, collapsed_samples):
    spec = get_spec("deligan_uni")
    oracle = SYM_KL(oracle_samples("deligan_uni", N), spec)
    collapsed = SYM_KL(collapsed_samples("deligan_uni", N), spec)
    # One mode: both are true-distribution samples. Floor ≈ 440/(2n) = 0.022 (mean 0.0221 over 40 seeds);
    # the std over seeds is 0.0020, so a difference of two draws has std 0.0028: tolerance 0.012 ≈ 4 std.
    assert collapsed == pytest.approx(oracle, abs=0.012)
    assert oracle == pytest.approx(0.022, abs=0.008)


def test_sym_kl_ignores_sample_order_and_truncates_to_10000(oracle_samples):
    spec = get_spec("ring8_mgan")
    x = oracle_samples("ring8_mgan", N, 5)
    perm = np.random.default_rng(0).permutation(N)
    assert SYM_KL(x[perm], spec) == pytest.approx(SYM_KL(x, spec), rel=1e-12)
    assert SYM_KL(np.concatenate([x, np.full((N, 2), 30.0)]), spec) == SYM_KL(x, spec)


# -- W1 -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shift, expected_in_widths", [
    ((0, 0), 0.0),
    ((1, 0), 1.0),  # one bin over: exactly one bin width
    ((0, -1), 1.0),
    ((1, 1), math.sqrt(2)),  # diagonal neighbour
    ((3, 4), 5.0),
])
def test_w1_by_hand_on_a_point_mass(shift, expected_in_widths):
    spec, w = _point_mass_spec()
    x = np.full((7, 2), 1.0) + w * np.array(shift, dtype=float)
    assert W1(x, spec) == pytest.approx(expected_in_widths * w, rel=1e-9, abs=1e-12)


def test_w1_splits_the_move_by_mass():
    spec, w = _point_mass_spec()
    # Half one bin right, half two bins down: W1 = ½·w + ½·2w = 1.5w.
    x = np.concatenate([np.full((4, 2), 1.0) + [w, 0.0], np.full((4, 2), 1.0) + [0.0, -2 * w]])
    assert W1(x, spec) == pytest.approx(1.5 * w, rel=1e-9)


def _lp_w1(x: np.ndarray, spec) -> float:
    """Reference: the transport LP min Σ C_ij T_ij, T ≥ 0, rows sum to p, columns to q, solved by HiGHS.
    Columns restricted to the bins q occupies (others carry no mass)."""
    c = bin_centres(spec)
    p = true_histogram(spec).ravel()
    q_full = _hist2d(x, bin_edges(spec)).ravel()
    cols = np.flatnonzero(q_full)
    q = q_full[cols]
    m, k = len(p), len(cols)
    cost = np.linalg.norm(c[:, None, :] - c[cols][None, :, :], axis=2)  # (m, k) Euclidean
    rows_eq = sparse.kron(sparse.eye(m), np.ones((1, k)))  # Σ_j T_ij = p_i
    cols_eq = sparse.kron(np.ones((1, m)), sparse.eye(k))  # Σ_i T_ij = q_j
    # The last column constraint follows from the others (both sides sum to 1); HiGHS reports the full,
    # rank-deficient system infeasible, so it is dropped. Tight tolerances: the default 1e-7 per
    # constraint moves the optimum by ~1e-6 relative.
    a_eq = sparse.vstack([rows_eq, cols_eq]).tocsr()[:-1]
    b_eq = np.concatenate([p, q])[:-1]
    res = linprog(cost.ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    assert res.status == 0, res.message
    return float(res.fun)


@pytest.mark.parametrize("name, n", [("deligan_bimodal", 25), ("ring8_mgan", 40), ("gm9", 30)])
def test_w1_equals_a_linear_programming_solve(name, n, oracle_samples):
    spec = get_spec(name)
    x = oracle_samples(name, n, 6)
    # Both are exact optima of the same LP (measured agreement ≈ 4e-10 relative); 1e-7 covers the
    # solvers' tolerances.
    assert W1(x, spec) == pytest.approx(_lp_w1(x, spec), rel=1e-7)


def test_w1_oracle_is_small_on_grid25(oracle_samples):
    spec = get_spec("grid25")
    # Each mode's mass is a bin; multinomial noise (std 0.002 per mode at n = 10,000) must be moved ≥ 2
    # units between modes: ≈ 0.06 (mean 0.063, std 0.016, max 0.098 over 40 seeds).
    assert 0.0 < W1(oracle_samples("grid25", N), spec) < 0.12


@pytest.mark.parametrize("name", ["ring8_mgan", "ring8_mdgan", "grid25", "deligan_bimodal"])
def test_w1_collapsed_is_the_mean_distance_from_mode_0_to_all_modes(name, collapsed_samples):
    # Separated equal modes of one shape: mode 0's mass must be spread equally over the K modes, at about
    # the distance between their means (grid25 6.347, rings 2.514, bimodal 0.849). Binning moves each
    # mean to its bin's centre and blurs the wider modes: within one bin width.
    spec = get_spec(name)
    means = spec.mixture.means
    e = bin_edges(spec)[0]
    continuous = np.linalg.norm(means - means[0], axis=1).mean()
    assert W1(collapsed_samples(name, N), spec) == pytest.approx(continuous, abs=e[1] - e[0])


def test_w1_collapsed_on_grid25_is_the_binned_mean_distance(collapsed_samples):
    spec = get_spec("grid25")
    value = W1(collapsed_samples("grid25", N), spec)
    means = np.array(list(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2)))  # mode 0 = (−4, −4)
    # All mass at mode 0 goes to the 25 modes equally: the mean distance 6.347 ...
    width = 11.6 / 21  # grid25 bin width (range [−5.8, 5.8])
    assert value == pytest.approx(np.linalg.norm(means - means[0], axis=1).mean(), abs=width)
    # ... taken between the centres of the bins holding the means (6.168, σ = 0.05 ≪ width); the ≈ 0.2 %
    # of each mode's mass in neighbour bins moves it by < 0.01.
    e = bin_edges(spec)[0]
    centres = ((e[:-1] + e[1:]) / 2)[np.searchsorted(e, means, side="right") - 1]
    binned = np.linalg.norm(centres - centres[0], axis=1).mean()
    assert binned == pytest.approx(6.168, abs=1e-3)
    assert value == pytest.approx(binned, abs=0.01)


def test_w1_single_mode_collapsed_equals_oracle(oracle_samples, collapsed_samples):
    spec = get_spec("deligan_uni")
    # Both are true samples: W1 floor 0.0092 ± 0.0010 (std over 40 seeds); a difference of two draws
    # has std 0.0014, tolerance 0.005 ≈ 3.5 std.
    oracle, collapsed = W1(oracle_samples("deligan_uni", N), spec), W1(collapsed_samples("deligan_uni", N), spec)
    assert collapsed == pytest.approx(oracle, abs=0.005)


@pytest.mark.parametrize("name", [n for n in POINT_SETS if n != "deligan_uni"])
def test_w1_oracle_is_far_below_collapsed(name, oracle_samples, collapsed_samples):
    spec = get_spec(name)
    oracle, collapsed = W1(oracle_samples(name, N), spec), W1(collapsed_samples(name, N), spec)
    # Oracle floors measured 0.009–0.07; collapsed must move (1 − 1/K) of the mass ≥ the nearest-mode
    # distance: ring 1.53·7/8, gm9 1·8/9, bimodal 1.70/2 — all ≥ 0.84.
    assert 0.0 < oracle < 0.12
    assert collapsed > 0.8
    assert collapsed > 10 * oracle
