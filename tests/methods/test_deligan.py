"""DeLiGAN (deligan §3–4): learned mixture latent, σ regulariser (Eq. 10), μ/σ trained by G's loss only (§4.1)."""
import math

import pytest
import torch

from bench.trial import run_trial
from method_checks import assert_round_trip, build, changed_groups
from specs import make_spec


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def test_sigma_penalty_on_a_hand_made_sigma():
    m, _ = build("deligan", n_components=2, z_dim=3, lam=0.05)
    with torch.no_grad():
        m.latent.scales.copy_(torch.tensor([[1.0, 0.5, 0.0], [2.0, 1.0, 1.0]]))
    # Eq. 10 by hand: ‖1 − σ_1‖² = 0 + 0.25 + 1 = 1.25, ‖1 − σ_2‖² = 1 + 0 + 0 = 1; λ·(1.25 + 1)/N = 0.05·2.25/2.
    assert m.sigma_penalty().item() == pytest.approx(0.05 * 2.25 / 2, rel=1e-6)  # float32 rounding only


def test_lambda_005_is_the_authors_toy_regulariser_at_d2():
    # val-iisc/deligan dg_toy.py: 0.1·mean((σ − 1)²) over the N×2 σ entries; Eq. 10 with λ = 0.1/d = 0.05.
    m, _ = build("deligan", z_dim=2)
    with torch.no_grad():
        m.latent.scales.uniform_(0.0, 2.0, generator=torch.Generator().manual_seed(3))
    code = 0.1 * (m.latent.scales - 1).pow(2).mean()
    assert m.sigma_penalty().item() == pytest.approx(code.item(), rel=1e-5)  # float32 sums in another order


def test_adversarial_g_loss_forms_at_d_one_half():
    # D(G(z)) = ½ (logit 0): non-saturating −log ½ = log 2; saturating (Eq. 10 as printed) log(1 − ½) = −log 2.
    logits = torch.zeros(7, 1)
    ns, _ = build("deligan")
    sat, _ = build("deligan", g_loss="saturating")
    assert ns.adversarial_g_loss(logits).item() == pytest.approx(math.log(2), rel=1e-6)
    assert sat.adversarial_g_loss(logits).item() == pytest.approx(-math.log(2), rel=1e-6)


def test_one_step_moves_g_d_and_the_latent():
    m, data = build("deligan")
    groups = {"G": list(m.G.parameters()), "D": list(m.D.parameters()), "latent": list(m.latent.parameters())}
    assert changed_groups(m, groups, *_batch(m, data)) == {"G", "D", "latent"}


def test_mu_and_sigma_learn_from_g_loss_only():
    m, data = build("deligan")
    x, _ = _batch(m, data)
    z, _ = m.latent.sample(m.params.fake_batch_size)
    fake = m.G(z)
    before = [p.detach().clone() for p in m.latent.parameters()]
    d_before = [p.detach().clone() for p in m.D.parameters()]
    m.d_step(x, fake)
    # D's step: D moves; no gradient reaches μ or σ and they stay put.
    assert any(not torch.equal(b, p) for b, p in zip(d_before, m.D.parameters()))
    assert all(p.grad is None for p in m.latent.parameters())
    assert all(torch.equal(b, p) for b, p in zip(before, m.latent.parameters()))
    d_after = [p.detach().clone() for p in m.D.parameters()]
    m.g_step(fake)
    # G's step: μ and σ both move (adversarial term + Eq. 10), D does not.
    assert all(not torch.equal(b, p) for b, p in zip(before, m.latent.parameters()))
    assert all(torch.equal(b, p) for b, p in zip(d_after, m.D.parameters()))


def test_latent_starts_as_section_4_1():
    m, _ = build("deligan")
    mu, sig = m.latent.means.detach(), m.latent.scales.detach()
    assert mu.shape == (50, 256) and sig.shape == (50, 256)  # N = 50, diagonal σ_i over d = 256
    assert torch.all(sig == 0.2)
    assert mu.min().item() >= -1 and mu.max().item() <= 1
    # U(−1, 1): mean 0, variance 1/3; 12,800 draws -> std of the mean 0.005, of the variance ≈ 0.0026.
    assert mu.mean().item() == pytest.approx(0.0, abs=0.025)
    assert mu.var().item() == pytest.approx(1 / 3, abs=0.015)


def test_sample_is_g_of_mu_plus_sqrt_scale_sigma_eps():
    m, _ = build("deligan", z_dim=4)
    with torch.no_grad():
        m.latent.scales.uniform_(0.1, 1.0)
    torch.manual_seed(1)
    got = m.sample(10, scale=4.0, component=3)
    torch.manual_seed(1)
    eps = torch.randn(10, 4)
    with torch.no_grad():
        want = m.G(m.latent.means[3] + 2.0 * m.latent.scales[3] * eps)  # covariance ×4 = std ×2
    assert torch.allclose(got, want, atol=1e-6)


def test_sample_shapes_components_and_range():
    m, _ = build("deligan")
    assert m.n_components == 50
    assert m.sample(33).shape == (33, 2)
    assert m.sample(5, component=49).shape == (5, 2)
    with pytest.raises(ValueError, match="out of range"):
        m.sample(5, component=50)


def test_z_dist_is_rejected():
    from bench.errors import UserError
    from bench.suites import resolve_method_params

    with pytest.raises(UserError, match="z_dist does not apply"):
        resolve_method_params("deligan", {"z_dist": "uniform"}, where="test")


def test_tanh_toy_networks():
    m, data = build("deligan", hidden_act="tanh", z_dim=2, g_hidden=(32,), d_hidden=(32,), g_out_scale=1.0)
    assert [type(l).__name__ for l in m.G] == ["Linear", "Tanh", "Linear", "ScaledTanh"]
    assert [type(l).__name__ for l in m.D] == ["Linear", "Tanh", "Linear"]
    m.train_step(*_batch(m, data))
    assert m.sample(100).abs().max().item() <= 1.0  # tanh output


def test_state_dict_round_trip_restores_samples():
    assert_round_trip("deligan", sample_kwargs=({}, {"component": 3}))


def test_short_trial_completes():
    out = run_trial(make_spec(method="deligan", steps=30,
                              metrics=["modes", "hq", "nll", "sym_kl", "w1", "latent_purity", "latent_nmi"]))
    assert out.status == "completed", out.trial["error"]
    assert {r["metric"] for r in out.metrics} >= {"modes", "latent_nmi"}
