"""PCM-GAN (pcm-gan §II, Alg. 1): Eq. 3 vs scipy, Eq. 4 / L_{x̂,x} / Eq. 6 vs numpy, Alg. 1's update routing."""
import io

import numpy as np
import pytest
import torch
from scipy.special import logsumexp, softmax
from scipy.stats import multivariate_normal

from method_checks import build, changed_groups
from methods.pcmgan import eq6_adversarial, g_side, xx_consistency, xz_consistency
from specs import make_spec


def _np(t):
    return t.detach().double().numpy()


# -- Eq. 3: the analytic p(k|z) ----------------------------------------------------------------------------
@pytest.mark.parametrize("cov", ["full", "diag"])
def test_latent_posterior_equals_scipy_on_hand_made_gaussians(cov):
    pcm, _ = build("pcmgan", n_gaussians=3, z_dim=2, cov=cov)
    means = torch.tensor([[0.0, 0.0], [1.5, -0.5], [-1.0, 2.0]])
    if cov == "full":
        scales = torch.tensor([[[1.0, 0.0], [0.5, 0.8]], [[0.6, -0.3], [0.2, 1.1]], [[1.3, 0.4], [0.0, 0.7]]])
        covs = [s @ s.T for s in scales]
    else:
        scales = torch.tensor([[1.0, 0.5], [0.7, 1.2], [0.4, 0.9]])
        covs = [torch.diag(s**2) for s in scales]
    with torch.no_grad():
        pcm.latent.means.copy_(means)
        pcm.latent.scales.copy_(scales)
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(3)) * 2
    logpdf = np.stack([multivariate_normal(_np(means[k]), _np(covs[k])).logpdf(_np(z)) for k in range(3)], 1)
    ref = np.exp(logpdf - logsumexp(logpdf, axis=1, keepdims=True))  # Eq. 3, uniform weights cancel
    post = pcm.log_latent_posterior(z).exp()
    # float32 log-densities of magnitude ≲ 20: absolute error ~1e-6 in the probabilities
    assert _np(post) == pytest.approx(ref, abs=1e-5)
    assert _np(post.sum(1)) == pytest.approx(np.ones(50), abs=1e-6)


@pytest.mark.parametrize("cov", ["diag", "full"])
def test_log_density_at_d256_equals_torch_distributions_in_float64(cov):
    # Eq. 3's densities (expanded quadratic / LU of A_k, float32) vs MultivariateNormal on A Aᵀ in float64
    pcm, _ = build("pcmgan", dataset="grid25", cov=cov, z_dim=256)
    with torch.no_grad():
        if cov == "diag":
            pcm.latent.scales.mul_(torch.rand(25, 256) + 0.5)
        else:
            pcm.latent.scales.add_(0.03 * torch.randn(25, 256, 256))
    z = pcm.latent.sample(40)[0].detach()
    cov64 = pcm.latent.covariances().detach().double()
    ref = torch.distributions.MultivariateNormal(pcm.latent.means.detach().double(), covariance_matrix=cov64)
    ref = ref.log_prob(z.double()[:, None, :])  # (40, 25)
    # log-densities of a few hundred in float32, d = 256: relative error ≲ 1e-5
    assert _np(pcm.latent.log_prob_components(z)) == pytest.approx(ref.numpy(), rel=2e-5)
    assert _np(pcm.log_latent_posterior(z).exp()) == pytest.approx(_np(ref.softmax(1)), abs=1e-5)


def test_a_singular_full_factor_gives_a_non_finite_loss_not_an_exception():
    # a collapsed Σ_k makes the density degenerate: the trial must see a non-finite loss ("diverged")
    pcm, data = build("pcmgan", cov="full", z_dim=4)
    with torch.no_grad():
        pcm.latent.scales[3, 2] = 0.0  # row 2 of A_3 zero: rank 3
    losses = pcm.train_step(*data.batch(pcm.batch_size, torch.Generator().manual_seed(0)))
    assert not np.isfinite(losses["loss_xz"])


@pytest.mark.parametrize("cov", ["full", "diag"])
def test_training_draws_are_the_shared_latents_reparameterisation(cov):
    # Alg. 1 line 5, z_k = Σ_k ε + μ_k, batched per Gaussian, against MixtureLatent.forward on the same ε
    pcm, _ = build("pcmgan", cov=cov, z_dim=6)
    with torch.no_grad():
        pcm.latent.scales.add_(0.3 * torch.randn_like(pcm.latent.scales))
    eps = torch.randn(8, 5, 6)
    lat = pcm.latent
    a = lat.scales if cov == "full" else torch.diag_embed(lat.scales)
    ref = torch.stack([lat.means[k] + eps[k] @ a[k].t() for k in range(8)])  # (8, 5, 6), by hand
    assert _np(lat.blocks(eps)) == pytest.approx(_np(ref), abs=1e-6)  # float32 sums of 6
    flat = lat(torch.arange(8).repeat_interleave(5), eps=eps.reshape(40, 6))  # the per-row draw agrees
    assert _np(flat) == pytest.approx(_np(ref.reshape(40, 6)), abs=1e-6)


# -- C_PCM ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("classifier", ["shared", "separate"])
def test_responsibilities_are_the_classifier_softmax(classifier):
    pcm, data = build("pcmgan", classifier=classifier)
    x, _ = data.batch(64, torch.Generator().manual_seed(0))
    r = pcm.responsibilities(x)
    assert r.shape == (64, 8)
    assert _np(r.sum(1)) == pytest.approx(np.ones(64), abs=1e-6)
    # known answer: a constant head (zero weights, bias log π) gives p(k|x) = π for every x
    pi = torch.tensor([0.05, 0.1, 0.15, 0.2, 0.2, 0.1, 0.1, 0.1])
    last = pcm.c_head if classifier == "shared" else pcm.C[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(pi.log())
    assert _np(pcm.responsibilities(x)) == pytest.approx(np.tile(_np(pi), (64, 1)), abs=1e-6)


def test_number_of_gaussians_is_the_number_of_classes_unless_set():
    assert build("pcmgan")[0].n_components == 8
    assert build("pcmgan", dataset="grid25")[0].n_components == 25
    assert build("pcmgan", n_gaussians=3)[0].n_components == 3


# -- the losses against numpy ----------------------------------------------------------------------------------
P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3], [0.25, 0.7, 0.05]])  # p(k|z), rows
Q = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.25, 0.25], [0.1, 0.8, 0.1]])  # C(x̂), rows


def _t(a):
    return torch.tensor(np.log(a))


def test_xz_consistency_equals_numpy():
    m = (P + Q) / 2
    kl = lambda a, b: (a * np.log(a / b)).sum(1)  # noqa: E731
    expected = {"ce": -(P * np.log(Q)).sum(1).mean(), "kl": kl(P, Q).mean(),
                "js": (0.5 * kl(P, m) + 0.5 * kl(Q, m)).mean()}
    for kind, value in expected.items():
        # float64 inputs: agreement to rounding
        assert xz_consistency(_t(P), _t(Q), kind).item() == pytest.approx(value, rel=1e-12)
    # sanity of the known answer: identical vectors give KL = JS = 0 and CE = mean entropy
    assert xz_consistency(_t(P), _t(P), "kl").item() == pytest.approx(0.0, abs=1e-12)
    assert xz_consistency(_t(P), _t(P), "ce").item() == pytest.approx(-(P * np.log(P)).sum(1).mean(), rel=1e-12)


def test_xx_consistency_compares_batch_mean_responsibilities():
    real, fake = P, Q[:3]  # different batch sizes
    pr, pf = real.mean(0), fake.mean(0)
    pm = (pr + pf) / 2
    assert xx_consistency(_t(real), _t(fake), "kl").item() == pytest.approx((pr * np.log(pr / pf)).sum(), rel=1e-12)
    js = 0.5 * (pr * np.log(pr / pm)).sum() + 0.5 * (pf * np.log(pf / pm)).sum()
    assert xx_consistency(_t(real), _t(fake), "js").item() == pytest.approx(js, rel=1e-12)
    assert xx_consistency(_t(real), _t(fake), "none").item() == 0.0
    # per-sample disagreement with equal batch means costs nothing: only the mixture weights are matched
    assert xx_consistency(_t(P[[0, 1]]), _t(P[[1, 0]]), "kl").item() == pytest.approx(0.0, abs=1e-12)


def _sig(a):
    return 1 / (1 + np.exp(-a))


def test_eq6_paired_equals_numpy():
    rng = np.random.default_rng(0)
    n, k = 5, 3
    real, fake = rng.normal(size=n), rng.normal(size=(k, n))  # D logits; fake[k, i] is x̂_i^k
    resp = softmax(rng.normal(size=(n, k)), axis=1)
    # Eq. 6 written out: mean_i (1/K) Σ_k p(k|x_i)(log D(x_i) + log(1 − D(x̂_i^k)))
    ref = np.mean([sum(resp[i, j] * (np.log(_sig(real[i])) + np.log(1 - _sig(fake[j, i]))) for j in range(k)) / k
                   for i in range(n)])
    got = eq6_adversarial(torch.tensor(real), torch.tensor(fake), torch.tensor(resp), paired=True)
    assert got.item() == pytest.approx(ref, rel=1e-12)  # float64 throughout


def test_eq6_unpaired_weights_each_gaussian_by_its_batch_mean_responsibility():
    rng = np.random.default_rng(1)
    n, k, m = 6, 3, 4
    real, fake = rng.normal(size=n), rng.normal(size=(k, m))
    resp = softmax(rng.normal(size=(n, k)), axis=1)
    pi = resp.mean(0)
    ref = np.log(_sig(real)).mean() / k + sum(pi[j] * np.log(1 - _sig(fake[j])).mean() for j in range(k)) / k
    got = eq6_adversarial(torch.tensor(real), torch.tensor(fake), torch.tensor(resp), paired=False)
    assert got.item() == pytest.approx(ref, rel=1e-12)


def test_g_side_equals_numpy():
    rng = np.random.default_rng(2)
    fake, w = rng.normal(size=(3, 4)), rng.uniform(size=(3, 4))
    ns = -(w * np.log(_sig(fake))).mean(1).sum() / 3
    mm = (w * np.log(1 - _sig(fake))).mean(1).sum() / 3
    assert g_side(torch.tensor(fake), torch.tensor(w), "nonsaturating").item() == pytest.approx(ns, rel=1e-12)
    assert g_side(torch.tensor(fake), torch.tensor(w), "minimax").item() == pytest.approx(mm, rel=1e-12)


# -- Alg. 1: which loss moves which parameters ------------------------------------------------------------------
def _groups(pcm):
    g = {"G": list(pcm.G.parameters()), "Z": list(pcm.latent.parameters())}
    if pcm.params.classifier == "shared":
        g.update(body=list(pcm.body.parameters()), D_head=list(pcm.d_head.parameters()),
                 C_head=list(pcm.c_head.parameters()))
    else:
        g.update(D=list(pcm.D.parameters()), C=list(pcm.C.parameters()))
    return g


SHARED = [((12, 13, 14, 15), {}, {"G", "Z", "body", "D_head", "C_head"}),
          ((12,), {}, {"body", "D_head"}),  # line 12: D ← L_adv
          ((13,), {}, {"G", "Z", "body", "C_head"}),  # line 13: G, latent (§II-D) and C_PCM via p(k|x_i)
          ((13,), {"c_adv": "off"}, {"G", "Z"}),  # no gradient leaks into D's body through D(x̂)
          ((13,), {"c_adv": "with_d"}, {"G", "Z", "body", "C_head"}),
          ((14,), {}, {"body", "C_head"}),  # line 14: classifier ← L_{x̂,x}
          ((15,), {}, {"body", "C_head", "Z"}),  # line 15: classifier and latent ← L_{x̂,z}; not G
          ((12, 13), {"c_adv": "off"}, {"G", "Z", "body", "D_head"})]  # a GMM-latent GAN: C_head fixed
SEPARATE = [((12, 13, 14, 15), {}, {"G", "Z", "D", "C"}), ((12,), {}, {"D"}), ((13,), {}, {"G", "Z", "C"}),
            ((13,), {"c_adv": "off"}, {"G", "Z"}), ((14,), {}, {"C"}), ((15,), {}, {"C", "Z"})]


@pytest.mark.parametrize("classifier,lines,extra,expected",
                         [("shared", *c) for c in SHARED] + [("separate", *c) for c in SEPARATE])
def test_each_update_of_alg1_moves_exactly_its_players(classifier, lines, extra, expected):
    pcm, data = build("pcmgan", classifier=classifier, alg1_lines=lines, **extra)
    x, y = data.batch(pcm.batch_size, torch.Generator().manual_seed(0))
    assert changed_groups(pcm, _groups(pcm), x, y) == expected


def test_c_adversarial_gradient_reaches_the_shared_body_only_through_the_weights():
    # Known answer: with C's head weight zero, p(k|x) = softmax(bias) does not depend on the body, so line 13
    # must leave the body exactly where it is (a gradient through D(x̂) would move it); C's head still moves.
    pcm, data = build("pcmgan", alg1_lines=(13,))
    with torch.no_grad():
        pcm.c_head.weight.zero_()
    x, y = data.batch(pcm.batch_size, torch.Generator().manual_seed(0))
    assert changed_groups(pcm, _groups(pcm), x, y) == {"G", "Z", "C_head"}


def test_d_step_treats_the_weights_as_constants():
    # Known answer: with D's head weight zero, D(x) does not depend on the body, so line 12 must leave the body
    # where it is (a gradient through the weights p(k|x_i) = C(x_i) would move it); D's head still moves.
    pcm, data = build("pcmgan", alg1_lines=(12,))
    with torch.no_grad():
        pcm.d_head.weight.zero_()
    x, y = data.batch(pcm.batch_size, torch.Generator().manual_seed(0))
    assert changed_groups(pcm, _groups(pcm), x, y) == {"D_head"}


def test_paired_reading_of_alg1_moves_every_group():
    pcm, data = build("pcmgan", fakes_per_component="paired", cov="full", batch_size=32, z_dim=16)
    x, y = data.batch(32, torch.Generator().manual_seed(0))
    assert changed_groups(pcm, _groups(pcm), x, y) == {"G", "Z", "body", "D_head", "C_head"}


def test_d_step_is_gans_when_the_weights_are_uniform():
    # With p(k|x) = 1/K the D side of Eq. 6 is (1/K)(E log D(x) + E log(1 − D(x̂))): −K·loss_d must equal the
    # GAN D loss on the same logits (a constant C head makes the weights exactly uniform).
    from methods.losses import d_loss

    rng = np.random.default_rng(3)
    real, fake = torch.tensor(rng.normal(size=7)), torch.tensor(rng.normal(size=(4, 5)))
    resp = torch.full((7, 4), 0.25, dtype=torch.float64)
    l_adv = eq6_adversarial(real, fake, resp, paired=False)
    assert (-4 * l_adv).item() == pytest.approx(d_loss(real, fake.reshape(-1)).item(), rel=1e-12)


# -- sampling ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cov", ["diag", "full"])
def test_sample_component_and_scale_follow_the_latent_gaussian(cov):
    pcm, _ = build("pcmgan", cov=cov, z_dim=8)
    with torch.no_grad():
        pcm.latent.scales.add_(0.1 * torch.randn_like(pcm.latent.scales))  # a non-trivial Σ_k
    torch.manual_seed(1)
    got = pcm.sample(10, scale=4.0, component=2)
    torch.manual_seed(1)
    eps = torch.randn(10, 8)
    a = pcm.latent.scales[2]
    z = pcm.latent.means[2] + (2 * eps) * a if cov == "diag" else pcm.latent.means[2] + (2 * eps) @ a.T
    with torch.no_grad():
        # covariance × 4 = ε × 2; float32 products: 1e-5
        assert got.numpy() == pytest.approx(pcm.G(z).numpy(), abs=1e-5)
    # without a component: k ~ U{0..K−1} drawn first, then ε
    torch.manual_seed(2)
    got = pcm.sample(12)
    torch.manual_seed(2)
    k = torch.randint(0, 8, (12,))
    eps = torch.randn(12, 8)
    with torch.no_grad():
        rows = [pcm.latent.means[j] + (e * pcm.latent.scales[j] if cov == "diag" else pcm.latent.scales[j] @ e)
                for j, e in zip(k.tolist(), eps)]
        assert got.numpy() == pytest.approx(pcm.G(torch.stack(rows)).numpy(), abs=1e-5)
    assert got.shape == (12, 2)
    for bad in (-1, 8):
        with pytest.raises(ValueError, match="out of range"):
            pcm.sample(3, component=bad)


def test_params_reject_a_uniform_latent_and_an_empty_fake_batch():
    from methods.pcmgan import PCMGANParams

    with pytest.raises(ValueError, match="z_dist"):
        PCMGANParams(z_dist="uniform")
    with pytest.raises(ValueError, match="fakes_per_component"):
        PCMGANParams(fakes_per_component=0)


# -- checkpoints and a trial ----------------------------------------------------------------------------------
def test_state_dict_round_trip_restores_samples_and_training():
    pcm, data = build("pcmgan", seed=0)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        pcm.train_step(*data.batch(pcm.batch_size, g))
    fresh, _ = build("pcmgan", seed=5)  # different initial weights and means
    buf = io.BytesIO()  # through torch.save as a checkpoint: an in-memory state_dict shares Adam's moment tensors
    torch.save(pcm.state_dict(), buf)
    buf.seek(0)
    fresh.load_state_dict(torch.load(buf, weights_only=False))
    torch.manual_seed(9)
    a = pcm.sample(50)
    torch.manual_seed(9)
    assert torch.equal(a, fresh.sample(50))
    batch = data.batch(pcm.batch_size, g)
    torch.manual_seed(4)
    pcm.train_step(*batch)
    torch.manual_seed(4)
    fresh.train_step(*batch)  # optimiser moments were restored too: the next step is the same
    for p, q in zip(pcm.parameters(), fresh.parameters()):
        assert torch.equal(p, q)


def test_short_trial_completes():
    from bench.trial import run_trial

    out = run_trial(make_spec(method="pcmgan", steps=30, metrics=["modes", "hq"]))
    assert out.status == "completed", out.trial["error"]
    assert out.trial["steps"] == 30
