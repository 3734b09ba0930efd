"""Shared samples for the metric tests: the true mixture (what the `oracle` draws) and one mode only (what
`collapsed` draws, mode 0), each from its own fixed torch.Generator so every test sees the same numbers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.data import get_spec

POINT_SETS = ["ring8_mgan", "ring8_mdgan", "grid25", "gm9", "deligan_uni", "deligan_bimodal"]


def draw(name_or_spec, n: int, seed: int = 0, *, collapsed: bool = False) -> np.ndarray:
    """(n, 2) float64: n points of the true mixture, or of its component 0 only when `collapsed`."""
    spec = get_spec(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    g = torch.Generator().manual_seed(seed)
    comps = torch.zeros(n, dtype=torch.long) if collapsed else None
    x, _ = spec.mixture.sample(n, g, components=comps)
    return x.double().numpy()


@pytest.fixture(scope="session")
def oracle_samples():
    """oracle_samples(name, n, seed=0) -> (n, 2) true-mixture samples (cached per arguments)."""
    cache: dict = {}

    def get(name: str, n: int, seed: int = 0) -> np.ndarray:
        key = (name, n, seed)
        if key not in cache:
            cache[key] = draw(name, n, seed)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def collapsed_samples():
    """collapsed_samples(name, n, seed=0) -> (n, 2) samples of component 0 only (cached per arguments)."""
    cache: dict = {}

    def get(name: str, n: int, seed: int = 0) -> np.ndarray:
        key = (name, n, seed)
        if key not in cache:
            # A different stream from the oracle's (seed offset) so the two are independent draws.
            cache[key] = draw(name, n, seed + 10_000, collapsed=True)
        return cache[key]

    return get
