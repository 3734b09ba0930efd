"""The shared Gaussian-mixture latent (DeLiGAN Eq. 7–8, GM-GAN §2, PCM-GAN Eq. 3)."""
import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from methods.latent import MixtureLatent


@pytest.mark.parametrize("cov", ["diag", "full"])
def test_log_prob_and_posterior_match_scipy(cov):
    torch.manual_seed(0)
    lat = MixtureLatent(torch.randn(3, 4), 0.5, cov=cov)
    with torch.no_grad():  # make the factors non-trivial
        if cov == "diag":
            lat.scales.mul_(torch.rand(3, 4) + 0.5)
        else:
            lat.scales.add_(0.2 * torch.randn(3, 4, 4))
    z = torch.randn(7, 4, dtype=torch.float32)
    covs = lat.covariances().detach().double().numpy()
    ref = np.stack([multivariate_normal(lat.means[k].detach().double().numpy(), covs[k]).logpdf(z.double().numpy())
                    for k in range(3)], axis=1)
    assert lat.log_prob_components(z).detach().double().numpy() == pytest.approx(ref, rel=1e-4, abs=1e-4)
    post = np.exp(ref - logsumexp(ref, axis=1, keepdims=True))  # uniform weights cancel
    assert lat.posterior(z).detach().numpy() == pytest.approx(post, abs=1e-5)


@pytest.mark.parametrize("cov", ["diag", "full"])
def test_scale_multiplies_each_components_covariance(cov):
    torch.manual_seed(0)
    lat = MixtureLatent(torch.zeros(2, 3), 0.3, cov=cov)
    n = 200_000
    z1, _ = lat.sample(n, scale=1.0, component=1)
    z2, _ = lat.sample(n, scale=2.5, component=1)
    v1, v2 = z1.var(0).detach(), z2.var(0).detach()
    # var of a sample variance: 2σ⁴/n -> relative std sqrt(2/n) ≈ 0.3 %; 3 % is ~10 std
    assert (v2 / v1).numpy() == pytest.approx(np.full(3, 2.5), rel=0.03)
    assert v1.numpy() == pytest.approx(np.full(3, 0.09), rel=0.03)


def test_components_are_uniform_and_pinnable():
    lat = MixtureLatent(torch.zeros(4, 2), 1.0)
    torch.manual_seed(0)
    k = lat.components(40_000)
    counts = torch.bincount(k, minlength=4).numpy()
    # multinomial std per count sqrt(n·¼·¾) ≈ 87; ±400 is ~4.6 std
    assert counts == pytest.approx(np.full(4, 10_000), abs=400)
    assert set(lat.components(10, component=2).tolist()) == {2}


def test_gradients_reach_means_and_scales_through_the_sample():
    lat = MixtureLatent(torch.zeros(2, 3), 0.2)
    z, _ = lat.sample(16)
    z.pow(2).sum().backward()
    assert lat.means.grad.abs().sum() > 0 and lat.scales.grad.abs().sum() > 0
