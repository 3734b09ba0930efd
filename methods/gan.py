"""`gan`: the non-saturating GAN (Goodfellow et al. 2014, §3) on MGAN's 2-D networks (App. C.1 Table 3).

Every 2-D method in the suite uses these networks and this optimiser, so differences are the method's.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.registry import register_method
from methods.base import Method, Params, latent_normal
from methods.nets import discriminator_2d, generator_2d, init_normal


class GANParams(Params):
    z_dim: int = 256  # MGAN App. C.1 Table 3: 256 noise units, N(0, I)
    g_hidden: tuple[int, ...] = (128, 128)  # Table 3: FC 128 ReLU, FC 128 ReLU
    d_hidden: int = 128  # Table 3: FC 128 Leaky ReLU
    leaky_slope: float = 0.2  # Table 3
    lr: float = 2e-4  # Table 3: Adam(2e-4, β1 0.5, β2 0.999)
    betas: tuple[float, float] = (0.5, 0.999)
    init_std: float = 0.02  # Table 3: weights N(0, 0.02), biases 0
    batch_size: int = 512  # Table 3: real batch 512
    fake_batch_size: int = 128  # Table 3: 128 per generator; a GAN is MGAN's K = 1 case (App. C.1 Fig. 6a)


@register_method("gan")
class GAN(Method):
    Params = GANParams

    def __init__(self, spec, params: GANParams, device="cpu"):
        super().__init__(spec, params, device)
        p = params
        self.G = init_normal(generator_2d(p.z_dim, p.g_hidden, spec.shape[0]), p.init_std).to(self.device)
        self.D = init_normal(discriminator_2d(spec.shape[0], p.d_hidden, 1, p.leaky_slope), p.init_std).to(self.device)
        self.optimizers = {
            "G": torch.optim.Adam(self.G.parameters(), lr=p.lr, betas=p.betas),
            "D": torch.optim.Adam(self.D.parameters(), lr=p.lr, betas=p.betas),
        }

    def train_step(self, x, y=None):
        p = self.params
        z = latent_normal(p.fake_batch_size, p.z_dim, 1.0, self.device)
        fake = self.G(z)
        # Goodfellow 2014 Eq. 1, D side: maximise log D(x) + log(1 − D(G(z))).
        d_real, d_fake = self.D(x), self.D(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        self.optimizers["D"].zero_grad(set_to_none=True)
        loss_d.backward()
        self.optimizers["D"].step()
        # Goodfellow 2014 §3 (non-saturating): G maximises log D(G(z)).
        d_gen = self.D(fake)
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
        self.optimizers["G"].zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizers["G"].step()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @torch.no_grad()
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self.G(latent_normal(n, self.params.z_dim, scale, self.device))
