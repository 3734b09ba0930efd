"""Ensemble-GAN (deligan §5.2, seed-review B1): N generators, each with its own latent Gaussian (μ_i, σ_i); each
step trains one generator, chosen uniformly, and the shared D."""

import numpy as np
import pydantic
import pytest
import torch
from scipy import stats

from bench.trial import run_trial
from method_checks import assert_round_trip, build, changed_groups
from specs import make_spec

SMALL = dict(n_components=5, z_dim=2, g_hidden=(8,), d_hidden=(8,), batch_size=32, fake_batch_size=16)


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def _spy_picks(m) -> list[int]:
    picks, orig = [], m.pick_generator
    m.pick_generator = lambda: (picks.append(orig()), picks[-1])[1]
    return picks


def _groups(m):
    """Per generator: its network and its (μ_i, σ_i); plus D. Together: every parameter once."""
    g = {f"G{i}": list(mem.G.parameters()) for i, mem in enumerate(m.gens.members)}
    g.update({f"z{i}": [mem.mu, mem.sigma] for i, mem in enumerate(m.gens.members)})
    g["D"] = list(m.D.parameters())
    return g


def _constant_generators(m) -> torch.Tensor:
    """Generator i outputs one point whatever z (first layer's weights 0, its bias i-specific); (N, 2) points."""
    with torch.no_grad():
        for i, mem in enumerate(m.gens.members):
            mem.G[0].weight.zero_()
            mem.G[0].bias.copy_(torch.linspace(0.1, 1.0, mem.G[0].out_features) * (i + 1))
        points = torch.cat([mem(torch.zeros(1, m.params.z_dim)) for mem in m.gens.members])
    assert (points[:, None] - points[None]).norm(dim=-1).add(torch.eye(len(points))).min() > 1e-4  # all distinct
    return points


def _which(x, points) -> np.ndarray:
    d = (x[:, None, :] - points[None]).norm(dim=-1)  # (n, N)
    assert d.min(dim=1).values.max() < 1e-6  # every sample is exactly one generator's point
    return d.argmin(dim=1).numpy()


def test_defaults_are_deligans():
    from methods.deligan import DeLiGANParams
    from methods.ensemble_gan import EnsembleGANParams

    e, d = EnsembleGANParams(), DeLiGANParams()
    assert (e.n_components, e.sigma_init, e.lam, e.g_loss) == (d.n_components, d.sigma_init, d.lam, d.g_loss)
    assert e.n_components == 50


def test_each_generator_is_gans_g_with_its_own_latent_and_parameter_count_by_hand():
    m, _ = build("ensemble_gan")
    gan, _ = build("gan")
    assert len(m.gens) == m.n_components == 50
    for mem in m.gens.members:
        assert [(type(a), tuple(p.shape for p in a.parameters())) for a in mem.G] == \
               [(type(a), tuple(p.shape for p in a.parameters())) for a in gan.G]
    assert [p.shape for p in m.D.parameters()] == [p.shape for p in gan.D.parameters()]  # one shared D
    # by hand: 50 × (gan's G 49,666 + μ_i, σ_i 2·256) + D 513 = 50·50,178 + 513 = 2,509,413
    assert m.n_params() == 50 * (49_666 + 2 * 256) + 513 == 2_509_413


def test_latents_start_as_deligan_section_4_1():
    m, _ = build("ensemble_gan")
    mu = torch.stack([mem.mu for mem in m.gens.members]).detach()
    sig = torch.stack([mem.sigma for mem in m.gens.members]).detach()
    assert mu.shape == sig.shape == (50, 256)
    assert torch.all(sig == 0.2)
    assert mu.min().item() >= -1 and mu.max().item() <= 1
    # U(−1, 1): mean 0, variance 1/3; 12,800 draws -> std of the mean 0.005, of the variance ≈ 0.0026 (±5 std)
    assert mu.mean().item() == pytest.approx(0.0, abs=0.025)
    assert mu.var().item() == pytest.approx(1 / 3, abs=0.015)
    assert len({tuple(r.tolist()) for r in mu}) == 50  # each generator has its own μ_i


def test_one_step_moves_exactly_the_chosen_generator_its_latent_and_d():
    m, data = build("ensemble_gan")
    picks = _spy_picks(m)
    moved = changed_groups(m, _groups(m), *_batch(m, data))
    assert len(picks) == 1
    i = picks[0]
    assert moved == {f"G{i}", f"z{i}", "D"}


def test_unchosen_generators_stay_bit_identical_even_with_adam_momentum():
    # After a generator has been trained once, its Adam moments are non-zero; a later step that picks another
    # generator must still leave it exactly in place (a stacked-weights Adam would keep moving it).
    m, data = build("ensemble_gan", **SMALL)
    picks = _spy_picks(m)
    g = torch.Generator().manual_seed(0)
    for _ in range(25):
        moved = changed_groups(m, _groups(m), *data.batch(m.batch_size, g))
        assert moved == {f"G{picks[-1]}", f"z{picks[-1]}", "D"}
    assert len(set(picks)) == 5 and len(set(picks[-10:])) >= 2  # several generators carry momentum by now
    # each generator's Adam has stepped exactly as often as the generator was chosen (N independent Adams)
    opt = m.optimizers["G"]
    for i, mem in enumerate(m.gens.members):
        for p in mem.parameters():
            assert int(opt.state[p]["step"]) == picks.count(i)


def test_chosen_generator_is_uniform_over_many_steps():
    m, data = build("ensemble_gan", **SMALL)
    picks = _spy_picks(m)
    g = torch.Generator().manual_seed(0)
    for _ in range(600):
        m.train_step(*data.batch(m.batch_size, g))
    counts = np.bincount(picks, minlength=5)
    # Binomial(600, 1/5) per generator: mean 120, std sqrt(600·0.2·0.8) = 9.8; ±5 std ⇒ P(any of 5 out) ≈ 3e-6
    # under uniformity, while a generator picked at 1/3.5 or 1/8 (171 or 75) falls outside.
    assert np.all(np.abs(counts - 120) <= 5 * 9.8)
    assert stats.chisquare(counts).pvalue > 1e-4  # Pearson, 4 dof
    # consecutive picks independent: pairs (i, i+1) uniform over the 25 cells (599 pairs, ≈ 24 per cell)
    pairs = np.bincount(np.array(picks[:-1]) * 5 + np.array(picks[1:]), minlength=25)
    assert stats.chisquare(pairs).pvalue > 1e-4


def test_train_step_fakes_come_from_the_chosen_generator_only():
    m, data = build("ensemble_gan")
    points = _constant_generators(m)
    picks = _spy_picks(m)
    seen = []
    for mem in m.gens.members:
        mem.register_forward_hook(lambda mod, args, out: seen.append(out.detach().clone()))
    m.train_step(*_batch(m, data))
    assert len(seen) == 1 and seen[0].shape == (128, 2)  # one generator ran, on fake_batch_size fakes
    assert set(_which(seen[0], points).tolist()) == {picks[0]}


def test_sampling_is_uniform_over_generators_and_component_fixes_one():
    m, _ = build("ensemble_gan")
    points = _constant_generators(m)
    torch.manual_seed(0)
    x, k = m.sample_with_generators(10_000)
    gens = _which(x, points)
    assert (gens == k.numpy()).all()  # k_j names the generator that made x_j
    counts = np.bincount(gens, minlength=50)
    # Binomial(10,000, 1/50): mean 200, std 14.0; ±5 std per generator (P(any of 50 out) ≈ 3e-5 if uniform)
    assert np.all(np.abs(counts - 200) <= 5 * 14.0)
    assert stats.chisquare(counts).pvalue > 1e-4
    assert len(set(gens[:512].tolist())) > 40  # shuffled, not in blocks: the first 512 kept for figures mix them
    for c in (0, 17, 49):
        assert (_which(m.sample(40, component=c), points) == c).all()
    for bad in (-1, 50):
        with pytest.raises(ValueError, match="out of range"):
            m.sample(5, component=bad)
    assert m.sample(0).shape == (0, 2)


def test_batched_forward_equals_each_generator_on_its_block():
    m, _ = build("ensemble_gan")
    with torch.no_grad():
        for mem in m.gens.members:
            mem.sigma.uniform_(0.1, 1.0)  # distinct σ_i so a mix-up of latents would show
        eps = torch.randn(50, 7, 256)
        got = m.gens.forward_all(eps)
        want = torch.stack([mem(eps[i]) for i, mem in enumerate(m.gens.members)])
    # bmm vs addmm on the same float32 values: summation order only, 1e-6 relative on outputs O(1e-3)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-7)


def test_sample_scale_multiplies_each_generators_latent_covariance():
    m, _ = build("ensemble_gan", z_dim=4)
    mem = m.gens[3]
    with torch.no_grad():
        mem.sigma.uniform_(0.1, 1.0)
    torch.manual_seed(1)
    got = m.sample(10, scale=4.0, component=3)
    torch.manual_seed(1)
    eps = torch.randn(10, 4)
    with torch.no_grad():
        want = mem.G(mem.mu + 2.0 * mem.sigma * eps)  # z|3 ~ N(μ_3, 4·diag(σ_3²)): std ×2
        assert torch.allclose(got, want, atol=1e-7)
        assert not torch.allclose(got, mem.G(mem.mu + mem.sigma * eps), atol=1e-7)
    # the mixture path: the ε fed to the batched generators is √scale times the ε of scale 1 (same seed)
    fed, orig = [], m.gens.forward_all
    m.gens.forward_all = lambda eps: (fed.append(eps.clone()), orig(eps))[1]
    torch.manual_seed(2)
    x4, k4 = m.sample_with_generators(300, scale=4.0)
    torch.manual_seed(2)
    x1, k1 = m.sample_with_generators(300, scale=1.0)
    assert torch.equal(k4, k1)
    assert torch.equal(fed[0], 2.0 * fed[1])
    assert not torch.allclose(x4, x1)


def test_sigma_penalty_is_eq10_for_one_gaussian():
    m, _ = build("ensemble_gan", z_dim=3, lam=0.05)
    with torch.no_grad():
        m.gens[2].sigma.copy_(torch.tensor([1.0, 0.5, 0.0]))
    # by hand: λ·‖1 − σ_2‖² = 0.05·(0 + 0.25 + 1) = 0.0625
    assert m.sigma_penalty(2).item() == pytest.approx(0.0625, rel=1e-6)  # float32 rounding only


def test_adversarial_g_loss_forms_at_d_one_half():
    logits = torch.zeros(7, 1)  # D(G(z)) = ½
    ns, _ = build("ensemble_gan", **SMALL)
    sat, _ = build("ensemble_gan", g_loss="saturating", **SMALL)
    assert ns.adversarial_g_loss(logits).item() == pytest.approx(np.log(2), rel=1e-6)
    assert sat.adversarial_g_loss(logits).item() == pytest.approx(-np.log(2), rel=1e-6)


def test_params_are_validated():
    from methods.ensemble_gan import EnsembleGANParams

    for bad in ({"n_components": 0}, {"z_dist": "uniform"}):
        with pytest.raises(pydantic.ValidationError):
            EnsembleGANParams(**bad)


def test_toy_profile_networks():
    m, data = build("ensemble_gan", hidden_act="tanh", z_dim=2, g_hidden=(32,), d_hidden=(32,), g_out_scale=1.0,
                    batch_size=50, fake_batch_size=50, lr=1e-4)
    assert [type(a).__name__ for a in m.gens[0].G] == ["Linear", "Tanh", "Linear", "ScaledTanh"]
    m.train_step(*_batch(m, data))
    assert m.sample(200).abs().max().item() <= 1.0


def test_state_dict_round_trip_through_bytes_gives_identical_samples_and_training():
    # 4 steps after: Adam moments and per-generator step counts restored too
    assert_round_trip("ensemble_gan", train=6, after=4, **SMALL)


def test_short_trial_completes():
    out = run_trial(make_spec(method="ensemble_gan", steps=30,
                              metrics=["modes", "hq", "sym_kl", "latent_purity", "latent_nmi"]))
    assert out.status == "completed", out.trial["error"]
    assert {r["metric"] for r in out.metrics} == {"modes", "hq", "sym_kl", "latent_purity", "latent_nmi"}
