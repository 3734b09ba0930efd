"""FID / IS / KID / PR through torch-fidelity's own functions: closed forms, invariances, and equality with
torch-fidelity's end-to-end `calculate_metrics` on the same images through the same (stand-in) extractor."""
import numpy as np
import pytest
import scipy.linalg
import torch

from bench.metrics.fidelity import fid_from_features, is_from_logits, kid_from_features, pr_from_features


def gaussian(n, mean, std, seed):
    rng = np.random.default_rng(seed)
    return (mean + std * rng.standard_normal((n, len(mean)))).astype(np.float64)


def fid_closed_form(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_fid_equals_the_closed_form_on_the_samples_statistics():
    x = gaussian(3000, np.zeros(6), np.ones(6), 0)
    y = gaussian(3000, np.full(6, 0.5), np.linspace(0.5, 2.0, 6), 1) @ np.triu(np.ones((6, 6))) / 3
    want = fid_closed_form(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    # same statistics, eigenvalue route (torch-fidelity) vs sqrtm route (scipy): float64 rounding only
    assert fid_from_features(x, y) == pytest.approx(want, rel=1e-6)


def test_fid_of_two_gaussians_approaches_the_population_value():
    # diagonal covariances: FID = ‖μ1 − μ2‖² + Σ (σ1 − σ2)²  = 6·0.25 + Σ(1 − s)²
    s = np.linspace(0.5, 2.0, 6)
    x, y = gaussian(40_000, np.zeros(6), np.ones(6), 2), gaussian(40_000, np.full(6, 0.5), s, 3)
    want = 6 * 0.25 + ((1 - s) ** 2).sum()
    # sampling error of the empirical statistics at n = 40,000 in 6-D: ~1e-2 absolute
    assert fid_from_features(x, y) == pytest.approx(want, abs=0.03)


def test_fid_of_a_set_with_itself_is_zero():
    x = gaussian(2000, np.zeros(8), np.ones(8), 4).astype(np.float32)
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-3)  # float32 features, eigvals of Σ²: ~1e-4


def test_is_of_one_hot_uniform_predictions_is_n_and_of_identical_predictions_is_1():
    n_cls = 10
    uniform = 60.0 * np.eye(n_cls)[np.arange(5000) % n_cls]  # p(y|x) one-hot up to e^-60; p(y) uniform
    # one split: p(y) exactly uniform, IS = exp(H(p(y))) = N (up to the e^-60 off-class mass)
    assert is_from_logits(uniform, splits=1)["all"] == pytest.approx(n_cls, rel=1e-9)
    # 10 shuffled splits of 500: each split's class shares are only near 1/10, so IS sits just under N
    assert is_from_logits(uniform)["all"] == pytest.approx(n_cls, rel=0.02)
    same = np.tile(np.random.default_rng(0).standard_normal(n_cls), (5000, 1))
    assert is_from_logits(same)["all"] == pytest.approx(1.0, abs=1e-9)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    x, y = gaussian(3000, np.zeros(8), np.ones(8), 5), gaussian(3000, np.zeros(8), np.ones(8), 6)
    z = gaussian(3000, np.ones(8), np.ones(8), 7)
    same, diff = kid_from_features(x, y, kid_subsets=10)["all"], kid_from_features(x, z, kid_subsets=10)["all"]
    # unbiased estimator: mean 0 for one distribution, spread ~1e-3 per subset of 1,000 in 8-D (10 subsets)
    assert same == pytest.approx(0.0, abs=5e-3)
    assert diff > 0.1 and diff > 20 * abs(same)


def test_pr_blocked_equals_torch_fidelity_full_matrix():
    from torch_fidelity.metric_prc import prc_features_to_metric

    x, y = gaussian(700, np.zeros(5), np.ones(5), 8), gaussian(600, np.full(5, 0.7), np.ones(5), 9)
    ours = pr_from_features(x.astype(np.float32), y.astype(np.float32), block=64)
    ref = prc_features_to_metric(torch.from_numpy(x).float(), torch.from_numpy(y).float(), save_cpu_ram=False,
                                 verbose=False)
    assert ours == {"precision": ref["precision"], "recall": ref["recall"]}  # exact: the same distances
    assert 0.2 < ours["precision"] < 0.95 and 0.2 < ours["recall"] < 0.95
