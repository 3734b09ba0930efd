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
from methods.stacked import StackedMLP, StackedStep, per_seed_loss, stackable_mlp


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

    @classmethod
    def stack(cls, methods, streams):
        """Exact `gan` on points only: a subclass overrides a hook of this step (G's input, D, the losses, the
        fakes per step), which the stacked step below would ignore, so subclasses report no support."""
        if cls is not GAN or any(type(m) is not GAN or m.spec.kind != "points" for m in methods):
            return None
        if not all(stackable_mlp(m.G) and stackable_mlp(m.D) for m in methods):
            return None
        return StackedGAN(methods, streams, StackedMLP([m.G for m in methods]), StackedMLP([m.D for m in methods]))



class StackedGAN(StackedStep):
    """`GAN.train_step` for S seeds at once (methods/stacked.py): the same draws, losses and updates, in the same
    order, each seed's on its own slice."""

    def __init__(self, methods, streams, G: StackedMLP, D: StackedMLP):
        super().__init__(methods, streams)
        self.G, self.D = G, D
        self.set_players(G=[G.params], D=[D.params])

    def step(self, x, y=None):
        # Each seed's z from its own stream, by its own method: (S, n_fakes, z_dim).
        z = self.per_seed(lambda m: m.generator_input(m.n_fakes))
        fake = self.G(z)
        # Goodfellow 2014 Eq. 1, D side (methods.losses.d_loss), per seed; Σ_s so each seed's gradient is its own.
        loss_d = per_seed_loss(d_loss, self.D(x), self.D(fake.detach()))
        self.descend("D", loss_d.sum())
        # Goodfellow 2014 §3, the non-saturating G loss, on the same fakes as D's step (as GAN.train_step).
        loss_g = per_seed_loss(g_loss_nonsaturating, self.D(fake))
        self.descend("G", loss_g.sum())
        self.step_schedulers()
        return {"loss_d": loss_d.tolist(), "loss_g": loss_g.tolist()}
