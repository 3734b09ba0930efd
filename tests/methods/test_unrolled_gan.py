import copy

import pytest
import torch
import torch.nn.functional as F

from method_checks import assert_plain_latent_sampling, assert_round_trip, assert_short_trial, build, changed_groups
from methods.nets import latent


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def _fakes(m, seed=1, n=128):
    torch.manual_seed(seed)
    return m.G(latent(n, m.params, 1.0, "cpu"))


def _hand_d_loss(d, x, fake):
    # Goodfellow Eq. 1, D side, written with log σ (independent of methods.losses): −E log σ(D(x)) − E log σ(−D(G(z)))
    return -(F.logsigmoid(d(x)).mean() + F.logsigmoid(-d(fake)).mean())


def _hand_surrogate(d, x, fake):
    # f_K with the non-saturating fake term: E log σ(D_K(x)) − E log σ(D_K(G(z)))
    return F.logsigmoid(d(x)).mean() - F.logsigmoid(d(fake)).mean()


def _load(module, params):
    with torch.no_grad():
        for (name, p) in module.named_parameters():
            p.copy_(params[name])


# -- the unrolled discriminator ----------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 3])
def test_unrolled_sgd_surrogate_equals_k_manual_sgd_steps_on_a_copy(k):
    m, data = build("unrolled_gan", unroll_optimizer="sgd", unroll_lr=0.5)
    x, _ = _batch(m, data)
    fake = _fakes(m)
    params = m.unroll(x, fake, steps=k)
    value = m.surrogate(params, x, fake).item()
    d = copy.deepcopy(m.D)
    for _ in range(k):  # Eq. 5 by hand: θ ← θ − η ∂L_D/∂θ
        grads = torch.autograd.grad(_hand_d_loss(d, x, fake.detach()), list(d.parameters()))
        with torch.no_grad():
            for p, g in zip(d.parameters(), grads):
                p -= 0.5 * g
    for name, p in d.named_parameters():
        assert torch.allclose(params[name], p, rtol=0, atol=1e-6)  # float32 rounding of the same updates
    manual = _hand_surrogate(d, x, fake).item()
    assert value == pytest.approx(manual, abs=1e-6)
    # the unrolled D really moved: the surrogate differs from the one at θ_D^0 by far more than the tolerance
    assert abs(value - _hand_surrogate(m.D, x, fake).item()) > 1e-3


def test_unrolled_adam_equals_torch_adam_continuing_ds_state_and_leaves_d_untouched():
    m, data = build("unrolled_gan", unroll_steps=4)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        m.train_step(*data.batch(m.batch_size, g))  # D's Adam has moments and step 3
    x, _ = data.batch(m.batch_size, g)
    fake = _fakes(m)
    d_before = copy.deepcopy(m.D.state_dict())
    opt_before = copy.deepcopy(m.optimizers["D"].state_dict())
    params = m.unroll(x, fake)
    # torch.optim.Adam on a copy of D with a copy of D's optimiser state: 4 steps on the same minibatch
    d = copy.deepcopy(m.D)
    opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt.load_state_dict(copy.deepcopy(opt_before))
    for _ in range(4):
        opt.zero_grad()
        _hand_d_loss(d, x, fake.detach()).backward()
        opt.step()
    moved = 0.0
    for name, p in d.named_parameters():
        assert torch.allclose(params[name], p, rtol=0, atol=1e-6)  # float32 rounding of the same Adam steps
        moved = max(moved, (p - d_before[name]).abs().max().item())
    assert moved > 1e-4  # 4 Adam steps of lr 2e-4 moved D (so the comparison is not of two unmoved copies)
    assert m.surrogate(params, x, fake).item() == pytest.approx(_hand_surrogate(d, x, fake).item(), abs=1e-6)
    # unrolling read D and its optimiser, never wrote them
    assert all(torch.equal(v, m.D.state_dict()[k]) for k, v in d_before.items())
    after = m.optimizers["D"].state_dict()["state"]
    for i, s in opt_before["state"].items():
        assert all(torch.equal(s[key], after[i][key]) for key in ("exp_avg", "exp_avg_sq", "step"))


# -- G's gradient --------------------------------------------------------------------------------------------
def _g_grads_of_one_step(method, x, y, seed=7) -> list[torch.Tensor]:
    grads, orig = [], method.optimizers["G"].step
    method.optimizers["G"].step = lambda *a, **kw: (grads.append([p.grad.clone() for p in method.G.parameters()]),
                                                    orig(*a, **kw))[1]
    torch.manual_seed(seed)
    method.train_step(x, y)
    return grads[0]


def test_with_zero_unrolling_g_gradient_is_gans_and_d_step_is_gans_for_any_k():
    gan, data = build("gan")
    x, y = _batch(gan, data)
    unrolled0, _ = build("unrolled_gan", unroll_steps=0)
    unrolled5, _ = build("unrolled_gan")  # K = 5, second order
    assert all(torch.equal(a, b) for a, b in zip(unrolled0.parameters(), gan.parameters()))  # same init
    g_gan = _g_grads_of_one_step(gan, x, y)
    g_0 = _g_grads_of_one_step(unrolled0, x, y)
    g_5 = _g_grads_of_one_step(unrolled5, x, y)
    # same math; D runs on cat(x, fake) instead of fake alone, so float32 matmul blocking may differ
    for a, b in zip(g_0, g_gan):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-9)
    assert max((a - b).abs().max().item() for a, b in zip(g_5, g_gan)) > 1e-6  # unrolling changes G's step
    # D's own step is gan's D step whatever K: same parameters and Adam moments after the step
    for method in (unrolled0, unrolled5):
        assert all(torch.equal(a, b) for a, b in zip(method.D.parameters(), gan.D.parameters()))
        ours, theirs = method.optimizers["D"].state_dict()["state"], gan.optimizers["D"].state_dict()["state"]
        assert all(torch.equal(ours[i]["exp_avg_sq"], theirs[i]["exp_avg_sq"]) for i in theirs)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_second_order_gradient_matches_finite_differences_and_first_order_does_not(optimizer):
    # A tiny network in float64, so central differences are accurate to ~1e-9; tanh hidden units, so the loss is
    # smooth (Leaky ReLU kinks sit at the origin at init, right where a fresh G's points are) and init std 0.5,
    # so the points and D's units are not all at those kinks / in the linear regime.
    m, data = build("unrolled_gan", z_dim=2, g_hidden=(4,), d_hidden=(4,), hidden_act="tanh", init_std=0.5,
                    unroll_steps=3, unroll_optimizer=optimizer, unroll_lr=0.5 if optimizer == "sgd" else 0.05)
    m.double()
    x = _batch(m, data)[0][:32].double()
    z = torch.randn(16, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    g_params = list(m.G.parameters())

    def loss(create_graph: bool):
        return m.surrogate(m.unroll(x, m.G(z), create_graph=create_graph), x, m.G(z))

    second = torch.autograd.grad(loss(True), g_params)
    first = torch.autograd.grad(loss(False), g_params)
    h = 1e-6
    fd, an2, an1 = [], [], []
    for p, g2, g1 in zip(g_params, second, first):
        flat = p.data.view(-1)
        for i in range(min(flat.numel(), 4)):  # a few entries of every G parameter
            old = flat[i].item()
            flat[i] = old + h
            up = loss(False).item()
            flat[i] = old - h
            down = loss(False).item()
            flat[i] = old
            fd.append((up - down) / (2 * h))
            an2.append(g2.view(-1)[i].item())
            an1.append(g1.view(-1)[i].item())
    fd, an2, an1 = (torch.tensor(v, dtype=torch.float64) for v in (fd, an2, an1))
    scale = fd.abs().max().item()
    # central differences in float64 with h = 1e-6: error ~h² + 1e-16/h ≈ 1e-10 of the loss scale
    assert (an2 - fd).abs().max().item() < 1e-6 * scale
    # the first-order gradient misses the term through the unrolling: far outside that tolerance
    assert (an1 - fd).abs().max().item() > 1e-3 * scale


# -- which parameters move; sampling; checkpoints; trial ---------------------------------------------------
@pytest.mark.parametrize("params", [{}, {"backprop_unroll": False}, {"unroll_steps": 0}, {"g_loss": "minimax"}])
def test_one_step_moves_g_and_d(params):
    m, data = build("unrolled_gan", **params)
    groups = {"G": list(m.G.parameters()), "D": list(m.D.parameters())}
    assert changed_groups(m, groups, *_batch(m, data)) == {"G", "D"}


def test_minimax_surrogate_is_f_k_itself():
    m, data = build("unrolled_gan", g_loss="minimax", unroll_steps=2)
    x, _ = _batch(m, data)
    fake = _fakes(m)
    params = m.unroll(x, fake)
    d = copy.deepcopy(m.D)
    _load(d, params)
    # Eq. 7: E log σ(D_K(x)) + E log(1 − σ(D_K(G(z)))), with log(1 − σ(a)) = log σ(−a)
    f_k = (F.logsigmoid(d(x)).mean() + F.logsigmoid(-d(fake)).mean()).item()
    assert m.surrogate(params, x, fake).item() == pytest.approx(f_k, abs=1e-6)


def test_sample_scale_multiplies_the_latent_covariance_and_one_component():
    assert_plain_latent_sampling("unrolled_gan")


def test_state_dict_round_trip_gives_identical_samples_and_steps():
    assert_round_trip("unrolled_gan", train=2, unroll_steps=2)  # D's Adam state, which the unrolling continues


def test_short_trial_completes():
    assert_short_trial("unrolled_gan", ["modes", "hq", "sym_kl"])  # the cheap metrics
