"""oracle and collapsed on images (digits): oracle draws real held-out images (of one class with component=),
collapsed repeats one real held-out image; shapes (n, C, H, W), range [−1, 1]. The 2-D behaviour is tested in
tests/test_trial.py and the metric tests."""
from __future__ import annotations

import pytest
import torch

from bench.data import build_dataset
from bench.data.images import load_split
from bench.registry import METHODS


@pytest.fixture(scope="module")
def digits():
    data = build_dataset("digits", seed=0)
    return data.spec, load_split("digits", "test"), load_split("digits", "train")


def _rows(x: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """(n,): index of the bank image equal to each x (−1 where none); x float [−1, 1], bank uint8."""
    u8 = ((x + 1) * 127.5).round().to(torch.uint8)
    index: dict[bytes, int] = {}
    for i in range(len(bank)):
        index.setdefault(bank[i].numpy().tobytes(), i)  # the first of equal images
    return torch.tensor([index.get(u8[j].numpy().tobytes(), -1) for j in range(len(u8))])


def _make(name, spec, **params):
    cls = METHODS.get(name)
    return cls(spec, cls.Params(**params))


def test_references_declare_image_support():
    assert "image" in METHODS.get("oracle").kinds and "points" in METHODS.get("oracle").kinds
    assert "image" in METHODS.get("collapsed").kinds


def test_oracle_draws_held_out_images(digits):
    spec, (hx, hy), (tx, _) = digits
    oracle = _make("oracle", spec)
    assert oracle.n_components == 10
    torch.manual_seed(0)
    x = oracle.sample(200)
    assert tuple(x.shape) == (200, 1, 16, 16) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    rows = _rows(x, hx)
    assert (rows >= 0).all()  # every sample is a held-out (test) image
    # 200 draws with replacement from 360 images: 360·(1 − (359/360)^200) ≈ 154 distinct expected, sd ≈ 5.5.
    assert 132 <= len(torch.unique(rows)) <= 176
    assert (_rows(x, tx) < 0).float().mean() > 0.95  # and (almost) none is a training image


def test_oracle_component_draws_one_class(digits):
    spec, (hx, hy), _ = digits
    x = _make("oracle", spec).sample(50, component=3)
    assert (hy[_rows(x, hx)] == 3).all()
    with pytest.raises(ValueError, match="out of range"):
        _make("oracle", spec).sample(5, component=10)


def test_collapsed_repeats_one_real_image(digits):
    spec, (hx, hy), _ = digits
    x = _make("collapsed", spec, mode=4).sample(64)
    assert tuple(x.shape) == (64, 1, 16, 16) and x.min() >= -1 and x.max() <= 1
    assert (x == x[:1]).all() and x.std() > 0  # identical samples of a non-blank image
    rows = _rows(x[:1], hx)
    assert int(rows[0]) == int(torch.nonzero(hy == 4)[0])  # the first held-out 4
    with pytest.raises(ValueError, match="mode 10 out of range"):
        _make("collapsed", spec, mode=10)


def test_oracle_on_stacked_digits_covers_many_of_1000_classes():
    data = build_dataset("stacked_digits", seed=0)
    hx, hy = data.spec.heldout()
    torch.manual_seed(1)
    x = _make("oracle", data.spec).sample(2000)
    assert tuple(x.shape) == (2000, 3, 16, 16)
    # 2,000 uniform draws over 1,000 classes reach 1000·(1 − e^{−2}) ≈ 865 classes on average (sd ≈ 10).
    rows = _rows(x, hx)
    assert (rows >= 0).all()
    drawn = hy[rows]
    assert 800 <= len(torch.unique(drawn)) <= 930
