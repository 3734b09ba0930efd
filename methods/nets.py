"""Shared network blocks, so methods compare on equal networks (differences are the method's)."""
from __future__ import annotations

from typing import Sequence

from torch import nn


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


def generator_2d(z_dim: int = 256, hidden: Sequence[int] = (128, 128), out_dim: int = 2) -> nn.Sequential:
    # MGAN App. C.1 Table 3: z (256) -> FC 128 ReLU -> FC 128 ReLU -> FC 2 linear, no batch norm.
    return mlp([z_dim, *hidden, out_dim], nn.ReLU())


def discriminator_2d(in_dim: int = 2, hidden: int = 128, out_dim: int = 1, slope: float = 0.2) -> nn.Sequential:
    # MGAN App. C.1 Table 3: x (2) -> FC 128 LeakyReLU(0.2) -> FC 1 logit (sigmoid in the loss), no batch norm.
    return mlp([in_dim, hidden, out_dim], nn.LeakyReLU(slope))
