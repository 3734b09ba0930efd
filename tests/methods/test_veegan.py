"""VEEGAN (§3, Eq. 8, Alg. 1): D on (z, x) pairs, the noise autoencoder term, and which player each loss moves."""
import copy
import math

import numpy as np
import pydantic
import pytest
import torch

from method_checks import assert_round_trip, assert_short_trial, build, changed_groups
from methods.veegan import VEEGANParams, adversarial_term, pair_d_loss, reconstruction_loss


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def _spy_noise(m):
    """Record every (n, z_dim + eps_dim) noise draw the method makes."""
    calls, orig = [], m.noise
    m.noise = lambda *a, **kw: (calls.append(orig(*a, **kw)), calls[-1])[1]
    return calls


def _spy_grads(m):
    """Record, at each optimiser step, the gradient each player's parameters carry: {name: [tensor | None]}."""
    grads = {}
    for name, opt in m.optimizers.items():
        params, orig = opt.param_groups[0]["params"], opt.step

        def step(*a, _n=name, _ps=params, _orig=orig, **kw):
            grads[_n] = [None if q.grad is None else q.grad.clone() for q in _ps]
            return _orig(*a, **kw)

        opt.step = step
    return grads


def _groups(m):
    return {"G": list(m.G.parameters()), "F": list(m.F.parameters()), "D": list(m.D.parameters())}


def _close(a, b):
    # the same float32 ops on the same values, summed in another order: 1e-5 relative / 1e-7 absolute
    return all(torch.allclose(u, v, rtol=1e-5, atol=1e-7) for u, v in zip(a, b))


# -- the losses on hand-made values ------------------------------------------------------------------------
def test_reconstruction_loss_is_the_mean_squared_l2_norm():
    z = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    z_rec = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    # ‖(1, 2)‖² = 5 and ‖(−3, −4)‖² = 25, mean 15: a sum over latent dimensions, a mean over the batch
    assert reconstruction_loss(z, z_rec).item() == 15.0


def test_pair_losses_and_the_sign_of_the_adversarial_term_on_hand_made_logits():
    gen = np.array([[2.0], [-1.0], [0.5]])  # D on (z, G(z)) pairs: label 1
    rec = np.array([[-3.0], [0.0], [1.0], [4.0]])  # D on (z_g, x) pairs: label 0
    log_sig = lambda a: -np.log1p(np.exp(-a))  # noqa: E731
    np_d = -log_sig(gen).mean() - log_sig(-rec).mean()  # log(1 − σ(a)) = log σ(−a)
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    # float64 throughout: 1e-12 is rounding only
    assert pair_d_loss(t(gen), t(rec)).item() == pytest.approx(np_d, rel=1e-12)
    # Eq. 8's first term is the raw logit D(z, G(z)) (a log density ratio), not log σ(D): mean(2, −1, 0.5) = 0.5
    assert adversarial_term(t(gen)).item() == 0.5
    # A D that recognises G's pairs (logit +5) costs G +5, a fooled one (−5) gives −5: minimising the term
    # pushes (z, G(z)) towards D's reconstructor label. D's own loss is small when it recognises them.
    sure, fooled = t(np.full((4, 1), 5.0)), t(np.full((4, 1), -5.0))
    assert adversarial_term(sure).item() == 5.0 and adversarial_term(fooled).item() == -5.0
    assert pair_d_loss(sure, fooled).item() == pytest.approx(2 * math.log1p(math.exp(-5)), rel=1e-12)


def _linear_g_and_f(m, a, b, c, d):
    """G(z) = A z + b and F(x) = C x + d (z_dim = 2, no hidden layers)."""
    with torch.no_grad():
        m.G[0].weight.copy_(torch.tensor(a)), m.G[0].bias.copy_(torch.tensor(b))
        m.F[0].weight.copy_(torch.tensor(c)), m.F[0].bias.copy_(torch.tensor(d))


def test_train_step_reconstruction_term_on_hand_made_linear_g_and_f_equals_numpy():
    m, data = build("veegan", z_dim=2, g_hidden=())
    assert [type(layer).__name__ for layer in (*m.G, *m.F)] == ["Linear", "Linear"]  # F mirrors G: one layer
    x, y = _batch(m, data)
    a, b = [[0.5, -1.0], [2.0, 0.25]], [0.1, -0.3]
    c, d = [[1.5, 0.0], [-0.5, 1.0]], [0.2, 0.7]
    _linear_g_and_f(m, a, b, c, d)
    noise = _spy_noise(m)
    losses = m.train_step(x, y)
    z = noise[0].double().numpy()
    z_rec = (z @ np.array(a).T + b) @ np.array(c).T + d  # F(G(z)) by hand
    # float32 network vs float64 numpy: 1e-5 relative is float32 rounding
    assert losses["recon"] == pytest.approx(((z - z_rec) ** 2).sum(1).mean(), rel=1e-5)
    # identity G and F reconstruct exactly; F = 2·I gives z − 2z = −z, so the term is mean ‖z‖²
    for scale_f, want in ((1.0, lambda z: 0.0), (2.0, lambda z: (z ** 2).sum(1).mean())):
        m, _ = build("veegan", z_dim=2, g_hidden=())
        _linear_g_and_f(m, np.eye(2).tolist(), [0.0, 0.0], (scale_f * np.eye(2)).tolist(), [0.0, 0.0])
        noise = _spy_noise(m)
        recon = m.train_step(x, y)["recon"]
        assert recon == pytest.approx(want(noise[0].double().numpy()), rel=1e-6, abs=0.0)  # exact in float32


# -- what D sees ------------------------------------------------------------------------------------------
def _spy_d_inputs(m):
    """Record every (z, x) pair block D's first layer is applied to, as cat(z, x) (D's input)."""
    seen, orig = [], m.D.first_layer
    m.D.first_layer = lambda z, x: (seen.append(torch.cat([z, x], 1).detach().clone()), orig(z, x))[1]
    return seen


def test_pair_logits_are_d_on_the_concatenated_pair():
    m, _ = build("veegan")
    z, x = torch.randn(7, 256), torch.randn(7, 2)
    # column-block first layer vs gan's D on cat(z, x): float32 sums in another order, 1e-6 absolute on O(0.1)
    as_mlp = torch.nn.Sequential(*m.D)  # the same layers applied to cat(z, x) as one MLP
    assert torch.allclose(m.pair_logits(z, x), as_mlp(torch.cat([z, x], 1)), rtol=0, atol=1e-6)


def test_d_takes_z_dim_plus_data_dim_and_sees_generator_and_reconstructor_pairs():
    m, data = build("veegan", recon_noise_std=0.0)
    assert m.D[0].in_features == 256 + 2
    x, y = _batch(m, data)
    before = copy.deepcopy(m)
    noise, seen = _spy_noise(m), _spy_d_inputs(m)
    m.train_step(x, y)
    assert [s.shape for s in seen] == [(128, 258), (512, 258)]  # one D pass (Alg. 1 is simultaneous), two kinds
    z = noise[0]
    with torch.no_grad():
        gen_pairs = torch.cat([z, before.G(z)], 1)  # (z, G(z)), G before its update
        rec_pairs = torch.cat([before.F(x), x], 1)  # (F(x), x) on the real batch
    assert torch.equal(seen[0], gen_pairs)
    assert torch.equal(seen[1], rec_pairs)


def test_reconstructor_pairs_draw_z_from_n_of_f_x_and_identity():
    m, data = build("veegan")  # recon_noise_std = 1: p_θ(z|x) = N(F(x), I), as the authors' code samples it
    x, y = _batch(m, data)
    before = copy.deepcopy(m)
    seen = _spy_d_inputs(m)
    m.train_step(x, y)
    with torch.no_grad():
        eps = seen[1][:, :256] - before.F(x)
    assert torch.equal(seen[1][:, 256:], x)
    # 512·256 = 131,072 draws of N(0, 1): std of the mean 0.0028, of the std 0.002; 5σ bounds
    assert eps.mean().item() == pytest.approx(0.0, abs=0.014)
    assert eps.std().item() == pytest.approx(1.0, abs=0.01)


def test_adversarial_term_is_ds_logit_on_generator_pairs_with_a_hand_made_d():
    m, data = build("veegan")
    with torch.no_grad():  # D's output layer made constant: every pair gets logit 1.5
        m.D[-1].weight.zero_(), m.D[-1].bias.fill_(1.5)
    losses = m.train_step(*_batch(m, data))
    assert losses["adv"] == pytest.approx(1.5, rel=1e-6)  # float32 mean of equal values
    # O_LR: −log σ(1.5) on generator pairs + −log(1 − σ(1.5)) on reconstructor pairs
    assert losses["loss_d"] == pytest.approx(math.log1p(math.exp(-1.5)) + math.log1p(math.exp(1.5)), rel=1e-6)
    assert losses["loss_gf"] == pytest.approx(1.5 + losses["recon"], rel=1e-6)


# -- which player each loss moves (Alg. 1) ------------------------------------------------------------------
@pytest.mark.parametrize("params, moved", [
    ({}, {"G", "F", "D"}),
    ({"simultaneous": False}, {"G", "F", "D"}),
    ({"eps_dim": 1}, {"G", "F", "D"}),
    # F learns from the reconstruction term only (Alg. 1 g_θ): without it F stays put, G still learns from D
    ({"recon_weight": 0.0}, {"G", "D"}),
])
def test_one_step_moves_the_right_players(params, moved):
    m, data = build("veegan", **params)
    assert changed_groups(m, _groups(m), *_batch(m, data)) == moved


def test_with_a_constant_d_and_no_reconstruction_only_d_moves():
    # D's output layer zero: D(z, G(z)) is constant in G, so G's gradient is exactly 0 (Adam then moves nothing);
    # F's term is off; D itself gets O_LR's gradient on its output layer.
    m, data = build("veegan", recon_weight=0.0)
    with torch.no_grad():
        m.D[-1].weight.zero_()
    assert changed_groups(m, _groups(m), *_batch(m, data)) == {"D"}


@pytest.mark.parametrize("recon_weight", [1.0, 0.5])
def test_each_players_gradient_is_its_alg1_loss_at_the_pre_step_parameters(recon_weight):
    m, data = build("veegan", recon_noise_std=0.0, recon_weight=recon_weight)
    x, y = _batch(m, data)
    ref = copy.deepcopy(m)
    noise, grads = _spy_noise(m), _spy_grads(m)
    m.train_step(x, y)
    z = noise[0]
    gp, fp, dp = (list(getattr(ref, k).parameters()) for k in ("G", "F", "D"))
    x_g = ref.G(z)
    gen = ref.pair_logits(z, x_g)
    rec = ref.pair_logits(ref.F(x).detach(), x)
    recon = reconstruction_loss(z, ref.F(x_g))
    # Alg. 1: g_ω = ∇_ω O_LR; g_γ = ∇_γ Ô; g_θ = ∇_θ Ô, all at the same (pre-step) parameters
    assert _close(grads["D"], torch.autograd.grad(pair_d_loss(gen, rec), dp, retain_graph=True))
    o_hat = adversarial_term(gen) + recon_weight * recon
    assert _close(grads["G"], torch.autograd.grad(o_hat, gp, retain_graph=True))
    assert _close(grads["F"], torch.autograd.grad(o_hat, fp, retain_graph=True))
    # F's gradient is the reconstruction term's alone; G's has both terms (neither alone matches)
    assert _close(grads["F"], torch.autograd.grad(recon_weight * recon, fp, retain_graph=True))
    assert not _close(grads["G"], torch.autograd.grad(recon_weight * recon, gp, retain_graph=True))
    assert not _close(grads["G"], torch.autograd.grad(adversarial_term(gen), gp, retain_graph=True))


def test_alternating_order_gives_g_the_updated_d():
    m, data = build("veegan", recon_noise_std=0.0, simultaneous=False)
    x, y = _batch(m, data)
    ref = copy.deepcopy(m)
    noise, grads = _spy_noise(m), _spy_grads(m)
    m.train_step(x, y)
    z = noise[0]
    gp = list(ref.G.parameters())

    def g_grad(d_state):
        ref.D.load_state_dict(d_state)
        x_g = ref.G(z)
        return torch.autograd.grad(adversarial_term(ref.pair_logits(z, x_g))
                                   + reconstruction_loss(z, ref.F(x_g)), gp)

    pre = copy.deepcopy(ref.D.state_dict())
    assert _close(grads["G"], g_grad(m.D.state_dict()))  # D after its step
    assert not _close(grads["G"], g_grad(pre))


# -- interface ---------------------------------------------------------------------------------------------
def test_networks_are_the_shared_ones_and_f_mirrors_g():
    m, _ = build("veegan")
    gan, _ = build("gan")
    assert [p.shape for p in m.G.parameters()] == [p.shape for p in gan.G.parameters()]
    # F: 2 -> 128 ReLU -> 128 ReLU -> 256 linear (the authors' 2-D reconstructor: 2 -> 128 -> 128 -> 254)
    assert [type(layer).__name__ for layer in m.F] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [(layer.in_features, layer.out_features) for layer in m.F[::2]] == [(2, 128), (128, 128), (128, 256)]
    # D: gan's D body and head, on cat(z, x)
    assert [type(layer) for layer in m.D] == [type(layer) for layer in gan.D]
    assert m.D[0].in_features == 258 and m.D[-1].out_features == 1
    m, _ = build("veegan", g_hidden=(64, 32), f_hidden=(16,), eps_dim=1)
    assert m.G[0].in_features == 257
    assert [(layer.in_features, layer.out_features) for layer in m.F[::2]] == [(2, 16), (16, 256)]


def test_sample_shapes_scale_and_component():
    for eps_dim in (0, 1):
        m, _ = build("veegan", eps_dim=eps_dim)
        torch.manual_seed(1)
        scaled = m.sample(10, scale=4.0)
        torch.manual_seed(1)
        u = torch.randn(10, 256 + eps_dim)
        with torch.no_grad():
            assert scaled.shape == (10, 2)
            assert torch.allclose(scaled, m.G(2 * u))  # covariance ×4 = std ×2, ε included
            assert not torch.allclose(scaled, m.G(u))
        assert m.n_components == 1 and m.sample(3, component=0).shape == (3, 2)
        for bad in (-1, 1):
            with pytest.raises(ValueError, match="out of range"):
                m.sample(3, component=bad)


def test_state_dict_round_trip_through_torch_save():
    assert_round_trip("veegan")  # Adam moments of all three players restored too


def test_params_defaults_and_validation():
    p = VEEGANParams()
    assert (p.recon_weight, p.recon_noise_std, p.eps_dim, p.simultaneous, p.f_hidden) == (1.0, 1.0, 0, True, None)
    with pytest.raises(pydantic.ValidationError, match="p0 is N"):
        VEEGANParams(z_dist="uniform")
    for bad in ({"recon_weight": -1.0}, {"recon_noise_std": -0.1}, {"eps_dim": -1}):
        with pytest.raises(pydantic.ValidationError):
            VEEGANParams(**bad)


def test_short_trial_completes():
    assert_short_trial("veegan", ["modes", "hq", "sym_kl", "w1"])
