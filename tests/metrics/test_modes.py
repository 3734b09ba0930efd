"""Mode counting on 2-D mixtures (md-gan §6.1 protocol): modes covered, % high-quality samples and the KL
over modes, pinned by hand-placed points, by the true mixture (`oracle`) and by one-mode (`collapsed`)
samples. All calls go through the registry, so the records' 2,500-sample truncation is part of what is
tested."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import rel_entr

from bench.data import DataSpec, GaussianMixture, get_spec
from bench.metrics import get_metric
from bench.registry import METHODS

MODES, HQ, MODE_KL = (get_metric(n) for n in ("modes", "hq", "mode_kl"))
N = 2_500
HQ_TRUE = 100 * (1 - math.exp(-4.5))  # P(χ²₂ ≤ 9) = 98.889 %: the share of a 2-D Gaussian within 3σ
# Binomial std of the HQ % at n = 2,500: 100·sqrt(0.0111·0.9889/2500) ≈ 0.21 %; ±0.6 % is ~3 std.
HQ_TOL = 0.6
# Separated mixtures and their number of modes K (collapsed mode_kl = log K).
SEPARATED = {"ring8_mgan": 8, "ring8_mdgan": 8, "grid25": 25, "deligan_bimodal": 2}


def _spec(means, std, weights=None, name="hand") -> DataSpec:
    mix = GaussianMixture.isotropic(means, std, weights)
    return DataSpec(name=name, kind="points", shape=(2,), n_classes=mix.n_components, mixture=mix)


def test_records_use_the_papers_sample_count_and_direction():
    assert [m.n_samples for m in (MODES, HQ, MODE_KL)] == [2_500] * 3
    assert (MODES.higher_is_better, HQ.higher_is_better, MODE_KL.higher_is_better) == (True, True, False)
    assert HQ.describe()["oracle_value"] == pytest.approx(98.8891, abs=1e-4)


# -- hand-made cases ------------------------------------------------------------------------------------
def test_points_at_2_9_and_3_1_sigma_on_grid25():
    spec = get_spec("grid25")
    m, s = spec.mixture.means, 0.05
    assert tuple(m[0]) == (-4, -4) and tuple(m[1]) == (-4, -2) and tuple(m[24]) == (4, 4)
    x = np.array([
        m[0] + 2.9 * s * np.array([1.0, 0.0]),  # HQ, mode 0
        m[24] + 2.9 * s * np.array([-1.0, -1.0]) / math.sqrt(2),  # HQ, mode 24 (diagonal direction)
        m[1] + 3.1 * s * np.array([0.0, 1.0]),  # 3.1σ from mode 1 and ≥ 36σ from every other: not HQ
        [1.0, 1.0],  # between four modes, 28σ from each: not HQ
    ])
    assert MODES(x, spec) == 2.0
    assert HQ(x, spec) == pytest.approx(50.0, abs=1e-12)
    # q = (½ on mode 0, ½ on mode 24), w = 1/25: KL = log(½ · 25) = log 12.5.
    assert MODE_KL(x, spec) == pytest.approx(math.log(12.5), rel=1e-12)


def test_one_sample_on_each_mean_covers_every_mode_with_zero_kl():
    spec = get_spec("grid25")
    x = spec.mixture.means[::-1].copy()  # order must not matter
    assert MODES(x, spec) == 25.0
    assert HQ(x, spec) == 100.0
    assert MODE_KL(x, spec) == pytest.approx(0.0, abs=1e-12)


SQUARE = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]]  # σ = 1: modes ≥ 10σ apart
ON_0 = [[0.5, 0.0], [0.0, -1.0], [-2.0, 2.0]]  # 0.5σ, 1σ, 2.83σ from mode 0
ON_1 = [[10.0, 1.0], [11.0, 1.0], [8.0, 0.0]]  # 1σ, 1.41σ, 2σ from mode 1
ON_2 = [[1.0, 11.0]]
NOT_HQ = [[5.0, 5.0], [-4.0, 0.0]]  # 7.1σ from all; 4σ from mode 0


def test_half_on_two_of_four_uniform_modes_gives_log_2():
    spec = _spec(SQUARE, 1.0)
    x = np.array(ON_0 + ON_1 + NOT_HQ)
    assert MODES(x, spec) == 2.0
    assert HQ(x, spec) == pytest.approx(100 * 6 / 8, abs=1e-12)
    # q = (½, ½, 0, 0) against w = ¼ each: ½ log 2 + ½ log 2 = log 2; the non-HQ points do not count.
    assert MODE_KL(x, spec) == pytest.approx(math.log(2), rel=1e-12)
    assert MODE_KL(np.array(ON_0 + ON_1), spec) == pytest.approx(math.log(2), rel=1e-12)


def test_mode_kl_with_unequal_weights_matches_a_direct_computation():
    w = [0.5, 0.25, 0.125, 0.125]
    spec = _spec(SQUARE, 1.0, w)
    x = np.array(ON_0 + ON_2 + NOT_HQ)  # HQ: 3 on mode 0, 1 on mode 2 -> q = (¾, 0, ¼, 0)
    by_hand = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.125)
    assert by_hand == pytest.approx(float(rel_entr([0.75, 0, 0.25, 0], w).sum()), rel=1e-14)
    assert MODE_KL(x, spec) == pytest.approx(by_hand, rel=1e-12)
    assert MODES(x, spec) == 2.0


def test_no_hq_sample_gives_minus_log_of_the_smallest_weight():
    spec = _spec(SQUARE, 1.0, [0.5, 0.25, 0.125, 0.125])
    x = np.array(NOT_HQ * 3)
    assert MODES(x, spec) == 0.0
    assert HQ(x, spec) == 0.0
    assert MODE_KL(x, spec) == pytest.approx(math.log(8), rel=1e-12)  # −log 0.125


def test_records_truncate_to_2500_samples(oracle_samples):
    spec = get_spec("grid25")
    x = oracle_samples("grid25", N, 11)
    far = np.full((N, 2), 100.0)  # would halve HQ and change mode_kl if counted
    for metric in (MODES, HQ, MODE_KL):
        assert metric(np.concatenate([x, far]), spec) == metric(x, spec)


# -- oracle and collapsed --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_oracle_on_grid25_covers_all_modes_with_the_true_hq_share(seed, oracle_samples):
    spec = get_spec("grid25")
    x = oracle_samples("grid25", N, seed)
    assert MODES(x, spec) == 25.0
    assert HQ(x, spec) == pytest.approx(HQ_TRUE, abs=HQ_TOL)
    # Multinomial: E[KL(q̂‖w)] ≈ (K−1)/(2n) = 24/(2·2,470) ≈ 0.005 (std ≈ √(2(K−1))/(2n) ≈ 0.0014);
    # measured 0.004–0.0054 over seeds 0–2. It is 0 only if every mode gets exactly n/25 HQ samples.
    assert 0.0 < MODE_KL(x, spec) < 0.02


@pytest.mark.parametrize("name", list(SEPARATED))
def test_oracle_covers_every_mode_on_each_separated_set(name, oracle_samples):
    spec = get_spec(name)
    x = oracle_samples(name, N, 1)
    k = SEPARATED[name]
    assert MODES(x, spec) == float(k)
    assert HQ(x, spec) == pytest.approx(HQ_TRUE, abs=HQ_TOL)
    # (K−1)/(2n) ≤ 0.005 for K ≤ 25 (see the grid25 test); 0.02 is > 10 std above it.
    assert 0.0 <= MODE_KL(x, spec) < 0.02


@pytest.mark.parametrize("name", list(SEPARATED))
def test_collapsed_covers_one_mode_with_kl_log_k(name, collapsed_samples):
    spec = get_spec(name)
    x = collapsed_samples(name, N)
    assert MODES(x, spec) == 1.0
    # Every HQ sample is on mode 0: q = e_0, w = 1/K, so KL = log K exactly.
    assert MODE_KL(x, spec) == pytest.approx(math.log(SEPARATED[name]), rel=1e-12)
    # Its samples are as sharp as the true ones: HQ alone does not see collapse.
    assert HQ(x, spec) == pytest.approx(HQ_TRUE, abs=HQ_TOL)


def test_single_mode_set_scores_the_same_for_oracle_and_collapsed(oracle_samples, collapsed_samples):
    spec = get_spec("deligan_uni")
    for x in (oracle_samples("deligan_uni", N), collapsed_samples("deligan_uni", N)):
        assert MODES(x, spec) == 1.0
        assert MODE_KL(x, spec) == 0.0  # q = w = (1,): exactly 0
        assert HQ(x, spec) == pytest.approx(HQ_TRUE, abs=HQ_TOL)


def test_registered_reference_methods_score_all_modes_and_one_mode():
    spec = get_spec("grid25")
    oracle = METHODS.get("oracle")(spec, METHODS.get("oracle").Params())
    collapsed = METHODS.get("collapsed")(spec, METHODS.get("collapsed").Params(mode=3))
    with torch.random.fork_rng():  # the references draw from the global generator
        torch.manual_seed(0)
        xo = oracle.sample(N).double().numpy()
        xc = collapsed.sample(N).double().numpy()
    assert MODES(xo, spec) == 25.0 and MODES(xc, spec) == 1.0
    assert MODE_KL(xc, spec) == pytest.approx(math.log(25), rel=1e-12)
    # collapsed(mode=3) lands on mean 3 = (−4, 2): its HQ samples' nearest mean is 3.
    d = np.linalg.norm(xc[:, None, :] - spec.mixture.means[None], axis=2)
    assert np.all(d.argmin(axis=1) == 3)


# -- applicability --------------------------------------------------------------------------------------
def test_gm9_is_not_applicable_and_the_other_sets_are():
    for metric in (MODES, HQ, MODE_KL):
        reason = metric.not_applicable(get_spec("gm9"))
        assert isinstance(reason, str) and "gm9" in reason and "overlap" in reason
        for name in ("ring8_mgan", "ring8_mdgan", "grid25", "deligan_uni", "deligan_bimodal"):
            assert metric.not_applicable(get_spec(name)) is None, (metric.name, name)


def test_touching_3_sigma_balls_are_not_applicable_and_disjoint_ones_are():
    # Means 6σ apart: the 3σ balls touch (≤ counts as overlap); 6.1σ apart: disjoint.
    assert MODES.not_applicable(_spec([[0.0, 0.0], [6.0, 0.0]], 1.0)) is not None
    assert MODES.not_applicable(_spec([[0.0, 0.0], [6.1, 0.0]], 1.0)) is None


def test_image_data_is_not_applicable():
    spec = DataSpec(name="mnist_like", kind="image", shape=(1, 28, 28), n_classes=10)
    assert "image" in MODES.not_applicable(spec)
