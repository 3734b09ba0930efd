"""Every trainable method trains on images through the shared builders (issue 12): a few steps on real 16×16
test images (scikit-learn's digits; 1 channel / 10 classes and 3 stacked channels / 1,000 classes), finite
losses, samples of the image shape in [−1, 1] (also per component) and a state round trip through bytes."""
from __future__ import annotations

import pytest

from bench.registry import METHODS
from method_checks import IMAGE_SPECS, assert_image_training

TRAINABLE = [n for n in METHODS.names() if METHODS.get(n).trainable]

# Small batches and narrow networks keep the 40 cases fast (the default widths are tested in test_image_nets.py).
# Speed-only overrides, each named: MD-GAN's λ search (64 L-BFGS starts at every build) and PCM-GAN's one fake per
# Gaussian (1,000 Gaussians = 1,000 fakes a step on the stacked set) do not shrink with the batch; Unrolled GAN
# unrolls 2 steps instead of 5, WGAN-GP runs 2 critic steps instead of 5, MGAN draws 4 fakes per generator.
SMALL = {"batch_size": 16, "fake_batch_size": 16, "z_dim": 32, "g_channels": 16, "d_channels": 16}
SPEED = {"mdgan": {"lambda_starts": 2}, "unrolled_gan": {"unroll_steps": 2}, "wgan_gp": {"n_critic": 2},
         "pcmgan": {"n_gaussians": 10}, "mgan": {"fake_batch_size": 4}}


def test_every_trainable_method_is_covered():
    assert len(TRAINABLE) == 20
    assert all("image" in METHODS.get(n).kinds for n in TRAINABLE)


@pytest.mark.parametrize("dataset", list(IMAGE_SPECS))
@pytest.mark.parametrize("method", TRAINABLE)
def test_method_trains_on_images(method, dataset):
    params = {**SMALL, **SPEED.get(method, {})}
    if method == "pcmgan" and dataset == "sk_digits16":
        params.pop("n_gaussians")  # K = the 10 classes: PCM-GAN's own default on the 1-channel set
    m = assert_image_training(method, dataset, **params)
    assert m.n_params() > 0
