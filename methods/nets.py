"""Shared network blocks and the network hyper-parameters every 2-D method inherits, so methods compare on
equal networks (differences are the method's). Defaults: MGAN App. C.1 Table 3; the `paper` profile may
switch to a source paper's own 2-D networks (e.g. MD-GAN's code) through these same fields."""
from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import nn

from methods.base import Params


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


def generator(p: NetParams, out_dim: int, in_dim: int | None = None) -> nn.Sequential:
    # MGAN App. C.1 Table 3: z -> FC 128 ReLU -> FC 128 ReLU -> FC 2 linear, no batch norm.
    net = mlp([in_dim or p.z_dim, *p.g_hidden, out_dim], g_activation(p), g_output(p))
    return init_normal(net, p.init_std)


def discriminator_body(p: NetParams, in_dim: int) -> tuple[nn.Sequential, int]:
    """Hidden layers of D (MGAN Table 3: FC 128 Leaky ReLU 0.2), each followed by its activation; returns
    (body, feature width) so heads (D's logit, MGAN's classifier, MD-GAN's embedding) sit on top."""
    layers: list[nn.Module] = []
    width = in_dim
    for h in p.d_hidden:
        layers += [nn.Linear(width, h), nn.Tanh() if p.hidden_act == "tanh" else nn.LeakyReLU(p.leaky_slope)]
        width = h
    return init_normal(nn.Sequential(*layers), p.init_std), width


def head(p: NetParams, in_dim: int, out_dim: int) -> nn.Linear:
    return init_normal(nn.Linear(in_dim, out_dim), p.init_std)


def discriminator(p: NetParams, in_dim: int, out_dim: int = 1) -> nn.Sequential:
    body, width = discriminator_body(p, in_dim)
    return nn.Sequential(*body, head(p, width, out_dim))


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
