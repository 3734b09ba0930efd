"""`d2gan`: Dual Discriminator GAN (Nguyen, Le, Vu, Phung, NIPS 2017, Eq. 2, §3) on the shared 2-D networks.

Two discriminators with positive (softplus) outputs: D1 rewards real data, D2 rewards generated data. The game
(Eq. 2) is min_G max_{D1,D2} J = α E_x[log D1(x)] + E_z[−D1(G(z))] + E_x[−D2(x)] + β E_z[log D2(G(z))].
For fixed G the optimal discriminators are D1* = α p_data/p_G and D2* = β p_G/p_data (Prop. 1), and at them
J = α(log α − 1) + β(log β − 1) + α KL(P_data‖P_G) + β KL(P_G‖P_data) (Thm. 2): G minimises a weighted sum of
the KL and the reverse KL.

Both discriminators are the shared discriminator (its logit a) followed by softplus, D = log(1 + e^a) > 0, as
the authors' 2-D code (tund/D2GAN models.py) puts softplus on D's output. D1 and D2 share no parameters and
take one joint step on the summed loss (the code's d_loss = d1_loss + d2_loss, one Adam); then G takes one step
on fresh noise (the code draws new z for the G update) on its part of J, as printed (no non-saturating swap:
−D1 is linear, so it does not saturate). log D is computed from the logit, stably where softplus underflows.
"""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from pydantic import Field

from bench.registry import register_method
from methods.base import Method, inference
from methods.nets import NetParams, adam, discriminator, generator, latent

# Below this logit softplus(a) = e^a (1 − e^a/2 + …), so log softplus(a) = a − e^a/2 + … = a to within
# e^-20/2 ≈ 1e-9; there float32 softplus would soon underflow to 0 (log → −inf).
_LOG_SOFTPLUS_CUT = -20.0


class D2GANParams(NetParams):
    # Networks, latent, init, batch sizes and optimiser: the shared NetParams (MGAN App. C.1 Table 3). The
    # authors' 2-D code uses the same z (256, N(0, I)), G (128-128 ReLU, linear out), D width (one hidden 128)
    # and Adam(2e-4, β1 0.5); it differs in D's hidden ReLU, init N(0, 0.01) and 512 fakes (see the protocol).
    # α, β: the authors' 2-D ring experiment code (tund/D2GAN main.py defaults: --alpha 1.0 --beta 1.0), the
    # only 2-D values we could read; the paper's §5.1 text was not available to us (see the report).
    alpha: float = Field(1.0, gt=0.0)  # α, weight of E log D1(x) (Eq. 2): the KL(P_data‖P_G) term
    beta: float = Field(1.0, gt=0.0)  # β, weight of E log D2(G(z)) (Eq. 2): the reverse-KL term


def log_softplus(a: torch.Tensor) -> torch.Tensor:
    """log D for D = softplus(a), finite for every finite a (equal to log(softplus(a)) where that is finite in
    float32 above the cut; a itself below it, within 1e-9). Both branches have finite gradients."""
    return torch.where(a > _LOG_SOFTPLUS_CUT, torch.log(F.softplus(a.clamp(min=_LOG_SOFTPLUS_CUT))), a)


# D2GAN Eq. 2, D side (D1, D2 maximise J): minimise −α E_x log D1(x) + E_z D1(G(z)) + E_x D2(x) − β E_z log D2(G(z)).
def discriminator_loss(a1_real: torch.Tensor, a1_fake: torch.Tensor, a2_real: torch.Tensor, a2_fake: torch.Tensor,
                       alpha: float, beta: float) -> torch.Tensor:
    """Logits a (D = softplus(a)) of D1 and D2 on reals (M, 1) and fakes (N, 1)."""
    return (-alpha * log_softplus(a1_real).mean() + F.softplus(a1_fake).mean()
            + F.softplus(a2_real).mean() - beta * log_softplus(a2_fake).mean())


# D2GAN Eq. 2, G side (G minimises J's G-dependent terms): E_z[−D1(G(z))] + β E_z[log D2(G(z))].
def generator_loss(a1_fake: torch.Tensor, a2_fake: torch.Tensor, beta: float) -> torch.Tensor:
    return -F.softplus(a1_fake).mean() + beta * log_softplus(a2_fake).mean()


@register_method("d2gan")
class D2GAN(Method):
    Params = D2GANParams

    def __init__(self, spec, params: D2GANParams, device="cpu"):
        super().__init__(spec, params, device)
        self.G = generator(params, spec).to(self.device)
        self.D1 = discriminator(params, spec).to(self.device)  # logit a1; D1 = softplus(a1)
        self.D2 = discriminator(params, spec).to(self.device)  # logit a2; D2 = softplus(a2)
        # The authors' code: one Adam over both discriminators' parameters on d1_loss + d2_loss.
        self.set_optimizers(G=adam(self.G.parameters(), params),
                            D=adam(itertools.chain(self.D1.parameters(), self.D2.parameters()), params, params.d_lr))

    def discriminators(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(D1(x), D2(x)), each (N, 1) and positive (softplus outputs)."""
        return F.softplus(self.D1(x)), F.softplus(self.D2(x))

    def train_step(self, x, y=None):
        p = self.params
        with torch.no_grad():
            fake = self.G(latent(p.fake_batch_size, p, 1.0, self.device))
        loss_d = discriminator_loss(self.D1(x), self.D1(fake), self.D2(x), self.D2(fake), p.alpha, p.beta)
        self.descend("D", loss_d)
        fake = self.G(latent(p.fake_batch_size, p, 1.0, self.device))  # fresh z for G, as the authors' code
        loss_g = generator_loss(self.D1(fake), self.D2(fake), p.beta)
        self.descend("G", loss_g)
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self.G(latent(n, self.params, scale, self.device))
