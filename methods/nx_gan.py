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

Images: every map of the DCGAN G has `image_width_mult` × g_channels channels. DeLiGAN §5.4 calls Nx-GAN
"prohibitively expensive" on CIFAR, so the image N is separate and small (2), recorded in the params.
"""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from torch import nn

from bench.data.base import DataSpec
from bench.registry import register_method
from methods.gan import GAN
from methods.nets import NetParams, generator


class NxGANParams(NetParams):
    # Everything else: NetParams (MGAN App. C.1 Table 3 networks and optimiser, as `gan`); `g_hidden` stays the
    # shared widths and G's are width_mult × g_hidden.
    # N: deligan §5.2 "N times more neurons in the hidden layer"; N = 50, DeLiGAN's N here (methods/deligan.py
    # n_components; §5 "a N between 50 and 100"; the toy code's 32*50).
    width_mult: int = Field(50, ge=1)
    # N on images: G's channels are image_width_mult × g_channels. DeLiGAN §5.4 calls Nx-GAN "prohibitively
    # expensive" on CIFAR (N = 50 would give 3,200-channel maps), so images run a smaller N, recorded here.
    image_width_mult: int = Field(2, ge=1)
    # The report marks a trial whose value differs from the paper's (the field's default) with this text.
    paper_defining: ClassVar[dict[str, str]] = {"width_mult": "{value}× G units (DeLiGAN §5.2: {paper}×)"}

    @property
    def g_widths(self) -> tuple[int, ...]:
        """G's hidden widths: N × the shared ones."""
        return tuple(self.width_mult * h for h in self.g_hidden)


@register_method("nx_gan")
class NxGAN(GAN):
    Params = NxGANParams

    def build_generator(self, p: NxGANParams, spec: DataSpec) -> nn.Module:
        # deligan §5.2: G with N× the hidden units (points) or N× the channels of every map (images); D and the
        # training step are gan's.
        wide = p.model_copy(update={"g_hidden": p.g_widths, "g_channels": p.image_width_mult * p.g_channels})
        return generator(wide, spec)
