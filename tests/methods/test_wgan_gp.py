import copy
import io

import numpy as np
import pytest
import torch
from torch import nn

from method_checks import assert_plain_latent_sampling, assert_short_trial, build, changed_groups
from methods.nets import latent
from methods.wgan_gp import WGANGPParams, critic_loss, generator_loss, gradient_penalty, pair_up


def _batch(method, data, seed=0):
    return data.batch(method.batch_size, torch.Generator().manual_seed(seed))


def _points(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g, dtype=torch.float64)


class Quadratic(nn.Module):
    """D(x) = ½ xᵀAx + bᵀx, A symmetric: ∇D(x) = Ax + b, a non-constant gradient norm."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))
        self.b = nn.Parameter(torch.tensor(b))

    def forward(self, x):
        return 0.5 * ((x @ self.a) * x).sum(1, keepdim=True) + x @ self.b[:, None]


# -- Eq. 3's gradient penalty on hand-made critics -----------------------------------------------------------
@pytest.mark.parametrize("w, expected", [([3.0, 4.0], 10 * (5 - 1) ** 2), ([0.6, 0.8], 0.0), ([0.0, 0.5], 2.5)])
def test_penalty_of_a_linear_critic_is_lambda_norm_w_minus_1_squared(w, expected):
    critic = nn.Linear(2, 1).double()
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([w]))
        critic.bias.fill_(-7.0)
    real, fake = _points(64, 0), _points(64, 1) + 3
    eps = torch.rand(64, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    # ∇D = w everywhere, so every interpolate contributes λ(‖w‖ − 1)²; float64: 1e-12 is rounding
    assert gradient_penalty(critic, real, fake, eps, 10.0).item() == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_penalty_gradient_reaches_the_critic_weights():
    # d/dw λ(‖w‖ − 1)² = 2λ(‖w‖ − 1) w/‖w‖ = [48, 64] for w = (3, 4), λ = 10; none to the bias. Without
    # create_graph=True the penalty would have no gradient at all and this raises.
    critic = nn.Linear(2, 1).double()
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))
    eps = torch.rand(16, 1, dtype=torch.float64)
    gradient_penalty(critic, _points(16, 0), _points(16, 1), eps, 10.0).backward()
    assert critic.weight.grad.numpy() == pytest.approx(np.array([[48.0, 64.0]]), rel=1e-12)
    assert critic.bias.grad is None or critic.bias.grad.item() == 0.0  # ∇_x D does not involve b


def test_penalty_of_a_quadratic_critic_equals_numpy_at_the_interpolates():
    a = np.array([[2.0, 0.5], [0.5, -1.0]])
    b = np.array([0.3, -0.2])
    real, fake = _points(50, 3), _points(50, 4) * 2
    eps = torch.rand(50, 1, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    r, f, e = real.numpy(), fake.numpy(), eps.numpy()
    x_hat = e * r + (1 - e) * f  # Eq. 3: x̂ = εx + (1 − ε)x̃ (ε multiplies the REAL point)
    np_penalty = 3.0 * np.mean((np.linalg.norm(x_hat @ a + b, axis=1) - 1) ** 2)
    got = gradient_penalty(Quadratic(a, b), real, fake, eps, 3.0).item()
    assert got == pytest.approx(np_penalty, rel=1e-12)  # float64 throughout: rounding only
    # the mirrored interpolate (1 − ε)x + εx̃ gives another number, so the test sees the convention
    x_swapped = (1 - e) * r + e * f
    assert got != pytest.approx(3.0 * np.mean((np.linalg.norm(x_swapped @ a + b, axis=1) - 1) ** 2), rel=1e-3)


def test_loss_signs_on_hand_made_critic_values():
    d_real = torch.tensor([1.0, 2.0, 3.0])
    d_fake = torch.tensor([-1.0, 0.5])
    # Eq. 3: E D(x̃) − E D(x) = −0.25 − 2 = −2.25 (a critic scoring reals higher has a negative loss)
    assert critic_loss(d_real, d_fake).item() == pytest.approx(-2.25, rel=1e-7)
    assert critic_loss(d_fake, d_real).item() == pytest.approx(2.25, rel=1e-7)
    assert generator_loss(d_fake).item() == pytest.approx(0.25, rel=1e-7)  # Alg. 1 line 11: −E D(x̃)


def test_pair_up_uses_every_real_and_every_fake():
    real, fake = torch.arange(5.0)[:, None], 10 + torch.arange(2.0)[:, None]
    r, f = pair_up(real, fake)
    assert r[:, 0].tolist() == [0, 1, 2, 3, 4] and f[:, 0].tolist() == [10, 11, 10, 11, 10]
    r, f = pair_up(real[:2], 10 + torch.arange(3.0)[:, None])
    assert r[:, 0].tolist() == [0, 1, 0] and f[:, 0].tolist() == [10, 11, 12]


# -- Alg. 1's schedule ------------------------------------------------------------------------------------------
def _count_steps(m):
    counts = {"D": 0, "G": 0}
    for k in counts:
        orig = m.optimizers[k].step

        def step(*a, _k=k, _orig=orig, **kw):
            counts[_k] += 1
            return _orig(*a, **kw)

        m.optimizers[k].step = step
    return counts


@pytest.mark.parametrize("n_critic", [5, 3])
def test_train_step_is_n_critic_critic_updates_on_fresh_real_chunks_then_one_g_update(n_critic):
    m, data = build("wgan_gp", n_critic=n_critic)
    assert m.batch_size == n_critic * 512  # the trial draws one fresh chunk of 512 reals per critic step
    x, y = _batch(m, data)
    counts = _count_steps(m)
    seen, orig = [], m.critic_step
    m.critic_step = lambda xs: (seen.append(xs.clone()), orig(xs))[1]
    m.train_step(x, y)
    assert counts == {"D": n_critic, "G": 1}
    assert len(seen) == n_critic
    for t, chunk in enumerate(seen):  # Alg. 1 line 3: critic step t sees reals t·512 … (t+1)·512 − 1
        assert torch.equal(chunk, x[t * 512:(t + 1) * 512])


def test_reuse_hands_one_batch_to_every_critic_step():
    m, data = build("wgan_gp", critic_reals="reuse")
    assert m.batch_size == 512
    x, y = _batch(m, data)
    counts = _count_steps(m)
    seen, orig = [], m.critic_step
    m.critic_step = lambda xs: (seen.append(xs.clone()), orig(xs))[1]
    m.train_step(x, y)
    assert counts == {"D": 5, "G": 1} and all(torch.equal(s, x) for s in seen)


def test_critic_step_loss_is_eq3_on_the_pre_step_critic():
    m, data = build("wgan_gp")
    x = _batch(m, data)[0][:512]
    ref = copy.deepcopy(m)
    torch.manual_seed(11)
    loss, penalty, w = m.critic_step(x)
    torch.manual_seed(11)  # replay the step's draws: z (latent) first, then ε
    with torch.no_grad():
        fake = ref.G(latent(128, ref.params, 1.0, "cpu"))
    eps = torch.rand(512, 1)
    real_p, fake_p = x, fake.repeat(4, 1)  # 512 reals, 128 fakes: pair i = (x_i, x̃_{i mod 128})
    x_hat = (eps * real_p + (1 - eps) * fake_p).requires_grad_(True)
    (g,) = torch.autograd.grad(ref.D(x_hat).sum(), x_hat)
    want_penalty = 10 * ((g.norm(dim=1) - 1) ** 2).mean()
    with torch.no_grad():
        want_w = ref.D(x).mean() - ref.D(fake).mean()
    # same float32 ops on the same values: 1e-5 relative is summation-order rounding
    assert penalty.item() == pytest.approx(want_penalty.item(), rel=1e-5)
    assert w.item() == pytest.approx(want_w.item(), rel=1e-5, abs=1e-7)
    assert loss.item() == pytest.approx((want_penalty - want_w).item(), rel=1e-5)


def test_defaults_are_alg1_and_the_critic_is_gans_d_without_sigmoid():
    p = WGANGPParams()
    assert (p.lr, p.betas, p.lam, p.n_critic) == (1e-4, (0.0, 0.9), 10.0, 5)
    m, _ = build("wgan_gp")
    for opt in m.optimizers.values():  # Alg. 1's Adam overrides the shared Adam(2e-4, 0.5, 0.999)
        assert opt.param_groups[0]["lr"] == 1e-4 and opt.param_groups[0]["betas"] == (0.0, 0.9)
    gan, _ = build("gan")
    assert [type(layer) for layer in m.D] == [type(layer) for layer in gan.D]  # ends in Linear: raw logit
    assert [p.shape for p in m.D.parameters()] == [p.shape for p in gan.D.parameters()]


# -- interface --------------------------------------------------------------------------------------------------
def test_one_step_moves_g_and_the_critic():
    m, data = build("wgan_gp")
    groups = {"G": list(m.G.parameters()), "D": list(m.D.parameters())}
    assert changed_groups(m, groups, *_batch(m, data)) == {"G", "D"}


def test_sample_scale_and_component():
    assert_plain_latent_sampling("wgan_gp")


def test_state_dict_round_trip_through_torch_save():
    m, data = build("wgan_gp", seed=0)
    g = torch.Generator().manual_seed(0)
    m.train_step(*data.batch(m.batch_size, g))
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    fresh, _ = build("wgan_gp", seed=1)
    buf.seek(0)
    fresh.load_state_dict(torch.load(buf))
    torch.manual_seed(4)
    a = m.sample(100)
    torch.manual_seed(4)
    assert torch.equal(a, fresh.sample(100))
    x, y = data.batch(m.batch_size, g)
    torch.manual_seed(5)
    la = m.train_step(x, y)
    torch.manual_seed(5)
    assert fresh.train_step(x, y) == la  # Adam moments restored too


def test_short_trial_completes():
    assert_short_trial("wgan_gp", ["modes", "hq", "sym_kl"])
