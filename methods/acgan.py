"""`acgan`: Auxiliary Classifier GAN (Odena, Olah & Shlens, ICML 2017, §3) on the shared 2-D networks.

G takes (z, c) with a class label c and makes X_fake = G(c, z). D has one body and two heads: P(S|X), real vs
fake (1 logit, sigmoid), and P(C|X), the class posterior (N logits, softmax). With
    L_S = E[log P(S=real | X_real)] + E[log P(S=fake | X_fake)]
    L_C = E[log P(C=c | X_real)]    + E[log P(C=c | X_fake)]
D maximises L_S + L_C and G maximises L_C − L_S (§3). G's −L_S is trained in the non-saturating form, as is
standard (Goodfellow 2014 §3; `gan` does the same): G maximises E log P(S=real | X_fake) + E log P(C=c | X_fake).

The supervised GM-GAN's baseline (gm-gan §4: "AC-GAN with z ~ N(0, I)"): the classes are the dataset's labels
(for the 2-D mixtures, the component index), `needs_labels = True`. `n_components` = number of classes and
`sample(component=c)` makes class c; `sample(n)` draws c uniformly.

How c enters G (a choice; the paper's image models embed the class): the one-hot c is concatenated to z, so
G's first layer is W_z z + W_c c + b: W_c's column c is a learned class embedding added to the first
pre-activation, the same thing as an embedding lookup on these MLPs. On images the same: G's input layer is the
DCGAN G's FC (z, c) → first feature map, so c enters as a learned per-class map added before the first BN. Everything else is `gan`'s: the shared
networks and optimiser (`methods.nets.NetParams`, MGAN App. C.1 Table 3), D's body is exactly `gan`'s D body.
"""
from __future__ import annotations

import itertools
from typing import Literal

import torch
import torch.nn.functional as F

from bench.registry import register_method
from methods.base import Method, inference
from methods.losses import g_loss_nonsaturating
from methods.nets import NetParams, adam, discriminator_body, generator, head, latent


class ACGANParams(NetParams):
    # Networks, optimiser, batches: NetParams (MGAN App. C.1 Table 3). z ~ N(0, I) is gm-gan §4's AC-GAN baseline.
    # p_c of the fake labels (§3 "c ~ p_c"; the paper does not fix p_c): "uniform" over the N classes (the 2-D
    # mixtures are equal-weight, and `sample(n)` draws c uniformly too), or "batch": resampled with replacement
    # from the real batch's labels (the empirical label distribution).
    fake_labels: Literal["uniform", "batch"] = "uniform"
    # Whether G's step draws fresh (z, c) or reuses the D step's (the paper gives no algorithm). False: reuse,
    # as `gan` does, so acgan differs from `gan` only by its class conditioning and head.
    fresh_fakes_for_g: bool = False


# AC-GAN §3: L_S = E[log P(S=real | X_real)] + E[log P(S=fake | X_fake)]  (P(S=real|X) = σ(logit)).
def source_loglik(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean()  # log(1 − σ(a)) = log σ(−a)


# AC-GAN §3: L_C = E[log P(C=c | X_real)] + E[log P(C=c | X_fake)]  (P(C|X) = softmax(logits)).
def class_loglik(real_logits: torch.Tensor, y: torch.Tensor, fake_logits: torch.Tensor,
                 c: torch.Tensor) -> torch.Tensor:
    return -(F.cross_entropy(real_logits, y) + F.cross_entropy(fake_logits, c))


# AC-GAN §3, G maximises L_C − L_S; non-saturating −L_S (Goodfellow §3): minimise
# −E log P(S=real | X_fake) − E log P(C=c | X_fake)  (L_C's real term does not depend on G).
def generator_loss(fake_s_logits: torch.Tensor, fake_c_logits: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    return g_loss_nonsaturating(fake_s_logits) + F.cross_entropy(fake_c_logits, c)


@register_method("acgan")
class ACGAN(Method):
    Params = ACGANParams
    needs_labels = True

    def __init__(self, spec, params: ACGANParams, device="cpu"):
        super().__init__(spec, params, device)
        n = spec.n_classes
        # G's input: z (z_dim) then one-hot c (N): width z_dim + N (G's input layer is FC on points and images).
        self.G = generator(params, spec, in_dim=params.z_dim + n).to(self.device)
        # One body (gan's D body builder), two heads on its features. D's size counts both heads (1 + N outputs), so
        # below B the body is narrower than gan's: on Stacked MNIST at S1/4 base width 16 against gan's 31.
        self.body, width = discriminator_body(params, spec, head_outputs=1 + n)
        self.body = self.body.to(self.device)
        self.s_head = head(params, width, 1).to(self.device)  # P(S|X): 1 logit
        self.c_head = head(params, width, n).to(self.device)  # P(C|X): N logits
        d_params = itertools.chain(self.body.parameters(), self.s_head.parameters(), self.c_head.parameters())
        self.set_optimizers(G=adam(self.G.parameters(), params), D=adam(d_params, params, params.d_lr))

    @property
    def n_components(self) -> int:
        return self.spec.n_classes

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(source logits (N, 1), class logits (N, n_classes)) from one pass through the shared body."""
        f = self.body(x)
        return self.s_head(f), self.c_head(f)

    def generate(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """G(z, c): z (n, z_dim), c (n,) class indices -> (n, *spec.shape)."""
        return self.G(torch.cat([z, F.one_hot(c, self.n_components).to(z.dtype)], dim=1))

    def fake_labels(self, n: int, y: torch.Tensor) -> torch.Tensor:
        """(n,) labels of the fakes: uniform over the classes, or resampled from the real batch's labels y."""
        if self.params.fake_labels == "batch":
            return y[torch.randint(0, y.shape[0], (n,), device=y.device)]
        return torch.randint(0, self.n_components, (n,), device=self.device)

    def fakes(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.params
        c = self.fake_labels(p.fake_batch_size, y)
        return self.generate(latent(p.fake_batch_size, p, 1.0, self.device), c), c

    def train_step(self, x, y=None):
        if y is None:
            raise ValueError("acgan needs the class label y of every real sample in train_step(x, y) "
                             "(needs_labels = True): use a labelled dataset")
        p = self.params
        y = y.to(self.device).long()
        with torch.set_grad_enabled(not p.fresh_fakes_for_g):  # G's graph is kept only if G reuses these
            fake, c = self.fakes(y)
        s_all, c_all = self.heads(torch.cat([x, fake.detach()]))  # one pass through the body for both
        m = x.shape[0]
        s_real, c_real, s_fake, c_fake = s_all[:m], c_all[:m], s_all[m:], c_all[m:]
        l_s = source_loglik(s_real, s_fake)
        l_c = class_loglik(c_real, y, c_fake, c)
        # AC-GAN §3: D maximises L_S + L_C (body and both heads, one optimiser).
        loss_d = -(l_s + l_c)
        self.descend("D", loss_d)
        if p.fresh_fakes_for_g:
            fake, c = self.fakes(y)
        s_fake, c_fake = self.heads(fake)
        loss_g = generator_loss(s_fake, c_fake, c)  # §3 G: maximise L_C − L_S (non-saturating L_S)
        self.descend("G", loss_g)
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "l_s": l_s.item(), "l_c": l_c.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        """c uniform over the classes (or all `component`), then z ~ the prior with covariance ×scale."""
        self.check_component(component)
        if component is None:
            c = torch.randint(0, self.n_components, (n,), device=self.device)
        else:
            c = torch.full((n,), int(component), dtype=torch.long, device=self.device)
        return self.generate(latent(n, self.params, scale, self.device), c)

    @inference
    def responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        """(N, n_classes): P(C|X), D's class posterior."""
        return torch.softmax(self.heads(x)[1], dim=1)

