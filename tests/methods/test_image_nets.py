"""The shared network builders on images (methods/nets.py → methods/conv_nets.py): shapes for every supported
resolution, MD-GAN's B / S½ / S¼ discriminator sizes, where batch norm sits, and the image form of each
method's join."""
from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from bench.data.base import DataSpec
from bench.registry import METHODS
from method_checks import build, build_image, image_batch
from methods import conv_nets
from methods.nets import NetParams, discriminator, discriminator_body, generator, latent


def spec(c: int, side: int, n_classes: int = 10) -> DataSpec:
    return DataSpec(name=f"test_{c}x{side}", kind="image", shape=(c, side, side), n_classes=n_classes)


def n_params(*modules: nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


# (side, L stride-2 layers, smallest map s0): s0 = side / 2^L, the largest L with s0 ≥ 3
PLANS = [(16, 2, 4), (28, 2, 7), (32, 3, 4), (48, 4, 3), (64, 4, 4), (96, 5, 3)]


@pytest.mark.parametrize("side,layers,s0", PLANS)
@pytest.mark.parametrize("c", [1, 3])
def test_generator_and_body_shapes_for_every_resolution(side, layers, s0, c):
    p = NetParams(z_dim=8, g_channels=4, d_channels=4)  # narrow: shapes only
    s = spec(c, side)
    torch.manual_seed(0)
    G = generator(p, s)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, c, side, side) and x.abs().max() <= 1  # tanh out
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in G) == layers
    body, width = discriminator_body(p, s)
    assert sum(isinstance(m, nn.Conv2d) for m in body) == layers
    # D's widths double per layer from d_channels: the last conv has d_channels·2^(L−1) maps of s0 × s0
    assert width == 4 * 2 ** (layers - 1) * s0 * s0
    assert body(x).shape == (3, width)
    assert discriminator(p, s, out_dim=7)(x).shape == (3, 7)


def test_sides_that_cannot_be_halved_are_refused():
    with pytest.raises(ValueError, match="even side"):
        generator(NetParams(), spec(1, 5))
    with pytest.raises(ValueError, match="square"):
        conv_nets.plan((1, 16, 32))


def test_dcgan_d_has_no_batch_norm_on_its_input_layer_and_g_none_on_its_output():
    p, s = NetParams(), spec(1, 28)
    body, _ = discriminator_body(p, s)
    layers = list(body)
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)  # DCGAN §3: none on D's input
    assert layers[1].negative_slope == 0.2
    assert [type(m) for m in layers[3:5]] == [nn.BatchNorm2d, nn.LeakyReLU]  # the next conv has BN
    G = list(generator(p, s))
    assert isinstance(G[-2], nn.ConvTranspose2d) and isinstance(G[-1], nn.Tanh)  # no BN on G's output
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G) == 2  # BN after the FC map and after the hidden ConvT


def test_mgan_architecture_option_follows_tables_4_to_7():
    p, s = NetParams(image_arch="mgan", g_channels=128, d_channels=128, z_dim=100), spec(3, 32)
    body, _ = discriminator_body(p, s)
    convs = [m for m in body if isinstance(m, nn.Conv2d)]
    # Table 4 (CIFAR-10): D convs 5×5 stride 2 with 128, 256, 512 maps, BN on every one (the input one too)
    assert [(m.kernel_size, m.stride, m.out_channels) for m in convs] == [((5, 5), (2, 2), c) for c in (128, 256, 512)]
    assert isinstance(list(body)[1], nn.BatchNorm2d)
    G = generator(p, s)
    # Table 4: FC 4×4×512, then ConvT 5×5 stride 2 to 256, 128, 3; BN centre fixed at 0 (not trained) in G
    assert G[0].out_features == 4 * 4 * 512
    assert [m.out_channels for m in G if isinstance(m, nn.ConvTranspose2d)] == [256, 128, 3]
    bns = [m for m in G if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(not m.bias.requires_grad and m.weight.requires_grad for m in bns)
    assert G(torch.randn(2, 100)).shape == (2, 3, 32, 32)


def test_mdgan_stacked_mnist_discriminator_sizes_b_half_and_quarter():
    s = spec(3, 28, 1000)  # Stacked MNIST's shape
    counts = {}
    for f in (1.0, 0.5, 0.25):
        p = NetParams(d_param_fraction=f)
        body, width = discriminator_body(p, s)
        head = nn.Linear(width, 1)
        counts[f] = n_params(body, head)
        base = conv_nets.d_base_width(p, s.shape)
        assert counts[f] == conv_nets.d_param_count(p, s.shape, base)  # the analytic count is the module's
    assert conv_nets.d_base_width(NetParams(), s.shape) == 64  # B: DCGAN's ndf = 64
    # S½ and S¼: the nearest integer base width; 2 % covers the step between neighbouring widths (≈ 3 % at 45)
    assert counts[0.5] / counts[1.0] == pytest.approx(0.5, abs=0.01)
    assert counts[0.25] / counts[1.0] == pytest.approx(0.25, abs=0.01)


def test_wgan_gp_critic_has_layer_norm_and_no_batch_norm():
    m = build_image("wgan_gp", "sk_digits16")
    assert not any(isinstance(x, nn.BatchNorm2d) for x in m.D.modules())
    assert sum(isinstance(x, nn.GroupNorm) and x.num_groups == 1 for x in m.D.modules()) == 1  # layer norm, layer 2
    assert not any(isinstance(x, nn.BatchNorm2d) for x in build_image("wgan_gp", "sk_digits16", d_norm="none").D.modules())
    with pytest.raises(ValidationError):
        m.Params(d_norm="batch")


def test_sngan_normalises_every_conv_and_linear_of_d_and_has_no_batch_norm():
    m = build_image("sngan", "sk_digits16")
    layers = [x for x in m.D.modules() if isinstance(x, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 3 and all(hasattr(x, "parametrizations") for x in layers)  # 2 convs + the head
    assert not any(isinstance(x, (nn.BatchNorm2d, nn.GroupNorm)) for x in m.D.modules())


def test_pacgan_packs_on_the_channel_axis():
    from methods.pacgan import pack

    m = build_image("pacgan", "sk_stacked_digits16", pack=2)
    assert m.D[0].in_channels == 6  # m·C
    x = torch.randn(4, 3, 16, 16)
    packed = pack(x, 2)
    assert packed.shape == (2, 6, 16, 16)
    assert torch.equal(packed[1, :3], x[2]) and torch.equal(packed[1, 3:], x[3])


def test_class_and_code_one_hots_widen_gs_input_layer():
    for name, extra in [("acgan", 1000), ("infogan", 1000), ("moe_gan", 50)]:
        m = build_image(name, "sk_stacked_digits16")
        assert m.G[0].in_features == 256 + extra, name


def test_mgan_shares_the_transposed_convs_and_each_generator_has_its_own_input_layer():
    m = build_image("mgan", "sk_digits16", n_generators=3)
    h = 128 * 4 * 4  # the first feature map (g_channels 64·2, 4×4), flattened
    assert m.G.w_in.shape == (3, 256, h)
    assert sum(isinstance(x, nn.ConvTranspose2d) for x in m.G.shared.modules()) == 2
    torch.manual_seed(0)
    got = m.sample(5, component=2)
    torch.manual_seed(0)
    z = latent(5, m.params, 1.0, "cpu").view(1, 5, 256)
    with torch.no_grad():
        m.eval()
        want = m.G(z, torch.tensor([2]))[0]
        m.train()
    assert torch.equal(got, want)


def test_nx_gan_and_ensemble_gan_run_a_smaller_n_on_images():
    nx = build_image("nx_gan", "sk_digits16")
    assert nx.params.image_width_mult == 2
    assert nx.G[0].out_features == 2 * 128 * 4 * 4  # N× the channels of every map
    ens = build_image("ensemble_gan", "sk_digits16")
    assert ens.n_components == ens.params.image_n_components == 5 and len(ens.gens) == 5
    assert build("ensemble_gan")[0].n_components == 50  # points keep DeLiGAN's N


def test_gan_pp_puts_its_extra_layer_before_the_dcgan_input_layer():
    m = build_image("gan_pp", "sk_digits16")
    assert m.G.fc.out_features == 50 and m.G.g[0].in_features == 50


def test_veegan_joins_z_at_ds_flat_features_and_f_is_a_conv_encoder():
    m = build_image("veegan", "sk_digits16")
    width = 128 * 4 * 4
    assert m.D.joint[0].in_features == 256 + width
    assert isinstance(m.F[0], nn.Conv2d) and m.F[-1].out_features == 256
    z, x = torch.randn(4, 256), torch.rand(4, 1, 16, 16) * 2 - 1
    assert m.D(z, x).shape == (4, 1) and m.D.pairs((z, x), (z, x)).shape == (8, 1)


def test_sampling_is_in_eval_mode_and_leaves_batch_norm_statistics_alone():
    m = build_image("gan", "sk_digits16", batch_size=16, fake_batch_size=16)
    m.train_step(*image_batch("sk_digits16", 16, torch.Generator().manual_seed(0)))
    before = {k: v.clone() for k, v in m.state_dict()["modules"].items()}
    torch.manual_seed(1)
    one = m.sample(4)
    torch.manual_seed(1)
    many = m.sample(40)
    assert m.training  # restored
    # a sample depends on its own z only (running statistics, not the batch's, which would move it far more); not
    # bit-equal, since the CPU's conv kernels may choose a different algorithm per batch size (~1e-8 seen)
    torch.testing.assert_close(one, many[:4], rtol=0, atol=1e-6)
    assert all(torch.equal(before[k], v) for k, v in m.state_dict()["modules"].items())


def test_unrolling_an_image_d_never_writes_its_batch_norm_buffers():
    m = build_image("unrolled_gan", "sk_digits16", batch_size=8, fake_batch_size=8, unroll_steps=3)
    x, _ = image_batch("sk_digits16", 8, torch.Generator().manual_seed(0))
    fake = m.G(torch.randn(8, 256))
    buffers = {k: v.clone() for k, v in m.D.named_buffers()}
    assert buffers  # the image D has batch norm
    m.unroll(x, fake)
    assert all(torch.equal(buffers[k], v) for k, v in m.D.named_buffers())


def test_mgans_per_generator_batch_norm_is_k_separate_batchnorm2d():
    torch.manual_seed(0)
    k, c, s, m = 3, 4, 3, 5
    gbn = conv_nets.GeneratorBatchNorm(k, c, s)
    refs = [nn.BatchNorm2d(c) for _ in range(k)]
    with torch.no_grad():
        gbn.weight.copy_(torch.rand(k, c) + 0.5)
        gbn.bias.copy_(torch.randn(k, c))
        for i, r in enumerate(refs):
            r.weight.copy_(gbn.weight[i])
            r.bias.copy_(gbn.bias[i])
    for _ in range(2):  # training: each block normalised by its own statistics; running stats as torch's
        h = torch.randn(k, m, c * s * s) * 3 + 1
        got = gbn(h).view(k, m, c, s, s)
        for i, r in enumerate(refs):
            # float32, different summation order: 1e-5 on O(1) values
            assert torch.allclose(got[i], r(h[i].view(m, c, s, s)), atol=1e-5, rtol=0)
    for i, r in enumerate(refs):
        assert torch.allclose(gbn.running_mean[i], r.running_mean, atol=1e-6, rtol=0)
        assert torch.allclose(gbn.running_var[i], r.running_var, atol=1e-5, rtol=0)
    gbn.eval()
    h = torch.randn(1, m, c * s * s)
    got = gbn(h, torch.tensor([2])).view(m, c, s, s)  # one generator's block, by index (sample(component=2))
    refs[2].eval()
    assert torch.allclose(got, refs[2](h[0].view(m, c, s, s)), atol=1e-5, rtol=0)


# Modules on D's side of each method (its discriminator(s), their heads, PCM-GAN's separate classifier); the rest
# (generators, latents, VEEGAN's reconstructor F, MD-GAN's fixed mixture) is G's side.
D_SIDE = {"D", "D1", "D2", "C", "body", "s_head", "c_head", "d_head", "q_head"}
STACKED_K = {"mgan": {"n_generators": 10}, "gmgan_static": {"n_gaussians": 10}, "gmgan_dynamic": {"n_gaussians": 10},
             "pcmgan": {"n_gaussians": 10}, "infogan": {"n_codes": 10}, "mdgan": {"lambda_starts": 2}}


def _side_counts(m) -> tuple[int, int]:
    """(parameters on D's side, on G's side), from the method's nn.Module attributes."""
    d = g = 0
    for name, mod in m.named_children():
        n = sum(p.numel() for p in mod.parameters())
        d, g = (d + n, g) if name in D_SIDE else (d, g + n)
    return d, g


@pytest.mark.parametrize("method", [n for n in METHODS.names() if METHODS.get(n).trainable])
def test_d_sizes_shrink_the_whole_discriminator_side_and_nothing_else(method):
    """MD-GAN §6.3.1's S1/2 and S1/4 hold half and a quarter of D's parameters, heads included (AC-GAN's 1,000-class
    head on a stacked set is most of its D: sized by the body alone it kept 0.48 of B at S1/4); G's side, VEEGAN's
    reconstructor F included, keeps its size. On Stacked MNIST's shape, 3×28×28 and 1,000 classes, at the default
    widths (there a body-only count left InfoGAN, MGAN, PCM-GAN and MD-GAN at 0.31–0.32 too)."""
    cls, counts = METHODS.get(method), {}
    for f in (1.0, 0.5, 0.25):
        params = cls.Params(d_param_fraction=f, g_channels=16, z_dim=32, **STACKED_K.get(method, {}))
        counts[f] = _side_counts(cls(spec(3, 28, 1000), params, "cpu"))
    (d1, g1), (d2, g2), (d4, g4) = counts[1.0], counts[0.5], counts[0.25]
    assert g1 == g2 == g4, (method, g1, g2, g4)
    assert d2 / d1 == pytest.approx(0.5, abs=0.03) and d4 / d1 == pytest.approx(0.25, abs=0.03), (d2 / d1, d4 / d1)


def test_pcmgan_separate_classifier_keeps_d_s_shape_at_every_d_size():
    """PCM-GAN's `classifier="separate"`: C is its own network of D's shape (its docstring), so its convs follow D's
    width at S1/2 and S1/4 too, whatever its K-way head adds."""
    cls = METHODS.get("pcmgan")
    for f in (1.0, 0.5, 0.25):
        m = cls(spec(3, 28, 1000), cls.Params(d_param_fraction=f, classifier="separate", n_gaussians=10), "cpu")
        widths = [[c.out_channels for c in net.modules() if isinstance(c, nn.Conv2d)] for net in (m.D, m.C)]
        assert widths[0] == widths[1] and widths[0][0] == conv_nets.d_base_width(m.params, (3, 28, 28))
        assert m.C[-1].out_features == 10


def test_parameters_by_player_are_what_each_optimiser_updates():
    gan = build_image("gan", "sk_digits16")
    assert gan.n_params_by_player() == {"G": n_params(gan.G), "D": n_params(gan.D)}
    assert sum(gan.n_params_by_player().values()) == gan.n_params()
    pcm = build_image("pcmgan", "sk_digits16")  # C is a head on D's body: the body counts for both players
    by = pcm.n_params_by_player()
    assert by["D"] == n_params(pcm.body, pcm.d_head) and by["C"] == n_params(pcm.body, pcm.c_head)
    assert sum(by.values()) == pcm.n_params() + n_params(pcm.body)
