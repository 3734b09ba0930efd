"""GM-GAN (gm-gan §2, Alg. 1): static / dynamic mixture latents, the latent scale, the supervised per-class D."""
import math

import numpy as np
import pytest
import torch

from bench.trial import run_trial
from method_checks import assert_round_trip, build, changed_groups
from methods.gmgan import supervised_d_loss, supervised_g_loss
from specs import make_spec

VARIANTS = ["gmgan_static", "gmgan_dynamic", "gmgan_supervised"]


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def _groups(m):
    return {"G": list(m.G.parameters()), "D": list(m.D.parameters()), "latent": list(m.latent.parameters())}


def _latent_inputs(m, n, **kw):
    """The z that m.sample(n, **kw) feeds to G (captured by a forward pre-hook)."""
    seen = []
    handle = m.G.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    try:
        m.sample(n, **kw)
    finally:
        handle.remove()
    return seen[0]


# -- the latent ----------------------------------------------------------------------------------------------
def test_static_latent_starts_as_algorithm_1():
    m, _ = build("gmgan_static", dataset="grid25")
    assert m.n_components == 25  # K = the dataset's classes
    mu, a = m.latent.means.detach(), m.latent.scales.detach()
    assert mu.shape == (25, 100)  # d = 100, GM-GAN's own latent (§4)
    assert mu.abs().max().item() <= 0.1  # U[−c, c], c = 0.1
    # U[−0.1, 0.1]: variance 0.01/3; 2,500 draws -> relative std of the sample variance ≈ 1.8 %; 8 % is 4.4 std.
    assert mu.var().item() == pytest.approx(0.01 / 3, rel=0.08)
    assert torch.allclose(a, torch.full_like(a, math.sqrt(0.15)))  # Σ_k = 0.15·I is a variance: A_k = √0.15·I
    assert torch.allclose(m.latent.covariances()[0], 0.15 * torch.eye(100))


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("scale", [0.25, 2.0])
def test_scale_multiplies_the_covariance_of_z_given_k(name, scale):
    m, _ = build(name, z_dim=8)
    torch.manual_seed(0)
    n = 40_000
    z = _latent_inputs(m, n, scale=scale, component=2).double()
    mu = m.latent.means[2].detach().double()
    cov = torch.cov(z.T)
    want = scale * 0.15  # per-coordinate variance of z|k: scale·σ
    # sample variance: relative std sqrt(2/n) ≈ 0.7 %; 4 % is ~5.6 std (8 coordinates)
    assert torch.diagonal(cov).numpy() == pytest.approx(np.full(8, want), rel=0.04)
    # off-diagonal covariances: std want/sqrt(n) ≈ 0.005·want; 0.04·want is ~8 std over 56 entries
    off = cov - torch.diag(torch.diagonal(cov))
    assert off.abs().max().item() < 0.04 * want
    # component=2 draws from Gaussian 2 only: mean error std sqrt(want/n) ≤ 0.0027; 0.015 is > 5 std
    assert (z.mean(0) - mu).abs().max().item() < 0.015


@pytest.mark.parametrize("name", VARIANTS)
def test_sample_shapes_and_component_range(name):
    m, _ = build(name)
    assert m.n_components == 8  # ring8_mgan has 8 classes
    assert m.sample(17).shape == (17, 2)
    assert m.sample(4, component=7).shape == (4, 2)
    for bad in (-1, 8):
        with pytest.raises(ValueError, match="out of range"):
            m.sample(4, component=bad)


def test_n_gaussians_overrides_the_class_count():
    m, _ = build("gmgan_static", n_gaussians=3)
    assert m.n_components == 3 and m.latent.means.shape == (3, 100)


# -- which parameters move -----------------------------------------------------------------------------------
def test_static_latent_never_moves():
    m, data = build("gmgan_static")
    g = torch.Generator().manual_seed(0)
    groups = _groups(m)
    before = [p.detach().clone() for p in groups["latent"]]
    assert changed_groups(m, groups, *data.batch(m.batch_size, g)) == {"G", "D"}
    for _ in range(5):
        m.train_step(*data.batch(m.batch_size, g))
    assert all(torch.equal(b, p) for b, p in zip(before, groups["latent"]))
    assert m.n_params() == sum(p.numel() for p in [*m.G.parameters(), *m.D.parameters()])


@pytest.mark.parametrize("cov", ["diag", "full"])
def test_dynamic_latent_moves_through_g_loss_only(cov):
    m, data = build("gmgan_dynamic", cov=cov, z_dim=16)
    assert changed_groups(m, _groups(m), *_batch(m, data)) == {"G", "D", "latent"}
    m, _ = build("gmgan_dynamic", cov=cov, z_dim=16)  # fresh: no gradients left over from G's last step
    x, y = _batch(m, data, seed=1)
    z, k = m.latent.sample(64)
    fake = m.G(z)
    before = [p.detach().clone() for p in m.latent.parameters()]
    m.d_step(x, y, fake, k)
    assert all(p.grad is None for p in m.latent.parameters())  # D's loss sends no gradient to μ, A
    assert all(torch.equal(b, p) for b, p in zip(before, m.latent.parameters()))
    m.g_step(fake, k)
    assert all(not torch.equal(b, p) for b, p in zip(before, m.latent.parameters()))


def test_dynamic_parameter_counts():
    # §2: a full A_k adds K·(d² + d) trainable parameters over the static model; a diagonal one 2·K·d.
    static, _ = build("gmgan_static", z_dim=16)
    full, _ = build("gmgan_dynamic", z_dim=16, cov="full")
    diag, _ = build("gmgan_dynamic", z_dim=16)
    assert full.n_params() - static.n_params() == 8 * (16 * 16 + 16)
    assert diag.n_params() - static.n_params() == 2 * 8 * 16


@pytest.mark.parametrize("latent,moved", [("static", {"G", "D"}), ("dynamic", {"G", "D", "latent"})])
def test_supervised_moves(latent, moved):
    m, data = build("gmgan_supervised", latent=latent)
    assert changed_groups(m, _groups(m), *_batch(m, data)) == moved


def test_alg1_batches_sizes():
    m, data = build("gmgan_static", alg1_batches=True, batch_size=64, fake_batch_size=128)
    sizes = []
    m.G.register_forward_pre_hook(lambda mod, args: sizes.append(args[0].shape[0]))
    m.train_step(*_batch(m, data))
    assert sizes == [64, 128]  # D: b_D fakes (Alg. 1 lines 5–9); G: b_G fresh fakes (lines 18–21)
    m2, _ = build("gmgan_static")
    sizes.clear()
    m2.G.register_forward_pre_hook(lambda mod, args: sizes.append(args[0].shape[0]))
    m2.train_step(*_batch(m2, data))
    assert sizes == [128]  # shared default: `gan`'s 128 fakes, reused by G


# -- losses --------------------------------------------------------------------------------------------------
def test_unsupervised_d_loss_is_alg1_average():
    # Alg. 1 line 16 at D ≡ ½: ½(mean −log ½ + mean −log ½) = log 2 (Eq. 3 unaveraged would give 2·log 2).
    m, data = build("gmgan_static")
    with torch.no_grad():
        for p in m.D.parameters():
            p.zero_()
    x, y = _batch(m, data)
    z, k = m.latent.sample(128)
    assert m.d_objective(x, y, m.G(z), k).item() == pytest.approx(math.log(2), rel=1e-6)
    assert m.g_objective(m.G(z), k).item() == pytest.approx(math.log(2), rel=1e-6)  # Eq. 2: −log ½


def _np_sigmoid(o):
    return 1 / (1 + np.exp(-o))


def test_supervised_d_loss_matches_numpy_and_is_not_a_softmax():
    real = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, -2.0]])
    y = np.array([0, 2])
    fake = np.array([[1.0, 0.0, -1.0], [-0.5, 0.3, 2.5], [0.0, 0.0, 0.0]])

    def formula(prob_real, prob_fake):
        # §2 / Alg. 1 lines 11–12, 16 with D's N outputs given as probabilities
        r = [-np.log(p[yy]) - sum(np.log(1 - p[m]) for m in range(3) if m != yy) for p, yy in zip(prob_real, y)]
        f = [-np.log(1 - p).sum() for p in prob_fake]
        return 0.5 * (np.mean(r) + np.mean(f))

    want = formula(_np_sigmoid(real), _np_sigmoid(fake))
    got = supervised_d_loss(torch.tensor(real), torch.tensor(y), torch.tensor(fake)).item()
    assert got == pytest.approx(want, rel=1e-12)  # float64 throughout
    # A softmax D (probabilities summing to 1 over classes) gives a different number for the same logits.
    soft = formula(np.exp(real) / np.exp(real).sum(1, keepdims=True), np.exp(fake) / np.exp(fake).sum(1, keepdims=True))
    assert abs(soft - want) > 0.5


def test_supervised_d_loss_by_hand_at_zero_logits():
    # Every head at ½: each of the N terms is log 2 for reals and for fakes -> ½(N log 2 + N log 2) = N log 2.
    # A softmax at zero logits (p = 1/3) would give ½[(log 3 − 2 log ⅔) + (−3 log ⅔)] ≈ 1.56297, not 3 log 2 ≈ 2.079.
    z = torch.zeros(4, 3)
    got = supervised_d_loss(z, torch.tensor([0, 1, 2, 1]), z).item()
    assert got == pytest.approx(3 * math.log(2), rel=1e-6)
    assert 0.5 * ((math.log(3) - 2 * math.log(2 / 3)) - 3 * math.log(2 / 3)) == pytest.approx(1.56297, abs=1e-5)


def test_supervised_g_loss_targets_f_of_k():
    logits = np.array([[1.5, -0.5, 0.2], [0.3, 0.3, -1.0]])
    target = np.array([2, 0])
    p = _np_sigmoid(logits)
    want = np.mean([-np.log(p[j, t]) - sum(np.log(1 - p[j, m]) for m in range(3) if m != t)
                    for j, t in enumerate(target)])
    got = supervised_g_loss(torch.tensor(logits), torch.tensor(target)).item()
    assert got == pytest.approx(want, rel=1e-12)


def test_f_is_k_mod_n():
    m, _ = build("gmgan_supervised", dataset="gm9", n_gaussians=20)
    assert m.class_of(torch.arange(20)).tolist() == [k % 9 for k in range(20)]
    assert m.D[-1].out_features == 9  # one sigmoid head per class
    m3, _ = build("gmgan_supervised", dataset="gm9")
    assert m3.class_of(torch.arange(9)).tolist() == list(range(9))  # K = N: a bijection


def test_supervised_g_step_uses_f_of_each_fakes_gaussian():
    m, _ = build("gmgan_supervised", n_gaussians=11)  # 8 classes: Gaussians 8, 9, 10 -> classes 0, 1, 2
    with torch.no_grad():  # heads far from ½ so that the target class changes the loss
        m.D[-1].bias.copy_(torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, -3.0, 0.5]))
    z, k = m.latent.sample(64)
    fake = m.G(z)
    want = supervised_g_loss(m.D(fake), k % 8)
    assert m.g_objective(fake, k).item() == pytest.approx(want.item(), rel=1e-6)
    # a different mapping (clamping 8, 9, 10 to class 7) is told apart: |Δ| far above float32 rounding
    other = supervised_g_loss(m.D(fake), k.clamp(max=7)).item()
    assert abs(m.g_objective(fake, k).item() - other) > 0.05


def test_supervised_needs_labels():
    m, data = build("gmgan_supervised")
    assert type(m).needs_labels
    x, _ = _batch(m, data)
    with pytest.raises(ValueError, match="needs the class label"):
        m.train_step(x, None)


def test_z_dist_is_rejected():
    from bench.errors import UserError
    from bench.suites import resolve_method_params

    with pytest.raises(UserError, match="z_dist does not apply"):
        resolve_method_params("gmgan_static", {"z_dist": "uniform"}, where="test")


# -- checkpoints and trials ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", VARIANTS)
def test_state_dict_round_trip_restores_samples(name):
    assert_round_trip(name, sample_kwargs=({}, {"component": 4}, {"scale": 2.0}))


@pytest.mark.parametrize("name", VARIANTS)
def test_short_trial_completes(name):
    out = run_trial(make_spec(method=name, steps=30,
                              metrics=["modes", "hq", "nll", "sym_kl", "w1", "latent_purity", "latent_nmi"]))
    assert out.status == "completed", out.trial["error"]
    assert {r["metric"] for r in out.metrics} >= {"modes", "latent_nmi"}
