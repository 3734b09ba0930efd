"""Derived image sets as index maps over a labelled base set (no pixels copied until a batch is drawn):
Stacked MNIST, class-balanced limited subsets, and PCM-GAN's imbalanced MNIST. Each is a function of the base
labels and a FIXED dataset seed, so every trial and every evaluator sees the same training set."""
from __future__ import annotations

import numpy as np

DATASET_SEED = 0  # fixed seed of every derived training / held-out set (recorded in each DataSpec's choices)

# Stacked MNIST size. MD-GAN §6.1 defers to VEEGAN [29] / Unrolled GAN [23] and states no size; PacGAN's code,
# which re-runs both protocols (fjxmlzn/PacGAN stacked_MNIST_experiments/*/config.py), uses
# num_training_sample = 128,000 and scores num_test_sample = 26,000 generated images (VEEGAN Table 2's 26,000).
STACKED_N_TRAIN = 128_000
STACKED_N_TEST = 26_000


def _by_class(labels: np.ndarray, n_classes: int) -> list[np.ndarray]:
    return [np.flatnonzero(labels == c) for c in range(n_classes)]


def stacked_index(labels: np.ndarray, n: int, seed: int = DATASET_SEED, channels: int = 3,
                  n_classes: int = 10, balanced: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(index (n, channels) into the base images, label (n,) = 100·a + 10·b + c).

    Each channel independently: a class uniform over the 10 digits, then an image uniform within that class.
    Drawing the class first makes the 1,000 stacked classes exactly uniform, the reference distribution that
    VEEGAN / PacGAN / MD-GAN's mode KL compares against (MNIST's own class frequencies range 9.0–11.2 %).
    `balanced` (the held-out splits): every stacked class n // 1,000 times (the rest drawn at random), in random
    order, so every class has held-out images (4,000 uniform draws would miss ~e^−4 ≈ 2 % of the classes)."""
    rng = np.random.default_rng(seed)
    groups = _by_class(labels, n_classes)
    if any(len(g) == 0 for g in groups):
        raise ValueError(f"stacking needs every one of {n_classes} classes in the base set")
    if balanced:
        k = n_classes ** channels
        stacked = rng.permutation(np.concatenate([np.repeat(np.arange(k), n // k), rng.integers(0, k, n % k)]))
        cls = np.stack([(stacked // n_classes ** (channels - 1 - i)) % n_classes for i in range(channels)], 1)
    else:
        cls = rng.integers(0, n_classes, size=(n, channels))
    pick = rng.random(size=(n, channels))
    index = np.empty((n, channels), dtype=np.int64)
    for c, g in enumerate(groups):
        m = cls == c
        index[m] = g[np.minimum((pick[m] * len(g)).astype(np.int64), len(g) - 1)]
    weights = n_classes ** np.arange(channels - 1, -1, -1)  # 100, 10, 1
    return index, (cls * weights).sum(axis=1).astype(np.int64)


def limited_index(labels: np.ndarray, per_class: int, seed: int = DATASET_SEED, n_classes: int = 10) -> np.ndarray:
    """Sorted indices of `per_class` images of every class, drawn without replacement (DeLiGAN §5.3–5.4:
    'keeping the total number of images per digit constant')."""
    rng = np.random.default_rng(seed)
    out = []
    for c, g in enumerate(_by_class(labels, n_classes)):
        if len(g) < per_class:
            raise ValueError(f"class {c} has {len(g)} images, fewer than {per_class}")
        out.append(rng.choice(g, size=per_class, replace=False))
    return np.sort(np.concatenate(out))


def imbalanced_index(labels: np.ndarray, dominant: int, cap: int = 1000, seed: int = DATASET_SEED,
                     n_classes: int = 10) -> np.ndarray:
    """Sorted indices: every image of the dominant class, `cap` random images of each other class
    (PCM-GAN §III-E: 'the category d is kept the same', '1,000 samples are randomly selected from all other')."""
    if not 0 <= dominant < n_classes:
        raise ValueError(f"dominant class {dominant} out of range 0..{n_classes - 1}")
    rng = np.random.default_rng(seed)
    out = []
    for c, g in enumerate(_by_class(labels, n_classes)):
        out.append(g if c == dominant else rng.choice(g, size=min(cap, len(g)), replace=False))
    return np.sort(np.concatenate(out))
