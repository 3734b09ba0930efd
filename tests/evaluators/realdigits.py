"""Real image data for the evaluator tests, loaded here (the image data package is built in parallel):
scikit-learn's real 8x8 digits (1,797 images), bilinearly upscaled to 16x16 and scaled 0..16 -> 0..255 uint8,
split 1,437 train / 360 held-out by a seeded permutation; stacked = three digits of the same split in three
channels, label 100a + 10b + c (a = channel 0), indices drawn with a fixed seed."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F


@lru_cache(maxsize=1)
def digit_splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = F.interpolate(torch.tensor(d.images, dtype=torch.float32)[:, None], size=(16, 16), mode="bilinear",
                      align_corners=False)
    u8 = (x * (255 / 16)).round().clamp(0, 255).to(torch.uint8)
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.as_tensor(np.random.default_rng(0).permutation(len(y)))
    tr, te = perm[:1437], perm[1437:]
    return {"train": (u8[tr], y[tr]), "test": (u8[te], y[te])}


@lru_cache(maxsize=4)
def stacked_splits(n_train: int = 20000, n_test: int = 2000) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    out = {}
    for split, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        x, y = digit_splits()[split]
        idx = torch.as_tensor(np.random.default_rng(seed).integers(0, len(y), size=(n, 3)))
        out[split] = (torch.cat([x[idx[:, c]] for c in range(3)], dim=1),
                      100 * y[idx[:, 0]] + 10 * y[idx[:, 1]] + y[idx[:, 2]])
    return out


def load_split(name: str, split: str, data_root=None):
    if name == "digits":
        return digit_splits()[split]
    if name == "stacked_digits":
        return stacked_splits()[split]
    raise KeyError(f"the evaluator tests hold only digits and stacked_digits, not {name!r}")
