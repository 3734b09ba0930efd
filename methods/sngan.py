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

Images: every Conv2d of the DCGAN body is normalised too (its kernel as an (out, in·k·k) matrix), and D has no
batch norm (`d_norm` "none"): SN-GAN's CNN discriminators have none.

Everything else is `gan` (a subclass, sharing its training step): the same networks, latent, batch sizes,
optimiser (MGAN Table 3's Adam(2e-4, 0.5, 0.999) with one D step per G step; SN is meant to work across
optimiser settings, and these equal the paper's Table 1 setting C as we recall it — α 2e-4, β1 0.5,
β2 0.999, n_dis 1 — unverified here) and, by default, the same non-saturating loss, so on 2-D data SN-GAN
differs from `gan` only by the normalisation.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from bench.data.base import DataSpec
from bench.registry import register_method
from methods.gan import GAN
from methods.nets import NetParams, discriminator


class SNGANParams(NetParams):
    # Networks, latent, init, batch sizes and optimiser: the shared NetParams (MGAN App. C.1 Table 3).
    # Open choice: SN-GAN reports both the standard GAN loss (its main CIFAR-10/STL-10 comparisons, with the
    # non-saturating G of Goodfellow §3) and the hinge loss (§4). MD-GAN's re-run does not say which (its
    # appendix is lost). Default "nonsaturating": the `gan` loss, so SN-GAN differs from gan only by SN.
    loss: Literal["nonsaturating", "hinge"] = "nonsaturating"
    # Images: no batch norm in D (SN-GAN's spectrally normalised discriminators use none; SN replaces it).
    d_norm: Literal["none"] = "none"
    n_power_iterations: int = Field(1, ge=1)  # §2.1 / Alg. 1: one power iteration per update ("sufficient")


# SN-GAN §4 hinge loss (the authors' updater.py loss_hinge_dis), D side: E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))].
def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


# SN-GAN §4 hinge loss, G side (the authors' loss_hinge_gen): G minimises −E[D(G(z))].
def g_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def spectrally_normalised(net: nn.Module, n_power_iterations: int) -> nn.Module:
    """Wrap every nn.Linear and nn.Conv2d of `net` with torch's spectral_norm parametrization (in place; after
    init, since a parametrized layer's `weight` is computed, not a parameter an initialiser could fill). A conv's
    kernel (out, in, k, k) is normalised as the (out, in·k·k) matrix, as SN-GAN §2.1 / the authors' SNConvolution2D."""
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            spectral_norm(m, n_power_iterations=n_power_iterations)
    return net


@register_method("sngan")
class SNGAN(GAN):
    """`gan` with a spectrally normalised D and, optionally, the hinge loss: the same training step (one D step,
    then one G step on the same fakes). D is called three times per step (reals, fakes, fakes for G), so its
    power iteration advances three times."""

    Params = SNGANParams

    def build_discriminator(self, p: SNGANParams, spec: DataSpec) -> nn.Module:
        return spectrally_normalised(discriminator(p, spec), p.n_power_iterations)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        if self.params.loss == "hinge":
            return d_loss_hinge(real_logits, fake_logits)
        return super().discriminator_loss(real_logits, fake_logits)  # SN-GAN's "standard" loss: Goodfellow Eq. 1

    def generator_loss(self, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        if self.params.loss == "hinge":
            return g_loss_hinge(self.discriminate(fake))
        return super().generator_loss(x, fake)  # non-saturating G, as SN-GAN's experiments (loss_dcgan_gen)
