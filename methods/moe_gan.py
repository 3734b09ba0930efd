"""`moe_gan`: MoE-GAN, DeLiGAN's mixture-of-experts baseline (Gurumurthy et al. 2017, §5.2). Appears in the toy
experiment (Fig. 3, qualitative) and in CIFAR-10 Table 1 (m-IS); not in MNIST or sketches (seed-review B2).

"We just append a uniform discrete variable via a N-dimensional one-hot encoding to the random input z":
G's input (the input FC on points and images alike) is z' = [z, onehot(i)] with z from the shared prior and i ~ U{0, …, N−1} drawn per sample, so G's
first layer is z_dim + N wide and each code i adds its own bias column to it. Everything else is `gan` (the
shared 2-D networks and optimiser, non-saturating G loss), so on 2-D data MoE-GAN differs from `gan` only by
the code. `n_components` = N; `sample(component=i)` fixes the code to i. The latent `scale` multiplies the
covariance of the Gaussian part z only: the code is a discrete label, not a coordinate to stretch.

The authors' toy code (val-iisc/deligan dg_toy.py) concatenates tf.eye(50) instead: batch slot j always gets
code j, so every code appears exactly once per batch of 50. The paper's "uniform discrete variable" is a draw;
we follow the paper (as DeLiGAN's own latent here draws its component, seed-review D2).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from torch import nn

from bench.data.base import DataSpec
from bench.registry import register_method
from methods.gan import GAN
from methods.nets import NetParams, generator, latent


class MoEGANParams(NetParams):
    # Everything else: NetParams (MGAN App. C.1 Table 3 networks and optimiser, as `gan`).
    # N: deligan §5 "we use a N between 50 and 100"; 50 = DeLiGAN's N here (methods/deligan.py n_components),
    # the same N the paper gives every baseline ("N" in §5.2's definitions is DeLiGAN's number of Gaussians).
    n_components: int = Field(50, ge=1)


@register_method("moe_gan")
class MoEGAN(GAN):
    Params = MoEGANParams

    def build_generator(self, p: MoEGANParams, spec: DataSpec) -> nn.Module:
        # deligan §5.2: the one-hot is appended to z, so G's input layer (FC on points and images) is z_dim + N
        # wide; the rest is gan's G.
        return generator(p, spec, in_dim=p.z_dim + p.n_components)

    @property
    def n_components(self) -> int:
        return self.params.n_components

    def codes(self, n: int, scale: float = 1.0, component: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(z' (n, z_dim + N), i (n,)): z' = [z, onehot(i)], z from the prior with covariance ×scale, i uniform
        over the N codes (deligan §5.2) or all `component`. The one-hot part is never scaled."""
        k = self.n_components
        if component is None:
            i = torch.randint(0, k, (n,), device=self.device)
        else:
            i = torch.full((n,), int(component), dtype=torch.long, device=self.device)
        z = latent(n, self.params, scale, self.device)
        return torch.cat([z, F.one_hot(i, k).to(z.dtype)], dim=1), i

    def generator_input(self, n: int, scale: float = 1.0, component: int | None = None) -> torch.Tensor:
        return self.codes(n, scale, component)[0]
