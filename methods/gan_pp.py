"""`gan_pp`: GAN++, DeLiGAN's extra-layer baseline (Gurumurthy et al. 2017, §5.2). Appears in the toy experiment
(Fig. 3, qualitative) and in CIFAR-10 Table 1 (m-IS); not in the MNIST or sketch experiments (seed-review B2).

"Instead of mixture of Gaussian layer, we add a fully connected layer containing N neurons between the input
(z) and the generator": G(z) = gan's G applied to h = act(W z + b), W ∈ R^{N×z_dim}. gan's G then reads an
N-wide input, so its first layer changes from z_dim×h₁ to N×h₁; nothing else differs from `gan` (shared 2-D
networks, optimiser, non-saturating loss, z ~ the shared prior).

The layer's activation is not in the paper. The authors' toy code (val-iisc/deligan dg_toy.py, the GAN++ line)
puts tanh on it, the toy G's own hidden activation; with it GAN++ is "more parameters" in the paper's sense
(§5: "baseline models containing an increased number of learnable parameters"), whereas a linear layer would
only re-parameterise G's first layer (W₁·W, of rank ≤ N). Default "hidden": G's hidden activation (ReLU on the
shared networks, tanh under the DeLiGAN toy profile = the code's layer exactly); "linear" is the other reading.

Images: the extra layer sits before the DCGAN G's input FC (z → FC N → act → FC → first feature map → …).

N vs z_dim: on the shared networks (z_dim 256 > N 50) the new layer is a bottleneck and GAN++ has FEWER
parameters than `gan` (36,661 vs 50,179); on the DeLiGAN toy (z_dim 2) it has more (as in the paper).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Literal

from pydantic import Field
from torch import nn

from bench.data.base import DataSpec
from bench.registry import register_method
from methods.gan import GAN
from methods.nets import NetParams, g_activation, generator, init_normal


class GANPPParams(NetParams):
    # Everything else: NetParams (MGAN App. C.1 Table 3 networks and optimiser, as `gan`).
    # N: deligan §5.2 "a fully connected layer containing N neurons"; N = 50, DeLiGAN's N here
    # (methods/deligan.py n_components; §5 "we use a N between 50 and 100"; the toy code's layer has 50).
    n_units: int = Field(50, ge=1)
    # The extra layer's activation (not in the paper): "hidden" = G's hidden activation (the toy code's tanh
    # on the toy networks), "linear" = none.
    fc_act: Literal["hidden", "linear"] = "hidden"


@register_method("gan_pp")
class GANPP(GAN):
    Params = GANPPParams

    def build_generator(self, p: GANPPParams, spec: DataSpec) -> nn.Module:
        fc = init_normal(nn.Linear(p.z_dim, p.n_units), p.init_std)  # N(0, init_std), bias 0, as every layer
        act = g_activation(p) if p.fc_act == "hidden" else nn.Identity()
        # deligan §5.2: z -> FC N (-> act) -> gan's G with an N-wide input; training is gan's step. On images the
        # same: the extra FC layer sits before the DCGAN G's input FC.
        return nn.Sequential(OrderedDict(fc=fc, act=act, g=generator(p, spec, in_dim=p.n_units)))
