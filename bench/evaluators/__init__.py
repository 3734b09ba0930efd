"""Feature extractors for the image metrics: the dataset family's domain classifier ("dom", trained once by
the harness, cached by content hash, refused under its required held-out accuracy) and torch-fidelity's
Inception ("inception", local weights only). See extractors.py for the interface and the layers used,
families.py for each family's architecture and threshold, classifier.py for training and the cache.

Cache root: `$MODEBENCH_CACHE`, else `~/.cache/modebench`; classifiers under `evaluators/`, real-split features
under `features/`. This package's __init__ stays light (the CLI imports the Inception check from it).
"""
from __future__ import annotations

from bench.evaluators.inception import (INCEPTION_ENV, INCEPTION_METRICS, INCEPTION_WEIGHTS_FILE,
                                        check_inception_weights, check_plan_inception)

__all__ = ["get_extractor", "real_features", "check_inception_weights", "check_plan_inception",
           "fidelity_kwargs", "INCEPTION_ENV", "INCEPTION_METRICS", "INCEPTION_WEIGHTS_FILE"]


def get_extractor(name: str, spec, device, *, data_root=None, cache_dir=None):
    from bench.evaluators.extractors import get_extractor as _get

    return _get(name, spec, device, data_root=data_root, cache_dir=cache_dir)


def real_features(extractor, dataset_name: str, split: str, data_root=None, *, n=None, cache_dir=None):
    from bench.evaluators.extractors import real_features as _real

    return _real(extractor, dataset_name, split, data_root, n=n, cache_dir=cache_dir)


def fidelity_kwargs(extractor) -> dict:
    from bench.evaluators.fidelity import fidelity_kwargs as _kw

    return _kw(extractor)
