"""`nx_gan`: Nx-GAN, DeLiGAN's wide-generator baseline (Gurumurthy et al. 2017, §5.2). Appears in the toy
experiment only (Fig. 3, qualitative); §5.4 calls it "prohibitively expensive" for CIFAR (seed-review B2).

"We increase number of parameters in the generator network N times by having N times more neurons in the
hidden layer": every hidden layer of G is `width_mult` = N times as wide as the shared G's (`g_hidden`);
D is `gan`'s. G only, by the text ("in the generator network") and the authors' toy code (val-iisc/deligan
dg_toy.py: `gf_dim = 32*50`, D's `df_dim` stays 32). Everything else is `gan`.

The two halves of the sentence agree only for a one-hidden-layer G (the paper's toy, and the DeLiGAN toy
profile here: 2 -> 32·50 -> 2, ≈ N× the parameters). On the shared two-hidden-layer G (MGAN Table 3: 128, 128)
N× the units of each layer gives ≈ N²× the parameters of the middle layer: 6,400 × 6,400 at N = 50, 42.6 M
parameters in G against gan's 49,666 (≈ 858×). We keep the text's mechanism (N× the neurons, every hidden
layer); the "N× the parameters" reading on the shared G is width_mult 11 (2.35 M ≈ 47 × 49,666; 12 gives 56×).
Cost (one core, interleaved with `gan`): width_mult 50 ≈ 340× gan's ms/step on the shared networks, 11 ≈ 16×,
4 ≈ 3.2×, 2 ≈ 1.4×; on the DeLiGAN toy networks 50 ≈ 1.5×. Profiles that run the shared networks set it lower.
"""
from __future__ import annotations

import torch
from pydantic import Field

from bench.registry import register_method
from methods.base import Method
from methods.losses import d_loss, g_loss_nonsaturating
from methods.nets import NetParams, adam, discriminator, generator, latent


class NxGANParams(NetParams):
    # Everything else: NetParams (MGAN App. C.1 Table 3 networks and optimiser, as `gan`); `g_hidden` stays the
    # shared widths and G's are width_mult × g_hidden.
    # N: deligan §5.2 "N times more neurons in the hidden layer"; N = 50, DeLiGAN's N here (methods/deligan.py
    # n_components; §5 "a N between 50 and 100"; the toy code's 32*50).
    width_mult: int = Field(50, ge=1)

    @property
    def g_widths(self) -> tuple[int, ...]:
        """G's hidden widths: N × the shared ones."""
        return tuple(self.width_mult * h for h in self.g_hidden)


@register_method("nx_gan")
class NxGAN(Method):
    Params = NxGANParams

    def __init__(self, spec, params: NxGANParams, device="cpu"):
        super().__init__(spec, params, device)
        dim = spec.shape[0]
        # deligan §5.2: G with N× the hidden units; D unchanged.
        self.G = generator(params.model_copy(update={"g_hidden": params.g_widths}), dim).to(self.device)
        self.D = discriminator(params, dim).to(self.device)
        self.set_optimizers(G=adam(self.G.parameters(), params),
                            D=adam(self.D.parameters(), params, params.d_lr))

    def train_step(self, x, y=None):
        p = self.params
        fake = self.G(latent(p.fake_batch_size, p, 1.0, self.device))
        # Goodfellow 2014 Eq. 1, D side: maximise log D(x) + log(1 − D(G(z))).
        loss_d = d_loss(self.D(x), self.D(fake.detach()))
        self.optimizers["D"].zero_grad(set_to_none=True)
        loss_d.backward()
        self.optimizers["D"].step()
        # Goodfellow 2014 §3 (non-saturating, as `gan`): G maximises log D(G(z)).
        loss_g = g_loss_nonsaturating(self.D(fake))
        self.optimizers["G"].zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizers["G"].step()
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @torch.no_grad()
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self.G(latent(n, self.params, scale, self.device))
