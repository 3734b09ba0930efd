"""class_share (pcm-gan §III-E extension): the generated class histogram and its total variation to the training
classes, on hand-computed cases."""
import numpy as np
import pytest

from bench.metrics.class_share import class_share
from bench.registry import METRICS


def _logits(labels, k):
    out = np.zeros((len(labels), k), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 5.0
    return out


def test_shares_and_total_variation_by_hand():
    # generated argmax classes 0, 0, 0, 1 (K = 3): shares 3/4, 1/4, 0
    # training labels 0, 1, 2, 2: shares 1/4, 1/4, 1/2 -> TV = ½ (|3/4 − 1/4| + 0 + |0 − 1/2|) = 1/2
    out = class_share(_logits([0, 0, 0, 1], 3), np.array([0, 1, 2, 2]))
    assert out == pytest.approx({"0": 0.75, "1": 0.25, "2": 0.0, "all": 0.5}, abs=1e-12)  # exact fractions


def test_following_the_training_proportions_scores_zero_and_collapse_scores_the_missing_mass():
    train = np.array([1] * 6 + [0, 2, 3, 4])  # an imbalanced set: class 1 dominant (60 %)
    assert class_share(_logits(train[::-1], 5), train)["all"] == pytest.approx(0.0, abs=1e-12)  # same histogram
    # every sample labelled 1: TV = 1 − 0.6 (the 40 % of the training mass in the other classes)
    out = class_share(_logits([1] * 50, 5), train)
    assert out["all"] == pytest.approx(0.4, abs=1e-12)
    assert [out[str(c)] for c in range(5)] == [0.0, 1.0, 0.0, 0.0, 0.0]


def test_record_lower_is_better_bounded_and_not_for_1000_classes():
    m = METRICS.get("class_share")
    assert not m.higher_is_better and m.extractors == ("dom",)

    class Spec:
        name, kind, n_classes = "stacked", "image", 1000

    assert "stacked_modes" in m.not_applicable(Spec())
    Spec.n_classes = 10
    assert m.not_applicable(Spec()) is None and m.value_range(Spec()) == (0.0, 1.0)
