import copy

import numpy as np
import pydantic
import pytest
import torch

from method_checks import assert_round_trip, assert_short_trial, build, changed_groups
from methods.losses import g_loss_nonsaturating
from methods.mgan import classifier_loss, generator_loss
from methods.nets import latent


def _batch(method, data, seed=0):
    return data.batch(method.batch_size, torch.Generator().manual_seed(seed))


def _spy(method, name):
    """Wrap method.<name> so every call's return value is recorded (detached clones)."""
    calls, orig = [], getattr(method, name)

    def wrapper(*a, **kw):
        out = orig(*a, **kw)
        calls.append(tuple(t.detach().clone() for t in out) if isinstance(out, tuple) else out.detach().clone())
        return out

    setattr(method, name, wrapper)
    return calls


def _constant_generators(method) -> torch.Tensor:
    """Make generator k a constant map (input weights 0, input bias k-specific); returns the K points (K, 2)."""
    with torch.no_grad():
        method.G.w_in.zero_()
        k, _, h = method.G.b_in.shape
        method.G.b_in.copy_(torch.linspace(0.5, 4.0, k * h).reshape(k, 1, h))
        points = method.G.shared(torch.relu(method.G.b_in[:, 0]))
    assert (points[:, None] - points[None]).norm(dim=-1).add(torch.eye(k)).min() > 1e-2  # K distinct points
    return points


def _which_generator(x, points) -> np.ndarray:
    d = (x[:, None, :] - points[None]).norm(dim=-1)  # (N, K), exact (cdist's matmul form loses ~1e-4)
    assert d.min(dim=1).values.max() < 1e-6  # every sample is one generator's point (points 0.03 apart)
    return d.argmin(dim=1).numpy()


# -- Alg. 2's losses ---------------------------------------------------------------------------------------
def _np_log_sigmoid(a):
    return -np.log1p(np.exp(-a))


def _np_log_softmax(a):
    return a - np.log(np.exp(a).sum(axis=1, keepdims=True))


def test_losses_on_hand_made_logits_equal_numpy_alg2():
    c = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [-3.0, 1.0, 4.0], [1.5, 1.5, -2.0]])
    u = np.array([0, 2, 1, 1])
    d_fake = np.array([[0.3], [-1.2], [2.0], [-0.4]])
    beta = 0.37
    np_lc = -_np_log_softmax(c)[np.arange(4), u].mean()  # Alg. 2 line 4 (no β)
    np_lg = -_np_log_sigmoid(d_fake).mean() + beta * np_lc  # Alg. 2 line 8
    # hand check of one term: row 1 has equal logits, so log C_2 = −log 3
    assert _np_log_softmax(c)[1, 2] == pytest.approx(-np.log(3), rel=1e-12)
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    # float64 throughout: agreement to 1e-12 is rounding only
    assert classifier_loss(t(c), torch.tensor(u)).item() == pytest.approx(np_lc, rel=1e-12)
    assert generator_loss(t(d_fake), t(c), torch.tensor(u), beta).item() == pytest.approx(np_lg, rel=1e-12)
    assert generator_loss(t(d_fake), t(c), torch.tensor(u), 0.0).item() == pytest.approx(
        -_np_log_sigmoid(d_fake).mean(), rel=1e-12)


def test_train_step_reports_alg2_losses_and_beta_enters_only_l_g():
    out = {}
    for beta in (0.0, 1.0):
        m, data = build("mgan", beta=beta)
        x, y = _batch(m, data)
        before = copy.deepcopy(m)
        fakes = _spy(m, "fakes")
        torch.manual_seed(7)
        losses = m.train_step(x, y)
        (f1, u1), (f2, u2) = fakes  # D/C step's fakes, then Alg. 2 line 7's fresh ones for G
        assert not torch.equal(f1, f2)
        with torch.no_grad():
            d_real, _ = before.heads(x)
            d_f1, c_f1 = before.heads(f1)  # C/D losses are evaluated before their update
            d_f2, c_f2 = m.heads(f2)  # G's loss sees the updated C/D
        n = lambda a: a.double().numpy()  # noqa: E731
        np_lc = -_np_log_softmax(n(c_f1))[np.arange(len(u1)), u1.numpy()].mean()
        np_ld = -_np_log_sigmoid(n(d_real)).mean() - _np_log_sigmoid(-n(d_f1)).mean()  # log(1−σ(a)) = logσ(−a)
        np_lc2 = -_np_log_softmax(n(c_f2))[np.arange(len(u2)), u2.numpy()].mean()
        np_lg = -_np_log_sigmoid(n(d_f2)).mean() + beta * np_lc2
        # float32 networks vs float64 numpy on the same logits: 1e-5 relative is float32 rounding
        assert losses["loss_c"] == pytest.approx(np_lc, rel=1e-5)
        assert losses["loss_d"] == pytest.approx(np_ld, rel=1e-5)
        assert losses["loss_g"] == pytest.approx(np_lg, rel=1e-5)
        cd_after = [p.detach().clone() for part in (m.body, m.d_head, m.c_head) for p in part.parameters()]
        out[beta] = (losses, np_lc2, cd_after)
    # same init, batch and noise: L_C and L_D do not depend on β; L_G differs by exactly β·L_C(G-step fakes)
    assert out[1.0][0]["loss_c"] == out[0.0][0]["loss_c"]
    assert out[1.0][0]["loss_d"] == out[0.0][0]["loss_d"]
    assert all(torch.equal(a, b) for a, b in zip(out[1.0][2], out[0.0][2]))  # C/D's update has no β either
    assert out[1.0][0]["loss_g"] - out[0.0][0]["loss_g"] == pytest.approx(out[1.0][1], rel=1e-4)  # float32 sum


# -- equal sampling per generator ---------------------------------------------------------------------------
def test_train_step_draws_exactly_128_fakes_from_each_of_8_generators():
    m, data = build("mgan")
    points = _constant_generators(m)
    fakes = _spy(m, "fakes")
    m.train_step(*_batch(m, data))
    assert len(fakes) == 2  # Alg. 2 lines 3 and 7
    for x, u in fakes:
        assert x.shape == (1024, 2)
        assert np.bincount(u.numpy(), minlength=8).tolist() == [128] * 8
        assert (_which_generator(x, points) == u.numpy()).all()  # u_n names the generator that made x'_n


def test_sample_draws_equal_counts_and_one_generator_with_component():
    m, _ = build("mgan")
    points = _constant_generators(m)
    x, u = m.sample_with_generators(1000)
    assert np.bincount(_which_generator(x, points), minlength=8).tolist() == [125] * 8
    assert (_which_generator(x, points) == u.numpy()).all()
    # n not divisible by K: the first n mod K generators give one extra; sample i is from generator i mod 8
    x = m.sample(1003)
    gens = _which_generator(x, points)
    assert np.bincount(gens, minlength=8).tolist() == [126, 126, 126] + [125] * 5
    assert (gens == np.arange(1003) % 8).all()
    for k in (0, 5, 7):
        assert (_which_generator(m.sample(50, component=k), points) == k).all()
    for bad in (-1, 8):
        with pytest.raises(ValueError, match="out of range"):
            m.sample(5, component=bad)


def test_sample_scale_multiplies_the_latent_covariance():
    m, _ = build("mgan")
    torch.manual_seed(1)
    scaled = m.sample(16, scale=4.0)
    scaled_k = m.sample(5, scale=4.0, component=3)
    torch.manual_seed(1)
    z = latent(16, m.params, 1.0, "cpu").view(8, 2, 256)
    zk = latent(5, m.params, 1.0, "cpu").view(1, 5, 256)
    with torch.no_grad():
        assert scaled.shape == (16, 2)
        assert torch.allclose(scaled, m.G(2 * z).transpose(0, 1).reshape(16, 2))  # covariance ×4 = std ×2
        assert torch.allclose(scaled_k, m.G(2 * zk, torch.tensor([3]))[0])
        assert not torch.allclose(scaled, m.G(z).transpose(0, 1).reshape(16, 2))


# -- which parameters move ---------------------------------------------------------------------------------
def _groups(m):
    return {"G_in": [m.G.w_in, m.G.b_in], "G_shared": list(m.G.shared.parameters()),
            "body": list(m.body.parameters()), "d_head": list(m.d_head.parameters()),
            "c_head": list(m.c_head.parameters())}


@pytest.mark.parametrize("params, moved", [
    ({}, {"G_in", "G_shared", "body", "d_head", "c_head"}),
    ({"beta": 0.0}, {"G_in", "G_shared", "body", "d_head", "c_head"}),  # L_C still trains C at β = 0
    # one generator: softmax over one logit is constant, so C's head gets exactly zero gradient
    ({"n_generators": 1}, {"G_in", "G_shared", "body", "d_head"}),
])
def test_one_step_moves_the_right_groups(params, moved):
    m, data = build("mgan", **params)
    w_before = m.G.w_in.detach().clone()
    assert changed_groups(m, _groups(m), *_batch(m, data)) == moved
    assert all(not torch.equal(w_before[k], m.G.w_in[k]) for k in range(m.n_components))  # every generator


def test_shared_body_is_gans_discriminator_body():
    m, _ = build("mgan")
    gan, _ = build("gan")
    assert [type(a) for a in m.body] == [type(a) for a in list(gan.D)[:-1]]
    assert [p.shape for p in m.body.parameters()] == [p.shape for p in list(gan.D)[0].parameters()]
    assert m.d_head.out_features == 1 and m.c_head.out_features == 8


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_generator_gradient_at_beta_0_is_the_plain_nonsaturating_gradient(beta):
    m, data = build("mgan", beta=beta)
    x, y = _batch(m, data)
    before = copy.deepcopy(m)
    zs, orig_forward = [], m.G.forward
    m.G.forward = lambda z, gens=None: (zs.append(z.clone()), orig_forward(z, gens))[1]
    grads, orig_step = [], m.optimizers["G"].step
    m.optimizers["G"].step = lambda *a, **kw: (grads.append([p.grad.clone() for p in m.G.parameters()]),
                                               orig_step(*a, **kw))[1]
    m.train_step(x, y)
    # reference: G before the step (G is updated last), C/D after their update, the G step's noise
    ref = before
    for name in ("body", "d_head", "c_head"):
        getattr(ref, name).load_state_dict(getattr(m, name).state_dict())
    fake = ref.G(zs[1]).reshape(-1, 2)
    d_fake, c_fake = ref.heads(fake)
    u = torch.arange(8).repeat_interleave(128)
    plain = torch.autograd.grad(g_loss_nonsaturating(d_fake), list(ref.G.parameters()), retain_graph=True)
    full = torch.autograd.grad(generator_loss(d_fake, c_fake, u, beta), list(ref.G.parameters()))
    # same float32 ops on the same values: 1e-5 relative / 1e-9 absolute is summation-order rounding
    assert all(torch.allclose(g, r, rtol=1e-5, atol=1e-9) for g, r in zip(grads[0], full))
    same_as_plain = all(torch.allclose(g, r, rtol=1e-5, atol=1e-9) for g, r in zip(grads[0], plain))
    assert same_as_plain == (beta == 0.0)  # β > 0: C's term changes G's gradient


def test_one_generator_and_beta_0_is_the_plain_gan():
    gan, data = build("gan")
    x, y = _batch(gan, data)
    for fresh in (False, True):
        g = copy.deepcopy(gan)
        m, _ = build("mgan", n_generators=1, beta=0.0, fresh_fakes_for_g=fresh)
        with torch.no_grad():  # gan's G = Linear, ReLU, Linear, ReLU, Linear; D = Linear, LeakyReLU, Linear
            m.G.w_in[0].copy_(g.G[0].weight.T)
            m.G.b_in[0, 0].copy_(g.G[0].bias)
        m.G.shared.load_state_dict({k: v for k, v in
                                    torch.nn.Sequential(*list(g.G)[2:]).state_dict().items()})
        m.body.load_state_dict(torch.nn.Sequential(*list(g.D)[:2]).state_dict())
        m.d_head.load_state_dict(g.D[2].state_dict())
        torch.manual_seed(3)
        lg = g.train_step(x, y)
        torch.manual_seed(3)
        lm = m.train_step(x, y)
        assert lm["loss_c"] == 0.0  # log softmax over one class
        # same float32 ops on the same noise (one (1, 128, 256) block = gan's (128, 256) draw): 1e-6 rounding
        assert lm["loss_d"] == pytest.approx(lg["loss_d"], rel=1e-6)
        if not fresh:  # the D-step noise reused for G, as gan does: the whole step is gan's
            assert lm["loss_g"] == pytest.approx(lg["loss_g"], rel=1e-6)
            assert torch.allclose(m.G.w_in[0], g.G[0].weight.T, atol=1e-7)
            assert torch.allclose(m.G.shared[-1].weight, g.G[-1].weight, atol=1e-7)
            assert torch.allclose(m.d_head.weight, g.D[2].weight, atol=1e-7)
        else:  # Alg. 2 line 7: G's step sees fresh fakes, so its loss is on other points
            assert lm["loss_g"] != pytest.approx(lg["loss_g"], rel=1e-6)


# -- interface -----------------------------------------------------------------------------------------------
def test_state_dict_round_trip_restores_samples_and_training():
    m, fresh = assert_round_trip("mgan", sample_kwargs=({}, {"component": 3}))
    assert torch.equal(m.G.w_in, fresh.G.w_in)


def test_responsibilities_are_the_classifier_softmax():
    m, data = build("mgan")
    x, _ = _batch(m, data)
    r = m.responsibilities(x[:20])
    assert r.shape == (20, 8)
    assert torch.allclose(r.sum(1), torch.ones(20))
    assert torch.allclose(r, torch.softmax(m.c_head(m.body(x[:20])), 1))


def test_params_are_validated():
    from methods.mgan import MGANParams

    assert MGANParams().n_generators == 8 and MGANParams().beta == 0.125 and MGANParams().fake_batch_size == 128
    for bad in ({"n_generators": 0}, {"beta": -0.1}, {"g_hidden": ()}):
        with pytest.raises(pydantic.ValidationError):
            MGANParams(**bad)


def test_short_trial_completes():
    assert_short_trial("mgan", ["modes", "hq", "sym_kl", "latent_purity"])
