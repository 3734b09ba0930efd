"""`gan`: the non-saturating GAN (Goodfellow et al. 2014, §3) on MGAN's 2-D networks (App. C.1 Table 3).

Every 2-D method in the suite uses these networks and this optimiser (`methods.nets.NetParams`), so
differences are the method's.
"""
from __future__ import annotations

import torch
from torch import nn

from bench.registry import register_method
from methods.base import Method
from methods.losses import d_loss, g_loss_nonsaturating
from methods.nets import NetParams, adam, discriminator, generator, latent


class GANParams(NetParams):
    pass  # MGAN App. C.1 Table 3 (see NetParams); 128 fakes: a GAN is MGAN's K = 1 case (App. C.1 Fig. 6a)


@register_method("gan")
class GAN(Method):
    """The plain GAN. Baselines that change only G's network or its input (GAN++, Nx-GAN, MoE-GAN) subclass it
    and override `build_generator` / `generator_input`, so they share this exact training step."""

    Params = GANParams

    def __init__(self, spec, params: GANParams, device="cpu"):
        super().__init__(spec, params, device)
        dim = spec.shape[0]
        self.G = self.build_generator(params, dim).to(self.device)
        self.D = discriminator(params, dim).to(self.device)
        self.set_optimizers(G=adam(self.G.parameters(), params),
                            D=adam(self.D.parameters(), params, params.d_lr))

    def build_generator(self, p: GANParams, dim: int) -> nn.Module:
        return generator(p, dim)

    def generator_input(self, n: int, scale: float = 1.0, component: int | None = None) -> torch.Tensor:
        """G's input for n samples: z from the prior with covariance ×scale."""
        return latent(n, self.params, scale, self.device)

    def train_step(self, x, y=None):
        fake = self.G(self.generator_input(self.params.fake_batch_size))
        # Goodfellow 2014 Eq. 1, D side: maximise log D(x) + log(1 − D(G(z))).
        loss_d = d_loss(self.D(x), self.D(fake.detach()))
        self.descend("D", loss_d)
        # Goodfellow 2014 §3 (non-saturating): G maximises log D(G(z)).
        loss_g = g_loss_nonsaturating(self.D(fake))
        self.descend("G", loss_g)
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @torch.no_grad()
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self.G(self.generator_input(n, scale, component))
