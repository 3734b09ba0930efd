"""The network builders every method asks for its players, and the network hyper-parameters every method
inherits, so methods compare on equal networks (differences are the method's).

The builders take the `DataSpec` and choose the network by its kind; this is the ONLY place that branches on it:
- points (shape (d,)): MLPs, defaults MGAN App. C.1 Table 3; the `paper` profile may switch to a source paper's
  own 2-D networks (e.g. MD-GAN's code) through these same fields.
- image (shape (C, H, W)): DCGAN-style convolutional G and D body (`methods.conv_nets`), sized from the shape.
D's body always maps a batch to flat features (n, width), so heads (D's logit, MGAN's classifier, MD-GAN's
embedding, InfoGAN's Q, PCM-GAN's C, AC-GAN's classes) sit on top the same way on points and images.
"""
from __future__ import annotations

from typing import Literal, Sequence, TypeVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from bench.data.base import DataSpec
from methods import conv_nets
from methods.base import Params

T = TypeVar("T")


class NetParams(Params):
    z_dim: int = 256  # MGAN App. C.1 Table 3: 256 noise units
    z_dist: Literal["normal", "uniform"] = "normal"  # Table 3: N(0, I); MD-GAN's 2-D code: U(−1, 1)
    g_hidden: tuple[int, ...] = (128, 128)  # Table 3: FC 128 ReLU, FC 128 ReLU
    g_out_scale: float | None = None  # None: linear output (Table 3); s: s·tanh (MD-GAN's 2-D code: 6)
    d_hidden: tuple[int, ...] = (128,)  # Table 3: FC 128 Leaky ReLU
    leaky_slope: float = 0.2  # Table 3
    # Hidden activations: "default" = ReLU in G, Leaky ReLU in D (Table 3); "tanh" = tanh in both (DeLiGAN's toy
    # code, val-iisc/deligan dg_toy.py), so the DeLiGAN-toy profile can give every method the same networks.
    hidden_act: Literal["default", "tanh"] = "default"
    init_std: float = 0.02  # Table 3: weights N(0, 0.02), biases 0
    lr: float = 2e-4  # Table 3: Adam(2e-4, β1 0.5, β2 0.999)
    d_lr: float | None = None  # D's learning rate when it differs (None: lr)
    betas: tuple[float, float] = (0.5, 0.999)
    lr_halve_every: int | None = None  # steps between halvings of every lr (MD-GAN's 2-D code: 500 epochs)
    batch_size: int = 512  # Table 3: real batch 512
    fake_batch_size: int = 128  # Table 3: 128 per generator
    # -- image networks (kind "image"; the 2-D MLPs ignore these, and the image networks ignore g_hidden,
    # g_out_scale and hidden_act; VEEGAN's joint D uses d_hidden after its convs). Layers: methods/conv_nets.py.
    # "dcgan": Radford et al. 2016 (4×4 stride-2 layers, no BN on D's input); "mgan": MGAN App. C.2 Tables 4–7
    # (5×5 kernels, BN on every D layer, G's BN centre fixed at 0; widths 128 there: set g/d_channels 128).
    image_arch: Literal["dcgan", "mgan"] = "dcgan"
    g_channels: int = Field(64, ge=1)  # G's last hidden map width, ×2 per earlier layer (DCGAN code ngf = 64)
    d_channels: int = Field(64, ge=1)  # D's first conv width, ×2 per later layer (DCGAN code ndf = 64)
    # D's size as a fraction of the full-width D's parameters (body + every head on its features): MD-GAN §6.3.1
    # Stacked MNIST B = 1, S½ = 0.5, S¼ = 0.25 (the integer base width nearest that count: conv_nets.d_base_width).
    d_param_fraction: float = Field(1.0, gt=0.0, le=1.0)
    g_norm: Literal["batch", "none"] = "batch"  # DCGAN §3: BN in G (not on its output layer)
    # D's normalisation after each conv but the input one (DCGAN §3). WGAN-GP and SN-GAN narrow this (no BN).
    d_norm: Literal["batch", "layer", "none"] = "batch"


def init_normal(module: nn.Module, std: float) -> nn.Module:
    """Weights ~ N(0, std²), biases 0 (MGAN §5 (vii), App. C.1 Table 3: std 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def mlp(sizes: Sequence[int], act: nn.Module, out_act: nn.Module | None = None) -> nn.Sequential:
    """Linear layers sizes[0] -> ... -> sizes[-1] with `act` between them and `out_act` (if any) at the end."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act)
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


class ScaledTanh(nn.Module):
    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return self.scale * torch.tanh(x)


def g_activation(p: NetParams) -> nn.Module:
    return nn.Tanh() if p.hidden_act == "tanh" else nn.ReLU()


def g_output(p: NetParams) -> nn.Module | None:
    return ScaledTanh(p.g_out_scale) if p.g_out_scale else None


def _kind(spec: DataSpec) -> str:
    if spec.kind not in ("points", "image"):
        raise ValueError(f"no networks for data kind {spec.kind!r} (dataset {spec.name!r}): points or image")
    return spec.kind


def for_kind(spec: DataSpec, *, points: T, image: T) -> T:
    """A per-kind hyper-parameter's value (e.g. Ensemble-GAN's N: DeLiGAN §5.4 calls N = 50 prohibitive on
    images, so its params carry a separate, smaller image N)."""
    return image if _kind(spec) == "image" else points


def generator(p: NetParams, spec: DataSpec, in_dim: int | None = None) -> nn.Sequential:
    """G: (n, in_dim) → samples of `spec`'s shape; in_dim defaults to z_dim (joins such as a class one-hot widen
    it: the input layer is fully connected on points and images alike)."""
    if _kind(spec) == "image":
        # DCGAN (Radford et al. 2016): z → FC → first feature map → transposed convs → tanh (conv_nets).
        width = conv_nets.generator_width(p, spec.shape)
        net = nn.Sequential(nn.Linear(in_dim or p.z_dim, width, bias=p.g_norm == "none"),
                            *conv_nets.generator_trunk(p, spec.shape))
        return init_normal(net, p.init_std)
    # MGAN App. C.1 Table 3: z -> FC 128 ReLU -> FC 128 ReLU -> FC 2 linear, no batch norm.
    net = mlp([in_dim or p.z_dim, *p.g_hidden, spec.shape[0]], g_activation(p), g_output(p))
    return init_normal(net, p.init_std)


def generator_width(p: NetParams, spec: DataSpec) -> int:
    """Width of G's input layer's output (MGAN's per-generator layer): g_hidden[0], or c₀·s₀² on images."""
    return conv_nets.generator_width(p, spec.shape) if _kind(spec) == "image" else p.g_hidden[0]


class PerGenerator(nn.Module):
    """An elementwise layer applied to K generators' blocks: forward(h (G, m, w), gens) = layer(h)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, h: torch.Tensor, gens: torch.Tensor | None = None) -> torch.Tensor:
        return self.layer(h)


def generator_trunk(p: NetParams, spec: DataSpec, n_generators: int) -> tuple[nn.Module, nn.Module]:
    """(own, shared) for K generators that share all but their input layer (MGAN §3): what follows generator
    k's input layer is `shared(own(h, gens).flatten(0, 1))` for blocks h (G, m, generator_width).
    Points: `own` = G's hidden activation, `shared` = MGAN Table 3's shared FC 128 ReLU → FC 2 linear. Images:
    `own` = each generator's batch norm of its first map (MGAN Table 4: not shared), `shared` = ReLU →
    transposed convs → tanh."""
    if _kind(spec) == "image":
        _, s0 = conv_nets.plan(spec.shape)
        c0 = conv_nets.g_channels(p, spec.shape)[0]
        own = (conv_nets.GeneratorBatchNorm(n_generators, c0, s0, centre=p.image_arch != "mgan")
               if p.g_norm == "batch" else PerGenerator(nn.Identity()))
        return own, init_normal(conv_nets.generator_trunk(p, spec.shape, first_norm=False), p.init_std)
    act = PerGenerator(g_activation(p))  # no parameters: the state dict is the plain MLP's
    return act, init_normal(mlp([*p.g_hidden, spec.shape[0]], g_activation(p), g_output(p)), p.init_std)


def discriminator_body(p: NetParams, spec: DataSpec, pack: int = 1, head_outputs: int = 1) -> tuple[nn.Sequential, int]:
    """Hidden layers of D, each followed by its activation; returns (body, feature width) so heads (D's logit,
    MGAN's classifier, MD-GAN's embedding) sit on top. Points: MGAN Table 3's FC 128 Leaky ReLU 0.2; images:
    DCGAN strided convs flattened (conv_nets). `pack` = m: D reads m samples concatenated on the first axis
    (m·d features, or m·C channels: PacGAN §3 and its Stacked-MNIST code). `head_outputs`: the outputs of all the
    heads the caller puts on the features, counted when `d_param_fraction` (images) sizes D."""
    if _kind(spec) == "image":
        c, h, w = spec.shape
        body, width = conv_nets.discriminator_body(p, (pack * c, h, w), head_outputs)
        return init_normal(body, p.init_std), width
    return _mlp_body(p, pack * spec.shape[0])


def _mlp_body(p: NetParams, in_dim: int) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    width = in_dim
    for h in p.d_hidden:
        layers += [nn.Linear(width, h), nn.Tanh() if p.hidden_act == "tanh" else nn.LeakyReLU(p.leaky_slope)]
        width = h
    return init_normal(nn.Sequential(*layers), p.init_std), width


def head(p: NetParams, in_dim: int, out_dim: int) -> nn.Linear:
    return init_normal(nn.Linear(in_dim, out_dim), p.init_std)


def discriminator(p: NetParams, spec: DataSpec, out_dim: int = 1, pack: int = 1) -> nn.Sequential:
    """D's body with one linear head of `out_dim` outputs (logits)."""
    body, width = discriminator_body(p, spec, pack, head_outputs=out_dim)
    return nn.Sequential(*body, head(p, width, out_dim))


def encoder(p: NetParams, spec: DataSpec, out_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    """x → (n, out_dim), linear output (VEEGAN's reconstructor F). Points: FC `hidden` with G's hidden activation
    (G mirrored); images: D's conv body (DCGAN) and a linear head on its flat features (`hidden` unused)."""
    if _kind(spec) == "image":
        # F is trained with G, not a discriminator: MD-GAN's D sizes (d_param_fraction) leave it at full width
        body, width = discriminator_body(p.model_copy(update={"d_param_fraction": 1.0}), spec)
        return nn.Sequential(*body, head(p, width, out_dim))
    return init_normal(mlp([spec.shape[0], *hidden, out_dim], g_activation(p)), p.init_std)


class PairMLP(nn.Sequential):
    """D over pairs (z, x) on points: the MLP D on cat(z, x) (VEEGAN §3), its first affine map applied by column
    blocks, W·cat(z, x) + b = W_z z + W_x x + b: the same value, but the gradient G's loss sends back stops at
    x's columns and no (n, z_dim + d) concatenation is built."""

    def first_layer(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        w, k = self[0].weight, z.shape[1]
        return F.linear(z, w[:, :k]) + F.linear(x, w[:, k:], self[0].bias)

    def pairs(self, *pairs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Logits (Σn, 1) of several batches of pairs [(z, x), …] in one pass, rows in that order."""
        h = torch.cat([self.first_layer(z, x) for z, x in pairs])
        for layer in list(self)[1:]:
            h = layer(h)
        return h

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.pairs((z, x))


class PairConv(nn.Module):
    """D over pairs (z, x) on images: D's conv body on x, z joined at its flat features, then FC `d_hidden`
    (Leaky ReLU) → 1 logit (the joint-discriminator form of ALI/BiGAN, Dumoulin et al. 2017 App. A, which VEEGAN
    §5 compares against: x and z meet after x's convolutions)."""

    def __init__(self, p: NetParams, spec: DataSpec, z_dim: int):
        super().__init__()
        # the joint layer reads the features (d_hidden[0] outputs): d_param_fraction sizes body and joint layer
        # together (z's columns and the layers after it are not counted: with z 100 on Stacked MNIST 1.4 % of
        # VEEGAN's D at B, 5.2 % at S1/4, which ends at 0.263 of B)
        self.body, width = discriminator_body(p, spec, head_outputs=p.d_hidden[0] if p.d_hidden else 1)
        self.joint, joint_width = _mlp_body(p, z_dim + width)
        self.head = head(p, joint_width, 1)

    def pairs(self, *pairs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Logits (Σn, 1) of several batches of pairs [(z, x), …] in one pass (one BN batch), rows in order."""
        z = torch.cat([z for z, _ in pairs])
        f = self.body(torch.cat([x for _, x in pairs]))
        return self.head(self.joint(torch.cat([z, f], 1)))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.pairs((z, x))


def pair_discriminator(p: NetParams, spec: DataSpec, z_dim: int) -> nn.Module:
    """D(z, x) → (n, 1) logits, with `.pairs((z1, x1), (z2, x2), …)` for one pass over several batches."""
    if _kind(spec) == "image":
        return PairConv(p, spec, z_dim)
    body, width = _mlp_body(p, z_dim + spec.shape[0])  # MLP D on cat(z, x): VEEGAN §3
    return PairMLP(*body, head(p, width, 1))


def latent(n: int, p: NetParams, scale: float, device) -> torch.Tensor:
    """z from the plain prior with its covariance multiplied by `scale` (std by sqrt(scale)):
    N(0, scale·I), or U(−1, 1)^d scaled by sqrt(scale)."""
    if p.z_dist == "normal":
        z = torch.randn(n, p.z_dim, device=device)
    else:
        z = torch.rand(n, p.z_dim, device=device) * 2 - 1
    return z * scale**0.5


def adam(params, p: NetParams, lr: float | None = None) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr if lr is not None else p.lr, betas=p.betas)
