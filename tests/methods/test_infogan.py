"""InfoGAN (Chen et al. 2016, Eq. 5–6, §6): the MI lower bound L_I, Q on D's body, the categorical code."""
import copy
import math

import numpy as np
import pydantic
import pytest
import torch

from method_checks import assert_round_trip, assert_short_trial, build, changed_groups
from methods.infogan import info_lower_bound
from methods.losses import d_loss, g_loss_nonsaturating
from methods.nets import latent


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def _np_log_softmax(a):
    return a - np.log(np.exp(a).sum(axis=1, keepdims=True))


def _code_only_generator(m) -> torch.Tensor:
    """Make G's output depend on the code only (z's input weights 0); returns the K code points (K, 2)."""
    z_dim, k = m.params.z_dim, m.n_components
    with torch.no_grad():
        m.G[0].weight[:, :z_dim].zero_()
        m.G[0].weight[:, z_dim:].copy_(torch.randn(m.G[0].weight.shape[0], k,
                                                   generator=torch.Generator().manual_seed(0)))
        m.G[-1].weight.mul_(100.0)  # spread the points apart (default init maps everything near one point)
        points = m.G(torch.cat([torch.zeros(k, z_dim), torch.eye(k)], 1))
    assert (points[:, None] - points[None]).norm(dim=-1).add(torch.eye(k)).min() > 1e-2
    return points


def _which_code(x, points) -> np.ndarray:
    d = (x[:, None, :] - points[None]).norm(dim=-1)  # (n, K), exact
    assert d.min(dim=1).values.max() < 1e-5  # every sample is one code's point (points ≥ 0.01 apart)
    return d.argmin(dim=1).numpy()


def _g_inputs(m):
    """Record every input G sees (z and the one-hot code, concatenated)."""
    seen = []
    m.G.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    return seen


def _spy_step_grads(m, name):
    """Record every parameter's .grad of optimiser `name` when it steps."""
    grads, orig = [], m.optimizers[name].step
    params = [p for g in m.optimizers[name].param_groups for p in g["params"]]
    m.optimizers[name].step = lambda *a, **kw: (grads.append([p.grad.clone() for p in params]), orig(*a, **kw))[1]
    return grads


# -- Eq. 5 -----------------------------------------------------------------------------------------------------
def test_info_lower_bound_on_hand_made_logits_equals_numpy():
    q = np.array([[2.0, -1.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0], [-3.0, 1.0, 4.0, 2.0], [1.5, 1.5, -2.0, 0.3],
                  [0.1, 0.2, 0.3, 0.4]])
    c = np.array([0, 2, 2, 1, 3])
    np_li = _np_log_softmax(q)[np.arange(5), c].mean() + np.log(4)  # E log Q(c|x) + H(c), H = log K
    got = info_lower_bound(torch.tensor(q, dtype=torch.float64), torch.tensor(c)).item()
    assert got == pytest.approx(np_li, rel=1e-12)  # float64: rounding only
    # hand values: an uninformative Q (equal logits) gives L_I = log(1/K) + log K = 0; a certain, correct Q → log K
    assert info_lower_bound(torch.zeros(6, 5, dtype=torch.float64), torch.arange(6) % 5).item() == pytest.approx(
        0.0, abs=1e-15)
    sure = 50.0 * torch.eye(5, dtype=torch.float64)  # log Q(c|x) = −log(1 + 4e^{−50}) ≈ −7.7e−22
    assert info_lower_bound(sure, torch.arange(5)).item() == pytest.approx(math.log(5), rel=1e-12)
    assert info_lower_bound(torch.randn(7, 1), torch.zeros(7, dtype=torch.long)).item() == 0.0  # K = 1: no info


def test_train_step_gradients_are_the_paper_updates():
    lam = 0.7
    m, data = build("infogan", dataset="grid25", lam=lam)
    x, y = _batch(m, data)
    before = copy.deepcopy(m)
    d_grads, g_grads = _spy_step_grads(m, "D"), _spy_step_grads(m, "G")
    inputs = _g_inputs(m)
    losses = m.train_step(x, y)
    g_in, = inputs  # one G pass: G's step reuses the D step's fakes (fresh_fakes_for_g False)
    z_dim = m.params.z_dim
    c = g_in[:, z_dim:].argmax(1)
    assert torch.equal(g_in[:, z_dim:], torch.nn.functional.one_hot(c, 25).float())  # one-hot code after z
    fake = before.G(g_in).detach()
    d_real, _ = before.heads(x)
    d_fake, q_fake = before.heads(fake)
    l_d, l_i = d_loss(d_real, d_fake), info_lower_bound(q_fake, c)
    body, dh, qh = (list(getattr(before, n).parameters()) for n in ("body", "d_head", "q_head"))
    zero = lambda ps: [torch.zeros_like(p) for p in ps]  # noqa: E731
    gd = torch.autograd.grad(l_d, body + dh + qh, allow_unused=True, retain_graph=True)
    gi = torch.autograd.grad(-lam * l_i, body + dh + qh, allow_unused=True)
    gd = [g if g is not None else z for g, z in zip(gd, zero(body + dh + qh))]
    gi = [g if g is not None else z for g, z in zip(gi, zero(body + dh + qh))]
    nb, nd = len(body), len(dh)
    got = d_grads[0]
    # float32 sums of O(1) terms over ≤ 640 rows, in another order (D's step runs reals and fakes as one batch):
    # rounding ~1e-7 absolute survives cancellation (D's bias gradient: ±0.5 terms cancel to ~2e-5), so 1e-6
    close = lambda a, b: torch.allclose(a, b, rtol=1e-5, atol=1e-6)  # noqa: E731
    # shared body: the GAN loss AND −λ L_I; D head: the GAN loss only; Q head: −λ L_I only
    assert all(close(g, a + b) for g, a, b in zip(got[:nb], gd[:nb], gi[:nb]))
    assert all(close(g, a) for g, a in zip(got[nb:nb + nd], gd[nb:nb + nd]))
    assert all(close(g, b) for g, b in zip(got[nb + nd:], gi[nb + nd:]))
    assert all(not close(a + b, a) for a, b in zip(gd[:nb], gi[:nb]))  # L_I's share of the body is not nil
    assert losses["l_i"] == pytest.approx(l_i.item(), rel=1e-5, abs=1e-6)
    assert losses["loss_d"] == pytest.approx((l_d - lam * l_i).item(), rel=1e-6)
    # G: G before its step through the updated D/Q, minimising −log D(G(z,c)) − λ L_I
    ref = copy.deepcopy(before)
    for part in ("body", "d_head", "q_head"):
        getattr(ref, part).load_state_dict(getattr(m, part).state_dict())
    d_f, q_f = ref.heads(ref.G(g_in))
    want = torch.autograd.grad(g_loss_nonsaturating(d_f) - lam * info_lower_bound(q_f, c), list(ref.G.parameters()),
                               retain_graph=True)
    plain = torch.autograd.grad(g_loss_nonsaturating(d_f), list(ref.G.parameters()))
    assert all(close(g, w) for g, w in zip(g_grads[0], want))
    assert not all(close(g, w) for g, w in zip(g_grads[0], plain))  # L_I reaches G


def test_q_step_with_g_frozen_raises_the_log_likelihood_of_the_code():
    m, data = build("infogan", dataset="ring8_mgan", lr=1e-3)
    _code_only_generator(m)
    x, _ = _batch(m, data)
    with torch.no_grad():
        fake, c = m.fakes(512)  # one fixed batch of (G(z, c), c)
    g_before = [p.detach().clone() for p in m.G.parameters()]
    e_log_q = lambda: -torch.nn.functional.cross_entropy(m.heads(fake)[1], c).item()  # noqa: E731
    start = e_log_q()
    assert start == pytest.approx(-math.log(8), abs=1e-2)  # N(0, 0.02) init: Q ≈ uniform
    for _ in range(100):
        m.d_step(x, fake, c)
    assert all(torch.equal(a, b) for a, b in zip(g_before, m.G.parameters()))  # the D/Q step never moves G
    # 8 separated code points: 100 Adam(1e-3) steps lift E log Q(c|x) from log ⅛ = −2.08 (observed −1.13)
    assert start + 0.5 < e_log_q() < 0.0


# -- the code ------------------------------------------------------------------------------------------------------
def test_codes_are_uniform_and_k_is_the_number_of_classes_unless_set():
    m, _ = build("infogan", dataset="grid25")
    assert m.n_components == 25 and m.q_head.out_features == 25 and m.G[0].in_features == 256 + 25
    torch.manual_seed(0)
    n = 100_000
    freq = np.bincount(m.codes(n).numpy(), minlength=25) / n
    # each frequency 1/25 with binomial std sqrt(p(1−p)/n) ≈ 6.2e-4; 5 std over 25 codes
    assert freq == pytest.approx(np.full(25, 1 / 25), abs=5 * math.sqrt(0.04 * 0.96 / n))
    assert (m.codes(20, component=6) == 6).all()
    k10, _ = build("infogan", dataset="grid25", n_codes=10, z_dim=2)
    assert k10.n_components == 10 and k10.q_head.out_features == 10 and k10.G[0].in_features == 2 + 10
    with pytest.raises(pydantic.ValidationError):
        build("infogan", n_codes=0)
    with pytest.raises(pydantic.ValidationError):
        build("infogan", lam=-1.0)


def test_sample_draws_codes_uniformly_and_component_fixes_the_code():
    m, _ = build("infogan", dataset="ring8_mgan")
    points = _code_only_generator(m)
    torch.manual_seed(0)
    n = 40_000
    freq = np.bincount(_which_code(m.sample(n), points), minlength=8) / n
    assert freq == pytest.approx(np.full(8, 1 / 8), abs=5 * math.sqrt(0.125 * 0.875 / n))  # 5 binomial std
    for k in (0, 5, 7):
        assert (_which_code(m.sample(50, component=k), points) == k).all()
    for bad in (-1, 8):
        with pytest.raises(ValueError, match="out of range"):
            m.sample(5, component=bad)


def test_sample_scale_multiplies_the_noise_covariance_only():
    m, _ = build("infogan")
    torch.manual_seed(1)
    scaled = m.sample(16, scale=4.0)
    torch.manual_seed(1)
    c = torch.randint(0, 8, (16,))  # sample draws the codes first, then z
    z = latent(16, m.params, 1.0, "cpu")
    with torch.no_grad():
        assert torch.allclose(scaled, m.generate(2 * z, c))  # covariance ×4 = std ×2; c untouched
        assert not torch.allclose(scaled, m.generate(z, c))


# -- which parameters move ---------------------------------------------------------------------------------------
def _groups(m):
    return {"G": list(m.G.parameters()), "body": list(m.body.parameters()),
            "d_head": list(m.d_head.parameters()), "q_head": list(m.q_head.parameters())}


@pytest.mark.parametrize("dataset, params, moved", [
    ("ring8_mgan", {}, {"G", "body", "d_head", "q_head"}),
    ("ring8_mgan", {"lam": 0.0}, {"G", "body", "d_head"}),  # λ = 0: Q's only loss is λ·L_I
    ("ring8_mgan", {"n_codes": 1}, {"G", "body", "d_head"}),  # K = 1: softmax over one logit, zero gradient
])
def test_one_step_moves_the_right_groups(dataset, params, moved):
    m, data = build("infogan", dataset=dataset, **params)
    assert changed_groups(m, _groups(m), *_batch(m, data)) == moved


def test_paper_profile_networks_are_accepted_with_uniform_noise():
    from bench.suites import build_plan, load_suite

    plan = build_plan(load_suite("mode_collapse"), "paper", methods="infogan", datasets="grid25", seeds=1)
    spec, = plan.trials
    assert spec.steps == 40_000 and spec.params["z_dim"] == 2 and spec.params["g_out_scale"] == 6.0
    m, data = build("infogan", dataset="grid25", **{**spec.params, "z_dist": "uniform"})
    assert m.G[0].in_features == 2 + 25 and [layer.out_features for layer in m.body[::2]] == [128, 128]
    g_in = _g_inputs(m)
    x = m.sample(2000)
    assert x.abs().max() < 6.0  # 6·tanh output
    z = g_in[0][:, :2]
    assert z.min() >= -1.0 and z.max() <= 1.0 and z.min() < -0.99 and z.max() > 0.99  # U(−1, 1) noise
    assert set(g_in[0][:, 2:].sum(1).tolist()) == {1.0}  # the code stays one-hot categorical
    m.train_step(*_batch(m, data))


# -- interface -----------------------------------------------------------------------------------------------------
def test_state_dict_round_trip_through_bytes_restores_samples_and_training():
    assert_round_trip("infogan", sample_kwargs=({}, {"component": 2}, {"scale": 0.5}))  # Adam moments too


def test_responsibilities_are_q():
    m, data = build("infogan")
    x, _ = _batch(m, data)
    r = m.responsibilities(x[:20])
    assert r.shape == (20, 8)
    assert torch.allclose(r, torch.softmax(m.q_head(m.body(x[:20])), 1))


def test_short_trial_completes():
    assert_short_trial("infogan", ["modes", "hq", "sym_kl", "latent_purity"])


@pytest.mark.parametrize("fresh", [False, True])
def test_g_step_reuses_or_redraws_the_fakes(fresh):
    m, data = build("infogan", fresh_fakes_for_g=fresh)
    inputs = _g_inputs(m)
    m.train_step(*_batch(m, data))
    assert len(inputs) == (2 if fresh else 1)  # one G pass (reused, as gan) or a fresh (z, c) (authors' code)
    if fresh:
        assert inputs[0].shape == inputs[1].shape == (128, 256 + 8) and not torch.equal(inputs[0], inputs[1])
