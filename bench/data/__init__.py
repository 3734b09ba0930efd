"""Datasets: registered by name; `build_dataset` turns a name into (DataSpec, training data).

2-D mixtures: bench/data/mixtures.py. Images: bench/data/images.py (sets), sources.py (files, readers),
derived.py (stacked / limited / imbalanced), fetch.py (`bench data fetch`)."""
from __future__ import annotations

from bench.data.base import DataSpec, GaussianMixture, PointData

__all__ = ["DataSpec", "GaussianMixture", "PointData", "get_spec", "build_dataset"]


def get_spec(name: str) -> DataSpec:
    from bench.registry import DATASETS

    return DATASETS.get(name)()


def build_dataset(name: str, seed: int, device="cpu", data_root=None):
    """`PointData` for a 2-D set (its training points drawn from `seed`), `ImageData` for an image set (a fixed
    training set, the same for every seed; loaded once per process and device). data_root: --data-root, else
    $MODEBENCH_DATA, else ~/.cache/modebench/data."""
    spec = get_spec(name)
    if spec.kind == "points":
        return PointData(spec, seed, device)
    from bench.data.images import image_data

    return image_data(name, device, data_root)
