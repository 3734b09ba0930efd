"""Nx-GAN (deligan §5.2): G's hidden layers N× as wide as the shared G's; D is gan's."""

import torch

from method_checks import assert_round_trip, assert_short_trial, build, changed_groups
from methods.nets import latent

TOY = dict(hidden_act="tanh", z_dim=2, g_hidden=(32,), d_hidden=(32,), g_out_scale=1.0)  # DeLiGAN toy profile


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def _linear_shapes(seq):
    return [(a.in_features, a.out_features) for a in seq if isinstance(a, torch.nn.Linear)]


def test_n_is_deligans():
    from methods.deligan import DeLiGANParams
    from methods.nx_gan import NxGANParams

    assert NxGANParams().width_mult == DeLiGANParams().n_components == 50


def test_default_widths_are_n_times_the_shared_and_parameter_count_by_hand():
    from methods.nx_gan import NxGAN, NxGANParams

    gan, data = build("gan")
    with torch.device("meta"):  # shapes only: initialising 42.6 M weights on one core takes ≈ 7 s
        m = NxGAN(data.spec, NxGANParams(), "meta")
    assert _linear_shapes(gan.G) == [(256, 128), (128, 128), (128, 2)]
    assert _linear_shapes(m.G) == [(256, 6400), (6400, 6400), (6400, 2)]  # 50 × 128 in every hidden layer
    assert _linear_shapes(m.D) == _linear_shapes(gan.D) == [(2, 128), (128, 1)]  # D untouched
    assert [type(a) for a in m.G] == [type(a) for a in gan.G]
    # by hand: G 256·6400+6400 + 6400·6400+6400 + 6400·2+2 = 1,644,800 + 40,966,400 + 12,802 = 42,624,002;
    # D 2·128+128 + 128+1 = 513
    assert m.n_params() == 42_624_002 + 513
    assert m.params.g_hidden == (128, 128)  # the shared widths stay recorded; G's are width_mult × them


def test_toy_widths_are_the_authors_32_times_50():
    # val-iisc/deligan dg_toy.py, Nx-GAN: gf_dim = 32*50, df_dim = 32
    m, data = build("nx_gan", **TOY)
    assert _linear_shapes(m.G) == [(2, 1600), (1600, 2)]
    assert _linear_shapes(m.D) == [(2, 32), (32, 1)]
    # by hand: G 2·1600+1600 + 1600·2+2 = 8,002 (toy gan's G: 162, i.e. ≈ N× its parameters); D 129
    assert m.n_params() == 8_002 + 129
    m.train_step(*_batch(m, data))
    assert m.sample(100).abs().max().item() <= 1.0  # tanh output


def test_width_mult_1_is_gan_step_for_step():
    # Known answer: N = 1 builds gan's networks from the same RNG draws, so training is gan's, bit for bit.
    m, data = build("nx_gan", width_mult=1)
    gan, _ = build("gan")
    assert all(torch.equal(a, b) for a, b in zip(m.parameters(), gan.parameters()))
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    for step in range(3):
        torch.manual_seed(10 + step)
        lm = m.train_step(*data.batch(m.batch_size, g1))
        torch.manual_seed(10 + step)
        lg = gan.train_step(*data.batch(gan.batch_size, g2))
        assert lm == lg
    assert all(torch.equal(a, b) for a, b in zip(m.parameters(), gan.parameters()))


def test_sample_scale_multiplies_the_latent_covariance():
    m, _ = build("nx_gan", width_mult=2)
    torch.manual_seed(1)
    scaled = m.sample(10, scale=4.0)
    torch.manual_seed(1)
    z = latent(10, m.params, 1.0, "cpu")
    with torch.no_grad():
        assert torch.equal(scaled, m.G(2 * z))  # covariance ×4 = std ×2
        assert not torch.allclose(scaled, m.G(z))
    assert m.n_components == 1 and m.sample(7).shape == (7, 2)


def test_one_step_moves_g_and_d():
    m, data = build("nx_gan", width_mult=2)
    groups = {"G": list(m.G.parameters()), "D": list(m.D.parameters())}
    assert changed_groups(m, groups, *_batch(m, data)) == {"G", "D"}


def test_state_dict_round_trip_through_bytes_gives_identical_samples():
    assert_round_trip("nx_gan", width_mult=2)


def test_short_trial_completes():
    # width_mult 2: the default 6,400-unit G takes ≈ 1.5 s a step on one core (see the method's note)
    assert_short_trial("nx_gan", ["modes", "hq", "w1"], params={"width_mult": 2})
