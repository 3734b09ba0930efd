"""`infogan`: InfoGAN (Chen et al., NIPS 2016, Eq. 5–6, §5–6) with one categorical code, on the shared 2-D networks.

G's latent is (z, c): z incompressible noise from the shared prior and c a categorical code with K equally
likely categories. Q(c|x) is a K-logit softmax head on D's body (§6: Q "shares all convolutional layers with D
and there is one final fully connected layer to output parameters for the conditional distribution Q(c|x)").
The variational lower bound of the mutual information (Eq. 5)
    L_I(G, Q) = E_{c~P(c), x~G(z,c)}[log Q(c|x)] + H(c),   H(c) = log K for the uniform code,
is maximised by G and Q with weight λ (Eq. 6: min_{G,Q} max_D V_InfoGAN = V(D, G) − λ L_I(G, Q)); §6: λ = 1
for discrete codes. Updates, as the authors' code (openai/InfoGAN `infogan_trainer.py`) does them:
- D-side step (one optimiser over body, D head and Q head): minimise L_D − λ L_I. The D head gets only the GAN
  loss, the Q head only L_I, the shared body both. The fakes are detached: G does not move here.
- G step: minimise the non-saturating −E log D(G(z, c)) − λ L_I (the GAN part is `gan`'s).

How c enters G: the one-hot code is concatenated to z (as the authors' code feeds the latent vector), so G's
input width is z_dim + K (on images, the DCGAN G's input FC; Q is a head on the conv body's flat features,
as InfoGAN §6 describes). K (a choice on 2-D data): the dataset's number of classes. MD-GAN re-implemented
InfoGAN on the grid and ring (md-gan Tables 1–2) but §6 does not say how its code was configured.
"""
from __future__ import annotations

import itertools
import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field

from bench.registry import register_method
from methods.base import Method, inference
from methods.losses import d_loss, g_loss_nonsaturating
from methods.nets import NetParams, adam, discriminator_body, generator, head, latent


class InfoGANParams(NetParams):
    # Networks, optimiser, batches and the noise prior z: NetParams (MGAN App. C.1 Table 3); the code is
    # categorical whatever z_dist says.
    # K, the number of code categories. None: the dataset's number of classes (md-gan §6 does not say how its
    # re-run InfoGAN was set on the grid/ring; K = number of modes is how InfoGAN's MNIST run used a 10-way code).
    n_codes: int | None = Field(None, ge=1)
    k_field: ClassVar[str] = "n_codes"  # the plan's K rule resolves None to the classes and records it (bench.suites)
    lam: float = Field(1.0, ge=0.0)  # λ of Eq. 6; InfoGAN §6: "λ = 1" for discrete latent codes
    # Whether G's step draws fresh (z, c) or reuses the D step's. The authors' code draws fresh ones (each
    # sess.run samples the prior again); False reuses them, as `gan` does, so infogan differs from `gan` only by
    # its code and Q (like for like).
    fresh_fakes_for_g: bool = False


# InfoGAN Eq. 5 (§5): L_I(G, Q) = E_{c~P(c), x~G(z,c)}[log Q(c|x)] + H(c), with H(c) = log K (uniform code).
def info_lower_bound(q_logits: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    return -F.cross_entropy(q_logits, c) + math.log(q_logits.shape[1])


@register_method("infogan")
class InfoGAN(Method):
    Params = InfoGANParams

    def __init__(self, spec, params: InfoGANParams, device="cpu"):
        super().__init__(spec, params, device)
        k = params.n_codes or spec.n_classes
        self.K = k
        # G's input: z (z_dim) then one-hot c (K): width z_dim + K (G's input layer is FC on points and images).
        self.G = generator(params, spec, in_dim=params.z_dim + k).to(self.device)
        # D and Q share the body (gan's D body builder; the same body at B); D: 1 logit, Q: K logits. D's size
        # counts both heads, so below B the body is a little narrower than gan's.
        self.body, width = discriminator_body(params, spec, head_outputs=1 + k)
        self.body = self.body.to(self.device)
        self.d_head = head(params, width, 1).to(self.device)
        self.q_head = head(params, width, k).to(self.device)
        dq_params = itertools.chain(self.body.parameters(), self.d_head.parameters(), self.q_head.parameters())
        self.set_optimizers(G=adam(self.G.parameters(), params), D=adam(dq_params, params, params.d_lr))

    @property
    def n_components(self) -> int:
        return self.K

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(D logits (N, 1), Q logits (N, K)) from one pass through the shared body."""
        f = self.body(x)
        return self.d_head(f), self.q_head(f)

    def codes(self, n: int, component: int | None = None) -> torch.Tensor:
        """(n,) codes c ~ Cat(1/K) (§5: uniform categorical), or all `component`."""
        if component is not None:
            return torch.full((n,), int(component), dtype=torch.long, device=self.device)
        return torch.randint(0, self.K, (n,), device=self.device)

    def generate(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """G(z, c): z (n, z_dim), c (n,) code indices -> (n, *spec.shape)."""
        return self.G(torch.cat([z, F.one_hot(c, self.K).to(z.dtype)], dim=1))

    def fakes(self, n: int, scale: float = 1.0, component: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(G(z, c) (n, d), c (n,)): c drawn first, then z ~ the prior with covariance ×scale."""
        c = self.codes(n, component)
        return self.generate(latent(n, self.params, scale, self.device), c), c

    def d_step(self, x: torch.Tensor, fake: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of body + D head + Q head on L_D − λ L_I; fakes detached, so G does not move."""
        d_all, q_all = self.heads(torch.cat([x, fake.detach()]))  # one pass through the body for both
        m = x.shape[0]
        d_real, d_fake, q_fake = d_all[:m], d_all[m:], q_all[m:]  # Q sees only the fakes (their c is known)
        l_i = info_lower_bound(q_fake, c)
        # Eq. 6, D and Q side: D maximises V(D, G) (Goodfellow Eq. 1), Q maximises λ L_I: minimise L_D − λ L_I.
        loss = d_loss(d_real, d_fake) - self.params.lam * l_i
        self.descend("D", loss)
        return loss, l_i

    def train_step(self, x, y=None):
        p = self.params
        with torch.set_grad_enabled(not p.fresh_fakes_for_g):  # G's graph is kept only if G reuses these
            fake, c = self.fakes(p.fake_batch_size)
        loss_d, l_i_d = self.d_step(x, fake, c)
        if p.fresh_fakes_for_g:
            fake, c = self.fakes(p.fake_batch_size)
        d_fake, q_fake = self.heads(fake)
        l_i = info_lower_bound(q_fake, c)
        # Eq. 6, G side: minimise V − λ L_I, V's G term non-saturating (−E log D(G(z, c)), Goodfellow §3).
        loss_g = g_loss_nonsaturating(d_fake) - p.lam * l_i
        self.descend("G", loss_g)
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "l_i": l_i_d.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        """c uniform over K (or fixed to `component`); `scale` multiplies the noise z's covariance only."""
        self.check_component(component)
        return self.fakes(n, scale, component)[0]

    @inference
    def responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        """(N, K): Q(c|x)."""
        return torch.softmax(self.heads(x)[1], dim=1)
