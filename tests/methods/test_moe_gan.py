"""MoE-GAN (deligan §5.2): z' = [z, onehot(i)], i uniform over N codes; the rest is `gan`."""

import numpy as np
import pytest
import torch
from scipy import stats

from method_checks import assert_round_trip, assert_short_trial, build, changed_groups
from methods.nets import latent


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def test_n_is_deligans():
    from methods.deligan import DeLiGANParams
    from methods.moe_gan import MoEGANParams

    assert MoEGANParams().n_components == DeLiGANParams().n_components == 50


def test_g_input_is_z_dim_plus_n_and_parameter_count_by_hand():
    m, _ = build("moe_gan")
    assert m.n_components == 50
    assert m.G[0].in_features == 256 + 50
    # gan: G 256·128+128 + 128·128+128 + 128·2+2 = 49,666; D 2·128+128 + 128+1 = 513 -> 50,179.
    # MoE-GAN adds one input column per code to G's first layer: 50·128 = 6,400 -> 56,579.
    gan, _ = build("gan")
    assert gan.n_params() == 50_179
    assert m.n_params() == 50_179 + 50 * 128
    toy, _ = build("moe_gan", hidden_act="tanh", z_dim=2, g_hidden=(32,), d_hidden=(32,), g_out_scale=1.0)
    assert toy.G[0].in_features == 2 + 50  # the DeLiGAN toy profile: z-dim 2 plus the 50-way code


def test_codes_are_exactly_one_hot_and_uniform():
    m, _ = build("moe_gan")
    torch.manual_seed(0)
    n, k = 20_000, 50
    z, i = m.codes(n)
    code = z[:, 256:]
    assert code.shape == (n, k)
    assert set(code.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(code.sum(1), torch.ones(n))  # exactly one 1 per row
    assert torch.equal(code.argmax(1), i)
    counts = np.bincount(i.numpy(), minlength=k)
    # Binomial(20,000, 1/50): mean 400, std sqrt(20,000·0.02·0.98) = 19.8. ±5 std per code: P(any of 50 codes
    # outside) ≈ 50·5.7e-7 ≈ 3e-5 under uniformity, while a code drawn at 1/40 or 1/60 (500 or 333) is outside.
    assert np.all(np.abs(counts - 400) <= 5 * 19.8)
    # Pearson chi-square over the 50 codes (49 dof): p < 1e-4 would reject uniformity.
    assert stats.chisquare(counts).pvalue > 1e-4


def test_train_step_feeds_g_one_hot_codes():
    m, data = build("moe_gan")
    seen = []
    m.G.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    m.train_step(*_batch(m, data))
    assert len(seen) == 1  # one G pass, reused for D's and G's updates (as gan)
    z = seen[0]
    assert z.shape == (128, 256 + 50)  # fake_batch_size fakes
    code = z[:, 256:]
    assert torch.equal(code.sum(1), torch.ones(128)) and set(code.unique().tolist()) == {0.0, 1.0}
    assert len(code.argmax(1).unique()) > 30  # 128 uniform draws over 50 codes: ≈ 46 distinct expected; one fixed code gives 1


def test_scale_multiplies_only_the_gaussian_part():
    m, _ = build("moe_gan")
    torch.manual_seed(1)
    z4, i4 = m.codes(64, scale=4.0)
    torch.manual_seed(1)
    z1, i1 = m.codes(64, scale=1.0)
    assert torch.equal(i4, i1)
    assert torch.allclose(z4[:, :256], 2 * z1[:, :256])  # covariance ×4 = std ×2
    assert torch.equal(z4[:, 256:], z1[:, 256:])  # the code is never scaled
    # sample() is G of exactly that input
    torch.manual_seed(1)
    got = m.sample(64, scale=4.0)
    with torch.no_grad():
        assert torch.equal(got, m.G(z4))


def test_component_fixes_the_code():
    m, _ = build("moe_gan")
    torch.manual_seed(2)
    z, i = m.codes(30, component=7)
    assert torch.equal(i, torch.full((30,), 7)) and torch.equal(z[:, 256:].argmax(1), i)
    torch.manual_seed(2)
    x = m.sample(30, scale=2.0, component=7)
    torch.manual_seed(2)
    zz = latent(30, m.params, 2.0, "cpu")
    onehot = torch.zeros(30, 50)
    onehot[:, 7] = 1
    with torch.no_grad():
        assert torch.equal(x, m.G(torch.cat([zz, onehot], 1)))
    assert m.sample(5).shape == (5, 2)
    for bad in (-1, 50):
        with pytest.raises(ValueError, match="out of range"):
            m.sample(5, component=bad)


def test_code_i_is_gan_with_code_i_column_added_to_the_first_bias():
    # Known answer: G([z, e_i]) = W_z z + W_code[:, i] + b1 -> ...: a gan G whose first bias is b1 + W_code[:, i].
    m, _ = build("moe_gan")
    gan, _ = build("gan", seed=3)
    with torch.no_grad():
        w = m.G[0].weight  # (128, 256 + 50)
        w[:, :256].copy_(gan.G[0].weight)
        m.G[0].bias.copy_(gan.G[0].bias)
        for a, b in zip(list(m.G)[1:], list(gan.G)[1:]):
            for pa, pb in zip(a.parameters(), b.parameters()):
                pa.copy_(pb)
        torch.manual_seed(4)
        x = m.sample(50, component=11)
        torch.manual_seed(4)
        z = latent(50, gan.params, 1.0, "cpu")
        gan.G[0].bias.add_(w[:, 256 + 11])
        want = gan.G(z)
    # same float32 products; only the bias is added in another order: 1e-6 is rounding
    assert torch.allclose(x, want, atol=1e-6)


def test_one_step_moves_g_and_d():
    m, data = build("moe_gan")
    groups = {"G": list(m.G.parameters()), "D": list(m.D.parameters())}
    assert changed_groups(m, groups, *_batch(m, data)) == {"G", "D"}


def test_state_dict_round_trip_through_bytes_gives_identical_samples():
    assert_round_trip("moe_gan", sample_kwargs=({}, {"component": 7}))


def test_short_trial_completes():
    assert_short_trial("moe_gan", ["modes", "hq", "sym_kl", "latent_purity"])
