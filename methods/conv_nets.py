"""Image networks (DataSpec kind "image", shape (C, H, W)): the DCGAN-style generator and discriminator body that
`methods.nets`' builders return for images. Methods never import this file; they ask `methods.nets`.

Architecture (`image_arch`):
- "dcgan" (default): Radford, Metz & Chintala 2016 (DCGAN) §3 guidelines — G: z → FC → (c₀, s₀, s₀) → BN → ReLU
  → [ConvT 4×4 stride 2 → BN → ReLU]… → ConvT 4×4 stride 2 → tanh; D: [Conv 4×4 stride 2 → BN → LeakyReLU 0.2]…,
  no BN on D's input layer (DCGAN §3: "not applying batchnorm to … the discriminator input layer"), then flat
  features (heads sit on them). Widths double per layer towards the low resolution (DCGAN Fig. 1; ngf = ndf = 64
  as the DCGAN reference code). This is the DCGAN family Lucic et al. 2018 ("Are GANs created equal?") use for
  MNIST/Fashion/CIFAR/CelebA, which MD-GAN §6.3.1 follows for its image FIDs; their exact nets (e.g. the FC
  layers of the InfoGAN-style MNIST nets) are not reproduced here, only widths can be set (g_channels /
  d_channels).
- "mgan": MGAN App. C.2 Tables 4–7 (CIFAR-10, STL-10 48/96): 5×5 kernels, stride 2; BN on every layer but G's
  output, D's input layer included (Table 4 ticks BN on D's first convolution); BN centre fixed at 0 in G only
  ("BN center? ×"). Widths: Table 4's 512-256-128 / 128-256-512 are g_channels = d_channels = 128 here.

Resolution plan: s₀ = H / 2^L with L the largest number of stride-2 layers that leaves s₀ ≥ 3, so 16 → 4·2²,
28 → 7·2², 32 → 4·2³, 48 → 3·2⁴, 64 → 4·2⁴, 96 → 3·2⁵ (seed-review N3: MGAN Tables 5–6 print a 4×4 start that
cannot reach 48/96; a 3×3 start is the consistent fix). G and D use the same L; D ends at s₀ × s₀.

Batch norm keeps running statistics: methods sample in eval mode (`methods.base.inference`), so a sample does not
depend on which other samples share its batch (per-component grids, streamed evaluation).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from methods.nets import NetParams


def plan(shape: tuple[int, ...]) -> tuple[int, int]:
    """(L, s₀): the number of stride-2 layers and the smallest map side, for a (C, H, W) image shape."""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"image networks need square (C, H, W) images; got shape {tuple(shape)}")
    h, n = shape[1], 0
    while h % 2 == 0 and h // 2 >= 3:
        h //= 2
        n += 1
    if n == 0:
        raise ValueError(f"image side {shape[1]} cannot be halved to a map of side ≥ 3: use an even side ≥ 6 "
                         "(16, 28, 32, 48, 64, 96)")
    return n, h


def _kernel(p: "NetParams") -> tuple[int, int, int]:
    """(kernel, padding, output_padding) of a stride-2 layer that exactly halves / doubles the side."""
    return (5, 2, 1) if p.image_arch == "mgan" else (4, 1, 0)


def _norm(kind: str, c: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "layer":
        # Gulrajani et al. 2017 §4: layer normalisation in the critic; their code (lib/ops/layernorm.py) normalises
        # each sample over (C, H, W) with a per-channel scale and offset = GroupNorm with one group.
        return nn.GroupNorm(1, c)
    return nn.Identity()


def g_channels(p: "NetParams", shape: tuple[int, ...]) -> list[int]:
    """G's hidden map widths from the first (s₀) to the last (H/2): g_channels·2^(L−1), …, g_channels."""
    n, _ = plan(shape)
    return [p.g_channels * 2 ** (n - 1 - i) for i in range(n)]


def generator_width(p: "NetParams", shape: tuple[int, ...]) -> int:
    """Width of G's FC output (its first feature map, flattened): c₀·s₀²."""
    _, s0 = plan(shape)
    return g_channels(p, shape)[0] * s0 * s0


def generator_trunk(p: "NetParams", shape: tuple[int, ...], first_norm: bool = True) -> nn.Sequential:
    """Everything after G's input FC: (n, c₀·s₀²) → (n, C, H, W) in [−1, 1] (not initialised here). Without
    `first_norm` the first map's batch norm is left out (MGAN: each generator normalises its own)."""
    n, s0 = plan(shape)
    widths = g_channels(p, shape)
    k, pad, out_pad = _kernel(p)
    layers: list[nn.Module] = [nn.Unflatten(1, (widths[0], s0, s0))]
    for i, c in enumerate(widths):
        layers += [_norm(p.g_norm if i or first_norm else "none", c), nn.ReLU()]
        c_out = widths[i + 1] if i + 1 < n else shape[0]
        last = i + 1 == n
        # DCGAN §3: fractional-strided convolutions; no BN on G's output layer, tanh out.
        layers.append(nn.ConvTranspose2d(c, c_out, k, 2, pad, out_pad, bias=last or p.g_norm == "none"))
    layers.append(nn.Tanh())
    layers = [m for m in layers if not isinstance(m, nn.Identity)]
    if p.image_arch == "mgan":
        for m in layers:  # MGAN Tables 4–7: "BN center? ×" in G: the BN offset is fixed at 0
            if isinstance(m, nn.BatchNorm2d):
                m.bias.requires_grad_(False)
    return nn.Sequential(*layers)


class GeneratorBatchNorm(nn.Module):
    """Batch norm of each of K generators' first feature map over that generator's own samples (MGAN App. C.2
    Table 4: the input layer's BN is per generator, "Shared? ×"): per generator and channel its own scale,
    offset and running statistics, as K separate nn.BatchNorm2d (momentum 0.1, ε 1e-5, unbiased running var).
    `centre`: whether the offset trains (MGAN's tables fix G's BN centre at 0)."""

    def __init__(self, k: int, c: int, s: int, centre: bool = True, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.c, self.s, self.momentum, self.eps = c, s, momentum, eps
        self.weight = nn.Parameter(torch.ones(k, c))
        self.bias = nn.Parameter(torch.zeros(k, c), requires_grad=centre)
        self.register_buffer("running_mean", torch.zeros(k, c))
        self.register_buffer("running_var", torch.ones(k, c))

    def forward(self, h: torch.Tensor, gens: torch.Tensor | None = None) -> torch.Tensor:
        """h (G, m, c·s·s): block g from generator gens[g] (default g) -> normalised, same shape. Training
        uses each block's own statistics (every block must then be a different generator)."""
        g, m, _ = h.shape
        x = h.view(g, m, self.c, self.s * self.s)
        idx = torch.arange(g, device=h.device) if gens is None else gens
        if self.training:
            mean, var = x.mean((1, 3)), x.var((1, 3), unbiased=False)  # (G, c): over the block's m·s² values
            with torch.no_grad():
                n = m * self.s * self.s
                mo = self.momentum
                self.running_mean[idx] = (1 - mo) * self.running_mean[idx] + mo * mean
                self.running_var[idx] = (1 - mo) * self.running_var[idx] + mo * var * n / max(n - 1, 1)
        else:
            mean, var = self.running_mean[idx], self.running_var[idx]
        y = (x - mean[:, None, :, None]) * torch.rsqrt(var[:, None, :, None] + self.eps)
        return (y * self.weight[idx][:, None, :, None] + self.bias[idx][:, None, :, None]).reshape(g, m, -1)


def d_channels(p: "NetParams", shape: tuple[int, ...], base: int | None = None, head_outputs: int = 1) -> list[int]:
    """D's conv widths: base·2^i, i = 0..L−1 (base = the width that meets `d_param_fraction`)."""
    n, _ = plan(shape)
    b = d_base_width(p, shape, head_outputs) if base is None else base
    return [b * 2**i for i in range(n)]


def _d_norm_at(p: "NetParams", i: int) -> str:
    # DCGAN §3: no BN on D's input layer; MGAN Tables 4–7 put BN on every D layer.
    return "none" if i == 0 and p.image_arch == "dcgan" else p.d_norm


def d_param_count(p: "NetParams", shape: tuple[int, ...], base: int, head_outputs: int = 1) -> int:
    """Parameters of D's body at base width `base` (mirrors `discriminator_body`) plus the linear heads on its flat
    features, `head_outputs` outputs in all (1 logit; AC-GAN's 1 + N classes; MD-GAN's embedding …)."""
    _, s0 = plan(shape)
    k = _kernel(p)[0]
    total, c_in = 0, shape[0]
    for i, c in enumerate(d_channels(p, shape, base)):
        norm = _d_norm_at(p, i)
        total += c_in * c * k * k + (c if norm == "none" else 2 * c)  # conv bias, or the norm's scale + offset
        c_in = c
    return total + (c_in * s0 * s0 + 1) * head_outputs  # heads: flat features → head_outputs (weights + bias)


def d_base_width(p: "NetParams", shape: tuple[int, ...], head_outputs: int = 1) -> int:
    """The base width whose D has the parameter count nearest to d_param_fraction × that of the full-width D.

    MD-GAN §6.3.1's Stacked-MNIST sizes B, S½ and S¼ (the DCGANs of VEEGAN / Unrolled GAN with 1, ½ and ¼ of
    D's parameters). Conv weights grow with the square of the width, so ½ is near width/√2, but the input layer
    and the head grow linearly: we search the integer base widths instead of assuming the square law. The heads
    count: AC-GAN's 1,000-class head on Stacked MNIST holds most of its D, so a body-only count left its S¼ D at
    0.48 of B (InfoGAN, MGAN, PCM-GAN, MD-GAN at 0.31–0.32)."""
    if p.d_param_fraction == 1.0:
        return p.d_channels
    target = p.d_param_fraction * d_param_count(p, shape, p.d_channels, head_outputs)
    return min(range(1, p.d_channels + 1), key=lambda b: abs(d_param_count(p, shape, b, head_outputs) - target))


def discriminator_body(p: "NetParams", shape: tuple[int, ...], head_outputs: int = 1) -> tuple[nn.Sequential, int]:
    """(body, width): strided convs (C, H, W) → (c_{L−1}, s₀, s₀), LeakyReLU 0.2, flattened to `width` features
    (not initialised here). `shape` may carry m·C channels (PacGAN's packs). `head_outputs`: how many linear
    outputs the caller's heads read from the features, so that `d_param_fraction` sizes body and heads together."""
    _, s0 = plan(shape)
    k, pad, _ = _kernel(p)
    layers: list[nn.Module] = []
    c_in = shape[0]
    for i, c in enumerate(d_channels(p, shape, head_outputs=head_outputs)):
        norm = _d_norm_at(p, i)
        # DCGAN §3: strided convolutions instead of pooling, LeakyReLU (slope 0.2) in D.
        layers += [nn.Conv2d(c_in, c, k, 2, pad, bias=norm == "none"), _norm(norm, c), nn.LeakyReLU(p.leaky_slope)]
        c_in = c
    layers = [m for m in layers if not isinstance(m, nn.Identity)]
    return nn.Sequential(*layers, nn.Flatten()), c_in * s0 * s0
