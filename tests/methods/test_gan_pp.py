"""GAN++ (deligan §5.2): an FC layer of N units between z and gan's G; the rest is `gan`."""

import pytest
import torch

from method_checks import assert_round_trip, assert_short_trial, build, changed_groups
from methods.nets import latent

TOY = dict(hidden_act="tanh", z_dim=2, g_hidden=(32,), d_hidden=(32,), g_out_scale=1.0)  # DeLiGAN toy profile


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def test_n_is_deligans():
    from methods.deligan import DeLiGANParams
    from methods.gan_pp import GANPPParams

    assert GANPPParams().n_units == DeLiGANParams().n_components == 50


def test_g_is_gans_with_exactly_one_extra_layer():
    m, _ = build("gan_pp")
    gan, _ = build("gan")
    assert (m.G.fc.in_features, m.G.fc.out_features) == (256, 50)
    assert isinstance(m.G.act, torch.nn.ReLU)  # "hidden": G's hidden activation on the shared networks
    # gan's G after the extra layer: same layers, only the first reads 50 inputs instead of 256
    assert [type(a) for a in m.G.g] == [type(a) for a in gan.G]
    assert m.G.g[0].in_features == 50
    assert [p.shape for p in list(m.G.g.parameters())[2:]] == [p.shape for p in list(gan.G.parameters())[2:]]
    assert [p.shape for p in m.D.parameters()] == [p.shape for p in gan.D.parameters()]
    # by hand: gan 50,179 (G 49,666 + D 513); + the layer 256·50 + 50 = 12,850; first layer 50·128 + 128 = 6,528
    # instead of 256·128 + 128 = 32,896 -> 50,179 + 12,850 − 26,368 = 36,661 (z_dim 256 > N: a bottleneck)
    assert gan.n_params() == 50_179
    assert m.n_params() == 50_179 + (256 * 50 + 50) + (50 - 256) * 128 == 36_661
    lin, _ = build("gan_pp", fc_act="linear")
    assert isinstance(lin.G.act, torch.nn.Identity) and lin.n_params() == 36_661


def test_toy_profile_is_the_authors_gan_pp_layer():
    # val-iisc/deligan dg_toy.py: z (2) -> tanh(FC 50) -> tanh(FC 32) -> tanh(FC 2); D 2 -> tanh 32 -> 1
    m, data = build("gan_pp", **TOY)
    assert [type(a).__name__ for a in m.G] == ["Linear", "Tanh", "Sequential"]
    assert [type(a).__name__ for a in m.G.g] == ["Linear", "Tanh", "Linear", "ScaledTanh"]
    # by hand: toy gan = G 2·32+32 + 32·2+2 = 162, D 2·32+32 + 32+1 = 129; + 2·50+50 = 150; first layer
    # 50·32+32 instead of 2·32+32 (+1,536) -> 291 + 150 + 1,536 = 1,977
    gan, _ = build("gan", **TOY)
    assert gan.n_params() == 291
    assert m.n_params() == 291 + (2 * 50 + 50) + (50 - 2) * 32 == 1_977
    m.train_step(*_batch(m, data))
    assert m.sample(100).abs().max().item() <= 1.0


def _copy_gan_tail(m, gan):
    """Copy gan's G after its first layer into m's G.g (same shapes)."""
    with torch.no_grad():
        for pa, pb in zip(list(m.G.g.parameters())[2:], list(gan.G.parameters())[2:]):
            pa.copy_(pb)
        m.G.g[0].bias.copy_(gan.G[0].bias)


def test_relu_layer_set_to_plus_minus_identity_gives_gans_output():
    # Known answer: relu(z) − relu(−z) = z. FC rows [I; −I; 0] and G's first layer [W1, −W1, 0] make
    # GAN++'s G exactly gan's G on the same z (needs 2·z_dim ≤ N: z_dim 8, N 50).
    m, _ = build("gan_pp", z_dim=8)
    gan, _ = build("gan", z_dim=8, seed=1)
    w1 = gan.G[0].weight  # (128, 8)
    with torch.no_grad():
        m.G.fc.weight.zero_()
        m.G.fc.weight[:8].copy_(torch.eye(8))
        m.G.fc.weight[8:16].copy_(-torch.eye(8))
        m.G.g[0].weight.zero_()
        m.G.g[0].weight[:, :8].copy_(w1)
        m.G.g[0].weight[:, 8:16].copy_(-w1)
    _copy_gan_tail(m, gan)
    torch.manual_seed(2)
    got = m.sample(500, scale=3.0)
    torch.manual_seed(2)
    with torch.no_grad():
        want = gan.G(latent(500, gan.params, 3.0, "cpu"))
    # W1·relu(z) − W1·relu(−z) sums 16 float32 products instead of 8: 1e-6 absolute on outputs O(1e-3) is rounding
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        m.G.g[0].weight[:, 8:16].zero_()  # without the −W1 half the map is W1·relu(z): no longer gan's
    torch.manual_seed(2)
    assert not torch.allclose(m.sample(500, scale=3.0), want, rtol=1e-5, atol=1e-6)


def test_linear_layer_set_to_an_embedding_gives_gans_output():
    m, _ = build("gan_pp", z_dim=8, fc_act="linear")
    gan, _ = build("gan", z_dim=8, seed=1)
    with torch.no_grad():
        m.G.fc.weight.zero_()
        m.G.fc.weight[:8].copy_(torch.eye(8))  # h = [z, 0]
        m.G.g[0].weight.zero_()
        m.G.g[0].weight[:, :8].copy_(gan.G[0].weight)
    _copy_gan_tail(m, gan)
    torch.manual_seed(3)
    got = m.sample(300)
    torch.manual_seed(3)
    with torch.no_grad():
        want = gan.G(latent(300, gan.params, 1.0, "cpu"))
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-6)  # 50 vs 8 float32 terms (42 zeros): rounding


def test_sample_scale_multiplies_the_latent_covariance():
    m, _ = build("gan_pp")
    torch.manual_seed(1)
    scaled = m.sample(10, scale=4.0)
    torch.manual_seed(1)
    z = latent(10, m.params, 1.0, "cpu")
    with torch.no_grad():
        assert torch.equal(scaled, m.G(2 * z))  # covariance ×4 = std ×2
        assert not torch.allclose(scaled, m.G(z))
    assert m.n_components == 1
    with pytest.raises(ValueError, match="out of range"):
        m.sample(3, component=1)


def test_one_step_moves_the_extra_layer_g_and_d():
    m, data = build("gan_pp")
    groups = {"fc": list(m.G.fc.parameters()), "G": list(m.G.g.parameters()), "D": list(m.D.parameters())}
    assert changed_groups(m, groups, *_batch(m, data)) == {"fc", "G", "D"}


def test_state_dict_round_trip_through_bytes_gives_identical_samples():
    assert_round_trip("gan_pp")


def test_short_trial_completes():
    assert_short_trial("gan_pp", ["modes", "hq", "sym_kl"])
