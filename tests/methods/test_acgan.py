"""AC-GAN (Odena et al. 2017, §3): L_S and L_C, D's two heads on one body, G conditioned on a one-hot class."""
import copy
import math

import numpy as np
import pytest
import torch

from method_checks import assert_round_trip, assert_short_trial, build, changed_groups
from methods.acgan import class_loglik, generator_loss, source_loglik
from methods.nets import latent


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def _np_log_sigmoid(a):
    return -np.log1p(np.exp(-a))


def _np_log_softmax(a):
    return a - np.log(np.exp(a).sum(axis=1, keepdims=True))


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _class_only_generator(m) -> torch.Tensor:
    """Make G's output depend on the class only (z's input weights 0); returns the N class points (N, 2)."""
    z_dim = m.params.z_dim
    with torch.no_grad():
        m.G[0].weight[:, :z_dim].zero_()
        m.G[0].weight[:, z_dim:].copy_(torch.randn(m.G[0].weight.shape[0], m.n_components,
                                                   generator=torch.Generator().manual_seed(0)))
        m.G[-1].weight.mul_(100.0)  # spread the points apart (default init maps everything near one point)
        points = m.G(torch.cat([torch.zeros(m.n_components, z_dim), torch.eye(m.n_components)], 1))
    assert (points[:, None] - points[None]).norm(dim=-1).add(torch.eye(m.n_components)).min() > 1e-2
    return points


def _which_class(x, points) -> np.ndarray:
    d = (x[:, None, :] - points[None]).norm(dim=-1)  # (n, N), exact
    assert d.min(dim=1).values.max() < 1e-5  # every sample is one class's point (points ≥ 0.01 apart)
    return d.argmin(dim=1).numpy()


# -- §3's losses ---------------------------------------------------------------------------------------------
def test_losses_on_hand_made_logits_equal_numpy():
    s_real = np.array([[1.5], [-0.3], [0.0], [2.2]])
    s_fake = np.array([[-1.0], [0.4], [3.0]])
    c_real = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [-3.0, 1.0, 4.0], [1.5, 1.5, -2.0]])
    y = np.array([0, 2, 2, 1])
    c_fake = np.array([[0.2, 0.1, -0.5], [1.0, -2.0, 0.0], [0.0, 3.0, 0.3]])
    c = np.array([1, 0, 1])
    np_ls = _np_log_sigmoid(s_real).mean() + np.log(1 - 1 / (1 + np.exp(-s_fake))).mean()
    np_lc = _np_log_softmax(c_real)[np.arange(4), y].mean() + _np_log_softmax(c_fake)[np.arange(3), c].mean()
    np_lg = -_np_log_sigmoid(s_fake).mean() - _np_log_softmax(c_fake)[np.arange(3), c].mean()
    # float64 throughout: agreement to 1e-12 is rounding only
    assert source_loglik(_t(s_real), _t(s_fake)).item() == pytest.approx(np_ls, rel=1e-12)
    assert class_loglik(_t(c_real), torch.tensor(y), _t(c_fake), torch.tensor(c)).item() == pytest.approx(
        np_lc, rel=1e-12)
    assert generator_loss(_t(s_fake), _t(c_fake), torch.tensor(c)).item() == pytest.approx(np_lg, rel=1e-12)
    # hand values: an undecided D (all logits 0) has L_S = 2·log ½ and L_C = 2·log(1/N)
    z1, z3 = torch.zeros(5, 1, dtype=torch.float64), torch.zeros(5, 3, dtype=torch.float64)
    lab = torch.tensor([0, 1, 2, 0, 1])
    assert source_loglik(z1, z1).item() == pytest.approx(-2 * math.log(2), rel=1e-12)
    assert class_loglik(z3, lab, z3, lab).item() == pytest.approx(-2 * math.log(3), rel=1e-12)


def _spy_step_grads(m, name):
    """Record every parameter's .grad of optimiser `name` when it steps."""
    grads, orig = [], m.optimizers[name].step
    params = [p for g in m.optimizers[name].param_groups for p in g["params"]]
    m.optimizers[name].step = lambda *a, **kw: (grads.append([p.grad.clone() for p in params]), orig(*a, **kw))[1]
    return grads


def _g_inputs(m):
    """Record every input G sees (z and the one-hot class, concatenated)."""
    seen = []
    m.G.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    return seen


def test_train_step_gradients_are_the_paper_updates():
    m, data = build("acgan", dataset="grid25")
    x, y = _batch(m, data)
    before = copy.deepcopy(m)
    d_grads, g_grads = _spy_step_grads(m, "D"), _spy_step_grads(m, "G")
    inputs = _g_inputs(m)
    losses = m.train_step(x, y)
    g_in, = inputs  # one G pass: G's step reuses the D step's fakes (fresh_fakes_for_g False)
    z_dim = m.params.z_dim
    c = g_in[:, z_dim:].argmax(1)
    assert torch.equal(g_in[:, z_dim:], torch.nn.functional.one_hot(c, 25).float())  # one-hot class after z
    fake = before.G(g_in)
    # D: maximise L_S + L_C on the real batch with ITS labels y and on the fakes with their labels c
    s_real, c_real = before.heads(x)
    s_fake, c_fake = before.heads(fake.detach())
    l_s, l_c = source_loglik(s_real, s_fake), class_loglik(c_real, y, c_fake, c)
    d_params = [*before.body.parameters(), *before.s_head.parameters(), *before.c_head.parameters()]
    want = torch.autograd.grad(-(l_s + l_c), d_params, retain_graph=True)
    # float32 sums of O(1) terms over ≤ 640 rows, in another order (D's step runs reals and fakes as one batch):
    # rounding ~1e-7 absolute survives cancellation (D's bias gradient: ±0.5 terms cancel to ~2e-5), so 1e-6
    assert all(torch.allclose(g, w, rtol=1e-5, atol=1e-6) for g, w in zip(d_grads[0], want))
    assert losses["l_s"] == pytest.approx(l_s.item(), rel=1e-6)
    assert losses["l_c"] == pytest.approx(l_c.item(), rel=1e-6)
    assert losses["loss_d"] == pytest.approx(-(l_s + l_c).item(), rel=1e-6)
    # the real labels enter D's update: with shuffled labels the class head's weight gradient differs
    shuffled = torch.autograd.grad(-(l_s + class_loglik(c_real, y.roll(1), c_fake, c)), before.c_head.weight)[0]
    i_head = len(list(before.body.parameters())) + 2  # body params, s_head weight and bias, then c_head.weight
    assert not torch.allclose(shuffled, want[i_head], rtol=1e-3, atol=0)
    # G: G before its step (it is updated last) through the updated D: −log P(S=real|fake) − log P(C=c|fake)
    ref = copy.deepcopy(before)
    for part in ("body", "s_head", "c_head"):
        getattr(ref, part).load_state_dict(getattr(m, part).state_dict())
    s_f, c_f = ref.heads(ref.G(g_in))
    want_g = torch.autograd.grad(generator_loss(s_f, c_f, c), list(ref.G.parameters()))
    assert all(torch.allclose(g, w, rtol=1e-5, atol=1e-6) for g, w in zip(g_grads[0], want_g))
    assert losses["loss_g"] == pytest.approx(generator_loss(s_f, c_f, c).item(), rel=1e-6)


def test_class_head_learns_the_real_labels():
    # G frozen (only D's optimiser steps): repeated D updates on one labelled batch lower the real-label CE
    m, data = build("acgan", dataset="ring8_mgan", lr=1e-3)
    x, y = _batch(m, data)
    ce = lambda: torch.nn.functional.cross_entropy(m.heads(x)[1], y).item()  # noqa: E731
    # N(0, 0.02) init: class logits ≈ 0, so the CE starts at log 8 (to 1e-2)
    assert ce() == pytest.approx(math.log(8), abs=1e-2)
    m.optimizers["G"].step = lambda *a, **kw: None
    g_before = [p.detach().clone() for p in m.G.parameters()]
    for _ in range(100):
        m.train_step(x, y)
    assert all(torch.equal(a, b) for a, b in zip(g_before, m.G.parameters()))
    # ring modes are separable by angle: 100 Adam(1e-3) steps take the CE far below chance (observed 0.68)
    assert 0.0 < ce() < 0.5 * math.log(8)


# -- G's input and the labels ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset, params, width", [
    ("ring8_mgan", {}, 256 + 8),  # z_dim 256 (MGAN Table 3) + 8 classes
    ("grid25", {}, 256 + 25),
    ("grid25", {"z_dim": 2}, 2 + 25),  # MD-GAN's 2-D latent (paper profile)
])
def test_generator_input_is_z_then_one_hot_class(dataset, params, width):
    m, _ = build("acgan", dataset=dataset, **params)
    assert m.G[0].in_features == width
    torch.manual_seed(3)
    out = m.sample(6, component=4)
    torch.manual_seed(3)
    z = latent(6, m.params, 1.0, "cpu")
    one_hot = torch.zeros(6, m.n_components)
    one_hot[:, 4] = 1.0
    with torch.no_grad():
        assert torch.equal(out, m.G(torch.cat([z, one_hot], 1)))


def test_fake_labels_are_uniform_or_the_batch_distribution():
    m, data = build("acgan", dataset="grid25")
    torch.manual_seed(0)
    n = 100_000
    freq = np.bincount(m.fake_labels(n, torch.zeros(4, dtype=torch.long)).numpy(), minlength=25) / n
    # uniform: each frequency 1/25 with binomial std sqrt(p(1−p)/n) ≈ 6.2e-4; 5 std over 25 classes
    assert freq == pytest.approx(np.full(25, 1 / 25), abs=5 * math.sqrt(0.04 * 0.96 / n))
    b, _ = build("acgan", dataset="grid25", fake_labels="batch")
    y = torch.tensor([3, 3, 3, 7])
    freq = np.bincount(b.fake_labels(n, y).numpy(), minlength=25) / n
    want = np.zeros(25)
    want[3], want[7] = 0.75, 0.25  # the batch's empirical label distribution
    assert freq == pytest.approx(want, abs=5 * math.sqrt(0.75 * 0.25 / n))  # 5 binomial std
    assert b.fake_labels(50, torch.full((9,), 11)).tolist() == [11] * 50


def test_sample_draws_classes_uniformly_and_component_fixes_the_class():
    m, _ = build("acgan", dataset="ring8_mgan")
    points = _class_only_generator(m)
    torch.manual_seed(0)
    n = 40_000
    freq = np.bincount(_which_class(m.sample(n), points), minlength=8) / n
    assert freq == pytest.approx(np.full(8, 1 / 8), abs=5 * math.sqrt(0.125 * 0.875 / n))  # 5 binomial std
    for k in (0, 5, 7):
        assert (_which_class(m.sample(50, component=k), points) == k).all()
    for bad in (-1, 8):
        with pytest.raises(ValueError, match="out of range"):
            m.sample(5, component=bad)


def test_sample_scale_multiplies_the_noise_covariance_only():
    m, _ = build("acgan")
    torch.manual_seed(1)
    scaled = m.sample(16, scale=4.0)
    torch.manual_seed(1)
    c = torch.randint(0, 8, (16,))  # sample draws the classes first, then z
    z = latent(16, m.params, 1.0, "cpu")
    with torch.no_grad():
        assert torch.allclose(scaled, m.generate(2 * z, c))  # covariance ×4 = std ×2; c untouched
        assert not torch.allclose(scaled, m.generate(z, c))


def test_missing_labels_raise_a_clear_error():
    m, data = build("acgan")
    x, _ = _batch(m, data)
    with pytest.raises(ValueError, match="acgan needs the class label y"):
        m.train_step(x)
    assert type(m).needs_labels is True


# -- which parameters move ---------------------------------------------------------------------------------------
def _groups(m):
    return {"G": list(m.G.parameters()), "body": list(m.body.parameters()),
            "s_head": list(m.s_head.parameters()), "c_head": list(m.c_head.parameters())}


@pytest.mark.parametrize("dataset, moved", [
    ("ring8_mgan", {"G", "body", "s_head", "c_head"}),
    # one class: the softmax over one logit is constant, so the class head's gradient is exactly zero
    ("deligan_uni", {"G", "body", "s_head"}),
])
def test_one_step_moves_the_right_groups(dataset, moved):
    m, data = build("acgan", dataset=dataset)
    assert changed_groups(m, _groups(m), *_batch(m, data)) == moved


def test_shared_body_is_gans_discriminator_body():
    m, _ = build("acgan", dataset="grid25")
    gan, _ = build("gan", dataset="grid25")
    assert [type(a) for a in m.body] == [type(a) for a in list(gan.D)[:-1]]
    assert [p.shape for p in m.body.parameters()] == [p.shape for p in list(gan.D)[0].parameters()]
    assert m.s_head.out_features == 1 and m.c_head.out_features == 25 and m.n_components == 25


# -- interface -----------------------------------------------------------------------------------------------------
def test_state_dict_round_trip_through_bytes_restores_samples_and_training():
    assert_round_trip("acgan", sample_kwargs=({}, {"component": 2}, {"scale": 0.5}))  # Adam moments too


def test_responsibilities_are_the_class_posterior():
    m, data = build("acgan")
    x, _ = _batch(m, data)
    r = m.responsibilities(x[:20])
    assert r.shape == (20, 8)
    assert torch.allclose(r, torch.softmax(m.c_head(m.body(x[:20])), 1))


def test_short_trial_completes():
    assert_short_trial("acgan", ["modes", "hq", "sym_kl", "latent_purity"])


@pytest.mark.parametrize("fresh", [False, True])
def test_g_step_reuses_or_redraws_the_fakes(fresh):
    m, data = build("acgan", fresh_fakes_for_g=fresh)
    inputs = _g_inputs(m)
    m.train_step(*_batch(m, data))
    assert len(inputs) == (2 if fresh else 1)  # one G pass (reused, as gan) or a fresh (z, c) for G's step
    if fresh:
        assert inputs[0].shape == inputs[1].shape == (128, 256 + 8) and not torch.equal(inputs[0], inputs[1])
