import copy
import io

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

from method_checks import assert_plain_latent_sampling, assert_short_trial, build, changed_groups
from methods.losses import d_loss
from methods.nets import latent
from methods.sngan import d_loss_hinge, g_loss_hinge

# MD-GAN's 2-D networks (the suite's paper profile on grid25 / ring8_mdgan): D has two hidden layers.
MDGAN_NETS = dict(z_dim=2, g_hidden=(128, 128), g_out_scale=6.0, d_hidden=(128, 128), batch_size=500,
                  fake_batch_size=500, lr=1e-3, lr_halve_every=10000)


def _batch(method, data, seed=0):
    return data.batch(method.batch_size, torch.Generator().manual_seed(seed))


def _linears(net):
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def _sn(layer) -> _SpectralNorm:
    return layer.parametrizations.weight[0]


def _spectral_norm_error(layer) -> float:
    """|σ_max(W_SN) − 1| for the effective weight as the layer would use it now (read in eval mode, so reading
    it runs no power iteration)."""
    layer.eval()
    with torch.no_grad():
        sigma = torch.linalg.matrix_norm(layer.weight.double(), 2).item()
    layer.train()
    return abs(sigma - 1.0)


# -- the parametrization is torch's own, on every linear layer of D and nowhere else --------------------------
@pytest.mark.parametrize("params, n_layers", [({}, 2), (MDGAN_NETS, 3)])
def test_every_linear_layer_of_d_is_torch_spectral_norm(params, n_layers):
    m, _ = build("sngan", **params)
    layers = _linears(m.D)
    assert len(layers) == n_layers  # hidden layers and the output layer
    for layer in layers:
        assert parametrize.is_parametrized(layer, "weight")
        assert len(layer.parametrizations.weight) == 1 and isinstance(_sn(layer), _SpectralNorm)
        assert _sn(layer).n_power_iterations == 1
    assert not any(parametrize.is_parametrized(layer) for layer in _linears(m.G))


@pytest.mark.parametrize("params, forwards, tol", [
    # default D: a 128×2 layer (σ2/σ1 ≈ 0.8) and the 1×128 head (rank 1, exact after one iteration); the
    # power-iteration error falls like (σ2/σ1)^(2k), so after 15 + 50 iterations only float32 rounding is left
    ({}, 50, 1e-5),
    # MD-GAN's D adds a 128×128 layer whose σ2/σ1 ≈ 0.98 converges slowly: after 15 + 200 iterations
    # 0.98^430 ≈ 2e-4 bounds the error
    (MDGAN_NETS, 200, 1e-3),
])
def test_effective_weights_have_unit_spectral_norm_after_power_iterations(params, forwards, tol):
    m, data = build("sngan", **params)
    x = _batch(m, data)[0]
    with torch.no_grad():
        for _ in range(forwards):  # train mode: one power iteration per forward
            m.D(x)
    for layer in _linears(m.D):
        assert _spectral_norm_error(layer) < tol
        original = layer.parametrizations.weight.original.detach()
        sigma = torch.linalg.matrix_norm(original.double(), 2).item()
        assert abs(sigma - 1) > 0.5  # the raw weights are far from unit norm (init N(0, 0.02): σ ≈ 0.2–0.5)
        layer.eval()
        assert torch.allclose(layer.weight.double(), original.double() / sigma, rtol=tol, atol=1e-6)
        layer.train()


def test_one_power_iteration_per_train_forward_and_none_in_eval():
    m, data = build("sngan")
    x = _batch(m, data)[0][:64]
    layer = _linears(m.D)[0]
    sn, w = _sn(layer), layer.parametrizations.weight.original.detach()
    u0, v0 = sn._u.clone(), sn._v.clone()
    with torch.no_grad():
        m.D(x)
    # torch's power method: u ← W v / ‖W v‖, then v ← Wᵀ u / ‖Wᵀ u‖ — once
    u1 = w @ v0 / (w @ v0).norm()
    v1 = w.T @ u1 / (w.T @ u1).norm()
    assert torch.allclose(sn._u, u1, atol=1e-6) and torch.allclose(sn._v, v1, atol=1e-6)  # float32 rounding
    assert not torch.allclose(sn._u, u0, atol=1e-6)  # it did move (15 init iterations are not converged)
    u_train, v_train = sn._u.clone(), sn._v.clone()
    m.D.eval()
    with torch.no_grad():
        m.D(x)
    assert torch.equal(sn._u, u_train) and torch.equal(sn._v, v_train)  # eval mode: no iteration


def test_sngan_is_gan_plus_spectral_norm():
    # same seed: G and D's raw weights are drawn in gan's order, so sngan differs from gan only by SN
    sn, _ = build("sngan")
    gan, _ = build("gan")
    assert all(torch.equal(a, b) for a, b in zip(sn.G.parameters(), gan.G.parameters()))
    # parametrize swaps each Linear's class for a ParametrizedLinear subclass of it
    assert len(sn.D) == len(gan.D) and all(isinstance(a, type(b)) for a, b in zip(sn.D, gan.D))
    for a, b in zip(_linears(sn.D), _linears(gan.D)):
        assert torch.equal(a.parametrizations.weight.original, b.weight) and torch.equal(a.bias, b.bias)
    assert [(g["lr"], g["betas"]) for o in sn.optimizers.values() for g in o.param_groups] == \
        [(g["lr"], g["betas"]) for o in gan.optimizers.values() for g in o.param_groups]


# -- losses ------------------------------------------------------------------------------------------------------
def _np_log_sigmoid(a):
    return -np.log1p(np.exp(-a))


def test_losses_on_hand_made_logits():
    real = torch.tensor([0.5, 2.0, -1.0], dtype=torch.float64)
    fake = torch.tensor([-2.0, 0.0, 0.5], dtype=torch.float64)
    # hinge: mean(relu(1 − r)) = (0.5 + 0 + 2)/3, mean(relu(1 + f)) = (0 + 1 + 1.5)/3; G: −mean(f) = 0.5
    assert d_loss_hinge(real, fake).item() == pytest.approx(5 / 3, rel=1e-12)
    assert g_loss_hinge(fake).item() == pytest.approx(0.5, rel=1e-12)
    m, _ = build("sngan")
    r, f = real.numpy(), fake.numpy()
    np_d = -_np_log_sigmoid(r).mean() - _np_log_sigmoid(-f).mean()  # −E log D(x) − E log(1 − D(G(z)))
    assert m.discriminator_loss(real, fake).item() == pytest.approx(np_d, rel=1e-12)  # float64: rounding only
    h, _ = build("sngan", loss="hinge")
    assert h.discriminator_loss(real, fake).item() == pytest.approx(5 / 3, rel=1e-12)
    # G's loss takes points: replace D by a module that returns the hand-made logits whatever the points.
    points = torch.zeros(3, 2)
    for method, want in ((m, -_np_log_sigmoid(f).mean()), (h, 0.5)):
        method.D = _Const(fake)
        assert method.generator_loss(points, points).item() == pytest.approx(want, rel=1e-12)


class _Const(nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits


@pytest.mark.parametrize("loss", ["nonsaturating", "hinge"])
def test_train_step_reports_the_chosen_loss_on_the_pre_step_networks(loss):
    m, data = build("sngan", loss=loss)
    x, y = _batch(m, data)
    ref = copy.deepcopy(m)  # same u/v: replaying the same forwards repeats the same power iterations
    torch.manual_seed(3)
    out = m.train_step(x, y)
    torch.manual_seed(3)
    with torch.no_grad():
        fake = ref.G(latent(128, ref.params, 1.0, "cpu"))
        want = ref.discriminator_loss(ref.D(x), ref.D(fake))
    assert out["loss_d"] == pytest.approx(want.item(), rel=1e-6)  # same float32 ops on the same values
    with torch.no_grad():
        ref.D.eval()  # the other objective on the same networks: a different number, so the switch is seen
        other = (d_loss_hinge if loss == "nonsaturating" else d_loss)(ref.D(x), ref.D(fake))
    assert out["loss_d"] != pytest.approx(other.item(), rel=1e-3)


# -- interface -----------------------------------------------------------------------------------------------------
def test_one_step_moves_g_and_d():
    m, data = build("sngan")
    groups = {"G": list(m.G.parameters()), "D": list(m.D.parameters())}  # D: raw weights and biases
    assert changed_groups(m, groups, *_batch(m, data)) == {"G", "D"}


def test_sample_scale_and_component():
    assert_plain_latent_sampling("sngan")


def test_state_dict_round_trip_keeps_u_and_v():
    m, data = build("sngan", seed=0)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        m.train_step(*data.batch(m.batch_size, g))
    state = m.state_dict()
    for i in (0, 2):  # the two Linear layers of D = Linear, LeakyReLU, Linear
        for vec in ("_u", "_v"):
            assert f"D.{i}.parametrizations.weight.0.{vec}" in state["modules"]
    buf = io.BytesIO()
    torch.save(state, buf)
    fresh, _ = build("sngan", seed=1)
    buf.seek(0)
    fresh.load_state_dict(torch.load(buf))
    for a, b in zip(_linears(m.D), _linears(fresh.D)):
        assert torch.equal(_sn(a)._u, _sn(b)._u) and torch.equal(_sn(a)._v, _sn(b)._v)
    torch.manual_seed(4)
    s = m.sample(100)
    torch.manual_seed(4)
    assert torch.equal(s, fresh.sample(100))
    x, y = data.batch(m.batch_size, g)
    torch.manual_seed(5)
    la = m.train_step(x, y)
    torch.manual_seed(5)
    assert fresh.train_step(x, y) == la  # D's output depends on u/v: equal only if they were restored


def test_md_gan_paper_profile_resolves_and_trains():
    from bench.suites import build_plan, load_suite

    plan = build_plan(load_suite("mode_collapse"), "paper", methods="sngan", datasets="grid25", seeds=1)
    (spec,) = plan.trials
    assert spec.steps == 40000 and spec.params["d_hidden"] == [128, 128] and spec.params["lr"] == 1e-3
    m, data = build("sngan", dataset="grid25", **spec.params)
    assert len(_linears(m.D)) == 3 and all(parametrize.is_parametrized(la) for la in _linears(m.D))
    assert m.batch_size == 500 and m.G[-1].scale == 6.0
    out = m.train_step(*_batch(m, data))
    assert np.isfinite(list(out.values())).all()


def test_short_trial_completes():
    assert_short_trial("sngan", ["modes", "hq", "sym_kl"])
