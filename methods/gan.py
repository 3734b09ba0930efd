"""`gan`: the non-saturating GAN (Goodfellow et al. 2014, §3) on MGAN's 2-D networks (App. C.1 Table 3).

Every 2-D method in the suite uses these networks and this optimiser (`methods.nets.NetParams`), so
differences are the method's.
"""
from __future__ import annotations

import torch
from torch import nn

from bench.data.base import DataSpec
from bench.registry import register_method
from methods.base import Method, inference
from methods.losses import d_loss, g_loss_nonsaturating
from methods.nets import NetParams, adam, discriminator, generator, latent


class GANParams(NetParams):
    pass  # MGAN App. C.1 Table 3 (see NetParams); 128 fakes: a GAN is MGAN's K = 1 case (App. C.1 Fig. 6a)


@register_method("gan")
class GAN(Method):
    """The plain GAN, and the training step of the baselines that change one piece of it. Each overrides a hook
    and shares this exact step: `build_generator` / `generator_input` (GAN++, Nx-GAN, MoE-GAN: G's network or
    its input), `build_discriminator` / `discriminate` / `n_fakes` (PacGAN: D judges packs), `build_discriminator`
    and the two losses (SN-GAN: a spectrally normalised D, hinge loss), `generator_loss` (Unrolled GAN: G's loss
    against the unrolled D)."""

    Params = GANParams

    def __init__(self, spec, params: GANParams, device="cpu"):
        super().__init__(spec, params, device)
        # G, then D: the same seed gives every subclass that keeps both networks gan's initial weights.
        self.G = self.build_generator(params, spec).to(self.device)
        self.D = self.build_discriminator(params, spec).to(self.device)
        self.set_optimizers(G=adam(self.G.parameters(), params),
                            D=adam(self.D.parameters(), params, params.d_lr))

    def build_generator(self, p: GANParams, spec: DataSpec) -> nn.Module:
        return generator(p, spec)

    def build_discriminator(self, p: GANParams, spec: DataSpec) -> nn.Module:
        return discriminator(p, spec)

    def generator_input(self, n: int, scale: float = 1.0, component: int | None = None) -> torch.Tensor:
        """G's input for n samples: z from the prior with covariance ×scale."""
        return latent(n, self.params, scale, self.device)

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits for samples x (N, *spec.shape)."""
        return self.D(x)

    @property
    def n_fakes(self) -> int:
        """Fake points G generates per step."""
        return self.params.fake_batch_size

    # Goodfellow 2014 Eq. 1, D side: maximise log D(x) + log(1 − D(G(z))).
    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return d_loss(real_logits, fake_logits)

    # Goodfellow 2014 §3 (non-saturating): G maximises log D(G(z)).
    def generator_loss(self, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """G's loss for this step's reals x and fakes still attached to G."""
        return g_loss_nonsaturating(self.discriminate(fake))

    def train_step(self, x, y=None):
        fake = self.G(self.generator_input(self.n_fakes))
        loss_d = self.discriminator_loss(self.discriminate(x), self.discriminate(fake.detach()))
        self.descend("D", loss_d)
        loss_g = self.generator_loss(x, fake)  # the same fakes as D's step
        self.descend("G", loss_g, own_only=True)  # into G's parameters only: D's gradients are not G's to compute
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self.G(self.generator_input(n, scale, component))
