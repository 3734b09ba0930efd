"""GAN losses shared by the methods, on logits (numerically stable BCE-with-logits forms)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # Goodfellow et al. 2014 Eq. 1, D side: −E log D(x) − E log(1 − D(G(z))).
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    # Goodfellow et al. 2014 §3: G maximises log D(G(z)), i.e. minimises −E log D(G(z)).
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    # Goodfellow et al. 2014 Eq. 1, G side: minimise E log(1 − D(G(z))) = −BCE(logits, 0).
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
