"""Datasets: registered by name; `build_dataset` turns a name into (DataSpec, training data)."""
from __future__ import annotations

from bench.data.base import DataSpec, GaussianMixture, PointData

__all__ = ["DataSpec", "GaussianMixture", "PointData", "get_spec", "build_dataset"]


def get_spec(name: str) -> DataSpec:
    from bench.registry import DATASETS

    return DATASETS.get(name)()


def build_dataset(name: str, seed: int, device="cpu") -> PointData:
    spec = get_spec(name)
    if spec.kind == "points":
        return PointData(spec, seed, device)
    raise ValueError(f"dataset kind {spec.kind!r} has no loader yet")
