"""`sngan`: the GAN with a spectrally normalised discriminator (Miyato et al. 2018, "Spectral Normalization for
Generative Adversarial Networks", §2, Alg. 1) on the shared 2-D networks.

Spectral normalisation changes the network itself: every linear layer of D (hidden and output) computes with
W_SN = W / σ(W), σ(W) the largest singular value estimated by power iteration (§2.1, Alg. 1). We use torch's
own `torch.nn.utils.parametrizations.spectral_norm`, registered after the shared N(0, 0.02) initialisation:
in train mode every forward through a layer runs `n_power_iterations` power iterations on its persistent u/v
buffers (checkpointed in the state dict) and the gradient flows through σ(W) as in the paper (§2.2). train_step
calls D three times (reals, fakes, then fakes for G), so u advances three times per step, as in the authors'
Chainer updater (pfnet-research/sngan_projection updater.py: dis(x_real), dis(x_fake), and dis(x_fake) in G's
update, each of which runs SNLinear.W_bar's power iteration).

Everything else is `gan`: the same networks, latent, batch sizes, optimiser (MGAN Table 3's Adam(2e-4, 0.5,
0.999) with one D step per G step; SN is meant to work across optimiser settings, and these equal the
paper's Table 1 setting C as we recall it — α 2e-4, β1 0.5, β2 0.999, n_dis 1 — unverified here) and,
by default, the same non-saturating loss, so on 2-D data SN-GAN differs from `gan` only by the normalisation.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from bench.registry import register_method
from methods.base import Method
from methods.losses import d_loss, g_loss_nonsaturating
from methods.nets import NetParams, adam, discriminator, generator, latent


class SNGANParams(NetParams):
    # Networks, latent, init, batch sizes and optimiser: the shared NetParams (MGAN App. C.1 Table 3).
    # Open choice: SN-GAN reports both the standard GAN loss (its main CIFAR-10/STL-10 comparisons, with the
    # non-saturating G of Goodfellow §3) and the hinge loss (§4). MD-GAN's re-run does not say which (its
    # appendix is lost). Default "nonsaturating": the `gan` loss, so SN-GAN differs from gan only by SN.
    loss: Literal["nonsaturating", "hinge"] = "nonsaturating"
    n_power_iterations: int = Field(1, ge=1)  # §2.1 / Alg. 1: one power iteration per update ("sufficient")


# SN-GAN §4 hinge loss (the authors' updater.py loss_hinge_dis), D side: E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))].
def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


# SN-GAN §4 hinge loss, G side (the authors' loss_hinge_gen): G minimises −E[D(G(z))].
def g_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def spectrally_normalised(net: nn.Module, n_power_iterations: int) -> nn.Module:
    """Wrap every nn.Linear of `net` with torch's spectral_norm parametrization (in place; after init, since a
    parametrized layer's `weight` is computed, not a parameter an initialiser could fill)."""
    for m in net.modules():
        if isinstance(m, nn.Linear):
            spectral_norm(m, n_power_iterations=n_power_iterations)
    return net


@register_method("sngan")
class SNGAN(Method):
    Params = SNGANParams

    def __init__(self, spec, params: SNGANParams, device="cpu"):
        super().__init__(spec, params, device)
        dim = spec.shape[0]
        self.G = generator(params, dim).to(self.device)
        self.D = spectrally_normalised(discriminator(params, dim), params.n_power_iterations).to(self.device)
        self.set_optimizers(G=adam(self.G.parameters(), params),
                            D=adam(self.D.parameters(), params, params.d_lr))

    def losses(self, real_logits: torch.Tensor | None, fake_logits: torch.Tensor) -> torch.Tensor:
        """D's loss (real_logits given) or G's loss (real_logits None) under the chosen objective."""
        if self.params.loss == "hinge":
            return d_loss_hinge(real_logits, fake_logits) if real_logits is not None else g_loss_hinge(fake_logits)
        if real_logits is not None:
            # Goodfellow 2014 Eq. 1, D side (SN-GAN's "standard" loss): maximise E log D(x) + E log(1 − D(G(z))).
            return d_loss(real_logits, fake_logits)
        # Goodfellow §3 (non-saturating G, as SN-GAN's experiments and the authors' loss_dcgan_gen).
        return g_loss_nonsaturating(fake_logits)

    def train_step(self, x, y=None):
        p = self.params
        fake = self.G(latent(p.fake_batch_size, p, 1.0, self.device))
        loss_d = self.losses(self.D(x), self.D(fake.detach()))  # two forwards: two power iterations
        self.descend("D", loss_d)
        loss_g = self.losses(None, self.D(fake))  # same noise as the D step, as `gan`
        self.descend("G", loss_g)
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @torch.no_grad()
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self.G(latent(n, self.params, scale, self.device))
