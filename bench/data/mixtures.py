"""The 2-D Gaussian mixtures of the seed papers. Each returns a DataSpec whose `mixture` is the exact true
distribution, so metrics and the `oracle` need nothing else. Points are labelled with their component."""
from __future__ import annotations

import itertools
import math

import numpy as np

from bench.data.base import DataSpec, GaussianMixture
from bench.registry import register_dataset


def _ring_means(n: int, radius: float) -> np.ndarray:
    angles = 2 * math.pi * np.arange(n) / n
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


@register_dataset("ring8_mgan")
def ring8_mgan() -> DataSpec:
    # MGAN §5.1 / App. C.1: 8 Gaussians on a circle of radius 2.0, covariance 0.02·I (std ≈ 0.141).
    return DataSpec(
        name="ring8_mgan", kind="points", shape=(2,), n_classes=8,
        mixture=GaussianMixture.isotropic(_ring_means(8, 2.0), math.sqrt(0.02)),
        n_train=None,
        source="mgan §5.1, App. C.1 (covariance 0.02·I, radius 2)",
        choices={"n_train": "fresh samples every step (MGAN: 'training data is sampled from' the mixture)"},
    )


@register_dataset("ring8_mdgan")
def ring8_mdgan() -> DataSpec:
    # MD-GAN §6.1: ring of 8 Gaussians, std 0.05 (a standard deviation: the 3σ threshold uses it).
    return DataSpec(
        name="ring8_mdgan", kind="points", shape=(2,), n_classes=8,
        mixture=GaussianMixture.isotropic(_ring_means(8, 2.0), 0.05),
        n_train=10_000,
        source="md-gan §6.1 (std 0.05)",
        choices={"radius": "2.0 (MD-GAN states none; our choice, as MGAN's ring)",
                 "n_train": "10,000 fixed points, as the authors' grid code (MD-GAN states none for the ring)"},
    )


@register_dataset("grid25")
def grid25() -> DataSpec:
    # MD-GAN §6.1: 5×5 grid, std 0.05; means {−4,−2,0,2,4}² and 10,000 points from the authors' code.
    means = np.array(list(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2)))
    return DataSpec(
        name="grid25", kind="points", shape=(2,), n_classes=25,
        mixture=GaussianMixture.isotropic(means, 0.05),
        n_train=10_000,
        source="md-gan §6.1 (std 0.05); spacing and 10,000 points from eghbalz/mdgan [code]",
        choices={"n_train": "10,000 fixed points, 400 per mode"},
    )


@register_dataset("gm9")
def gm9() -> DataSpec:
    # GM-GAN §4.1: 9 Gaussians at {−1,0,1}², covariance 0.1·I (std ≈ 0.316), 5,000 labelled points.
    means = np.array(list(itertools.product([-1.0, 0.0, 1.0], repeat=2)))
    return DataSpec(
        name="gm9", kind="points", shape=(2,), n_classes=9,
        mixture=GaussianMixture.isotropic(means, math.sqrt(0.1)),
        n_train=5_000,
        source="gm-gan §4.1, Table 1",
        choices={"n_train": "5,000 fixed points in equal shares (555 or 556 per Gaussian)",
                 "note": "modes overlap (≈85% of points nearest their own mean): 3σ mode metrics do not apply"},
    )


@register_dataset("deligan_uni")
def deligan_uni() -> DataSpec:
    # DeLiGAN §5.2 toy: one 2-D Gaussian; parameters from the authors' code: N(0, 0.3²I), 400 points.
    return DataSpec(
        name="deligan_uni", kind="points", shape=(2,), n_classes=1,
        mixture=GaussianMixture.isotropic(np.zeros((1, 2)), 0.3),
        n_train=400,
        source="deligan §5.2; N(0, 0.3²I) and 400 points from val-iisc/deligan [code]",
    )


@register_dataset("deligan_bimodal")
def deligan_bimodal() -> DataSpec:
    # DeLiGAN §5.2 toy: two Gaussians with a void between; authors' code: N(±(0.6, 0.6), 0.15²I), 200 each.
    return DataSpec(
        name="deligan_bimodal", kind="points", shape=(2,), n_classes=2,
        mixture=GaussianMixture.isotropic([[0.6, 0.6], [-0.6, -0.6]], 0.15),
        n_train=400,
        source="deligan §5.2; N(±(0.6,0.6), 0.15²I), 200 points each from val-iisc/deligan [code]",
    )
