import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from method_checks import assert_plain_latent_sampling, assert_round_trip, assert_short_trial, build, changed_groups
from methods.d2gan import D2GANParams, discriminator_loss, generator_loss, log_softplus


def _batch(method, data, seed=0):
    return data.batch(method.batch_size, torch.Generator().manual_seed(seed))


def _logit(d: np.ndarray) -> torch.Tensor:
    """Inverse softplus in float64: the logit a with softplus(a) = d > 0."""
    return torch.tensor(np.log(np.expm1(d)), dtype=torch.float64)


def _np_losses(d1r, d1f, d2r, d2f, alpha, beta):
    """(D's loss, G's loss) of Eq. 2 from positive D values, in numpy."""
    j = alpha * np.log(d1r).mean() - d1f.mean() - d2r.mean() + beta * np.log(d2f).mean()  # Eq. 2: J
    return -j, -d1f.mean() + beta * np.log(d2f).mean()


# -- Eq. 2 on hand-made discriminator outputs -------------------------------------------------------------------
def test_losses_on_hand_made_positive_outputs_equal_numpy():
    d1r, d1f = np.array([2.0, 0.5, 1.2, 3.0]), np.array([0.1, 0.7, 0.05])
    d2r, d2f = np.array([0.3, 1.1, 0.02, 0.6]), np.array([1.5, 4.0, 0.9])
    alpha, beta = 0.7, 0.3
    want_d, want_g = _np_losses(d1r, d1f, d2r, d2f, alpha, beta)
    # one term by hand: the D1 part −α·mean log D1(x) + mean D1(G(z)) with the numbers above
    assert -alpha * np.log(d1r).mean() + d1f.mean() == pytest.approx(
        -0.7 * np.log(2.0 * 0.5 * 1.2 * 3.0) / 4 + 0.85 / 3, rel=1e-12)
    a1r, a1f, a2r, a2f = map(_logit, (d1r, d1f, d2r, d2f))
    # float64 throughout: agreement to 1e-12 is rounding only
    assert discriminator_loss(a1r, a1f, a2r, a2f, alpha, beta).item() == pytest.approx(want_d, rel=1e-12)
    assert generator_loss(a1f, a2f, beta).item() == pytest.approx(want_g, rel=1e-12)
    # α and β enter where Eq. 2 puts them: swapping them changes both numbers
    assert discriminator_loss(a1r, a1f, a2r, a2f, beta, alpha).item() != pytest.approx(want_d, rel=1e-6)
    assert generator_loss(a1f, a2f, alpha).item() != pytest.approx(want_g, rel=1e-6)


def test_log_softplus_is_log_d_and_stays_finite_where_softplus_underflows():
    a = torch.linspace(-19.9, 30.0, 500, dtype=torch.float64)
    assert torch.allclose(log_softplus(a), torch.log(F.softplus(a)), rtol=1e-12, atol=0)  # the plain formula
    deep = torch.tensor([-20.5, -50.0, -200.0, -1e4], requires_grad=True)  # float32, as in training
    assert torch.isinf(torch.log(F.softplus(deep.detach()[2:]))).all()  # naive log D = −inf there
    out = log_softplus(deep)
    # log softplus(a) = a − e^a/2 + … : equal to a within e^−20.5/2 ≈ 6e-10 (below float32 resolution here)
    assert torch.equal(out, deep.detach())
    out.sum().backward()
    assert torch.isfinite(deep.grad).all() and torch.allclose(deep.grad, torch.ones(4))  # d/da log e^a = 1


def test_discriminator_outputs_are_positive():
    m, data = build("d2gan")
    x = torch.cat([_batch(m, data)[0], 50 * torch.randn(256, 2)])  # data and far-away points
    d1, d2 = m.discriminators(x)
    assert d1.shape == d2.shape == (x.shape[0], 1)
    assert (d1 > 0).all() and (d2 > 0).all()
    assert torch.allclose(d1, F.softplus(m.D1(x))) and torch.allclose(d2, F.softplus(m.D2(x)))


def test_optimal_discriminators_on_a_discrete_toy_are_prop1_and_the_value_is_thm2():
    # three atoms; p_data = (0.5, 0.3, 0.2), p_G = (0.2, 0.2, 0.6), as sample multisets whose means are exact
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.2, 0.6])
    real_ids = torch.tensor([0] * 5 + [1] * 3 + [2] * 2)
    fake_ids = torch.tensor([0] * 1 + [1] * 1 + [2] * 3)
    alpha, beta = 0.7, 0.3
    a1 = torch.zeros(3, dtype=torch.float64, requires_grad=True)  # D1's logit at each atom
    a2 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([a1, a2], lr=1, max_iter=500, tolerance_grad=1e-14, tolerance_change=1e-16,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = discriminator_loss(a1[real_ids], a1[fake_ids], a2[real_ids], a2[fake_ids], alpha, beta)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    d1, d2 = F.softplus(a1).detach().numpy(), F.softplus(a2).detach().numpy()
    # Prop. 1: D1* = α p/q, D2* = β q/p (the maximiser is unique: J is strictly concave in each D value);
    # 1e-6 relative: the optimiser's stopping point, far below any wrong formula (e.g. α ↔ β: ×2.3)
    assert d1 == pytest.approx(alpha * p / q, rel=1e-6)
    assert d2 == pytest.approx(beta * q / p, rel=1e-6)
    # Thm. 2: J(G, D1*, D2*) = α(log α − 1) + β(log β − 1) + α KL(p‖q) + β KL(q‖p)
    kl_pq, kl_qp = np.sum(p * np.log(p / q)), np.sum(q * np.log(q / p))
    thm2 = alpha * (np.log(alpha) - 1) + beta * (np.log(beta) - 1) + alpha * kl_pq + beta * kl_qp
    assert -closure().item() == pytest.approx(thm2, rel=1e-10)


# -- the training step -------------------------------------------------------------------------------------------
def test_train_step_losses_are_eq2_and_g_uses_fresh_noise():
    m, data = build("d2gan", alpha=0.6, beta=0.4)
    x, y = _batch(m, data)
    ref = copy.deepcopy(m)
    zs, orig = [], m.G.forward
    m.G.forward = lambda z: (zs.append(z.clone()), orig(z))[1]
    out = m.train_step(x, y)
    assert len(zs) == 2 and not torch.equal(zs[0], zs[1])  # the G step draws new z (the authors' code)
    n = lambda t: t.detach().double().numpy()  # noqa: E731
    with torch.no_grad():
        fake_d = ref.G(zs[0])  # the D step: pre-step discriminators on the first fakes
        d1r, d2r = map(n, ref.discriminators(x))
        d1f, d2f = map(n, ref.discriminators(fake_d))
        fake_g = ref.G(zs[1])  # the G step: pre-step G (updated last), updated discriminators
        g1f, g2f = map(n, m.discriminators(fake_g))
    want_d, _ = _np_losses(d1r, d1f, d2r, d2f, 0.6, 0.4)
    _, want_g = _np_losses(d1r, g1f, d2r, g2f, 0.6, 0.4)
    # float32 networks vs float64 numpy on the same values: 1e-5 relative is float32 rounding
    assert out["loss_d"] == pytest.approx(want_d, rel=1e-5)
    assert out["loss_g"] == pytest.approx(want_g, rel=1e-5)


def test_defaults_and_shared_networks():
    p = D2GANParams()
    assert (p.alpha, p.beta) == (1.0, 1.0)  # tund/D2GAN main.py (2-D demo)
    assert (p.lr, p.betas, p.z_dim, p.g_hidden, p.d_hidden) == (2e-4, (0.5, 0.999), 256, (128, 128), (128,))
    m, _ = build("d2gan")
    gan, _ = build("gan")
    for d in (m.D1, m.D2):  # both are the shared discriminator (a logit; softplus on top)
        assert [type(a) for a in d] == [type(b) for b in gan.D]
        assert [t.shape for t in d.parameters()] == [t.shape for t in gan.D.parameters()]
    assert not {id(t) for t in m.D1.parameters()} & {id(t) for t in m.D2.parameters()}  # nothing shared
    assert not torch.equal(m.D1[0].weight, m.D2[0].weight)  # independently initialised
    for bad in ({"alpha": 0.0}, {"beta": -1.0}):
        with pytest.raises(ValueError):
            D2GANParams(**bad)


# -- interface ------------------------------------------------------------------------------------------------------
def test_one_step_moves_g_d1_and_d2():
    m, data = build("d2gan")
    groups = {"G": list(m.G.parameters()), "D1": list(m.D1.parameters()), "D2": list(m.D2.parameters())}
    assert changed_groups(m, groups, *_batch(m, data)) == {"G", "D1", "D2"}


def test_sample_scale_and_component():
    assert_plain_latent_sampling("d2gan")


def test_state_dict_round_trip_through_torch_save():
    assert_round_trip("d2gan")  # both discriminators and the joint Adam restored


def test_short_trial_completes():
    assert_short_trial("d2gan", ["modes", "hq", "sym_kl"])
