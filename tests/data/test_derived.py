"""Derived sets: Stacked (1,000 uniform classes, each channel the base image it claims), limited (exact per-class
counts) and imbalanced (dominant class whole, the others capped), all fixed by the dataset seed."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from image_fixtures import write_idx_set
from scipy import stats

from bench.data import build_dataset
from bench.data import images as img
from bench.data.derived import imbalanced_index, limited_index, stacked_index
from bench.data.images import load_split


@pytest.fixture(scope="module")
def stacked_digits():
    return load_split("stacked_digits", "train"), load_split("digits", "train")


def test_stacked_labels_are_uniform_over_1000_classes(stacked_digits):
    (_, y), _ = stacked_digits
    assert len(y) == 20_000  # the offline stand-in's size (Stacked MNIST: 128,000)
    counts = np.bincount(y.numpy(), minlength=1000)
    assert len(counts) == 1000
    # Chi-square goodness of fit to uniform (expected 20 per class): a fixed draw; p ≥ 0.001 or the draw is not
    # uniform. digits' classes hold 174–183 images: drawing images (not classes) uniformly would still pass at
    # this size, so the next test also checks the skewed case that only class-first drawing makes uniform.
    assert stats.chisquare(counts).pvalue > 1e-3


def test_stacked_classes_are_uniform_even_over_a_skewed_base():
    labels = np.repeat(np.arange(10), [50, 400, 50, 50, 50, 50, 50, 50, 50, 50])  # class 1 is 8× the others
    _, y = stacked_index(labels, 100_000, seed=0)
    assert stats.chisquare(np.bincount(y, minlength=1000)).pvalue > 1e-3
    # The reference a per-image draw would give: digit 1 in a channel with p = 400/850, far from 1/10.
    a = y // 100
    assert np.mean(a == 1) == pytest.approx(0.1, abs=0.005)  # binomial sd = 0.00095: 5 sd


def test_each_stacked_channel_is_the_base_image_it_claims(stacked_digits):
    (x, y), (bx, by) = stacked_digits
    view = img._view("stacked_digits", "train", str(img.resolve_root(None)))
    idx = view.index
    for i in [0, 1, 2, 999, 19_999]:
        for c in range(3):
            assert torch.equal(x[i, c], bx[idx[i, c], 0])
        assert int(y[i]) == 100 * int(by[idx[i, 0]]) + 10 * int(by[idx[i, 1]]) + int(by[idx[i, 2]])
    # Through batches: every channel of every drawn image equals some base image of the digit the label names.
    data = build_dataset("stacked_digits", seed=0)
    xb, yb = data.batch(64, torch.Generator().manual_seed(1))
    u8 = ((xb + 1) * 127.5).round().to(torch.uint8)
    base = bx[:, 0]
    for n in range(64):
        digits = [int(yb[n]) // 100, int(yb[n]) // 10 % 10, int(yb[n]) % 10]
        for c in range(3):
            same = (base == u8[n, c]).flatten(1).all(dim=1)
            assert same.any() and digits[c] in by[same].tolist()


def test_stacked_set_is_fixed_by_the_dataset_seed_and_the_test_split_differs():
    labels = np.arange(500) % 10
    a, ya = stacked_index(labels, 1000, seed=0)
    b, yb = stacked_index(labels, 1000, seed=0)
    c, _ = stacked_index(labels, 1000, seed=1)
    assert np.array_equal(a, b) and np.array_equal(ya, yb) and not np.array_equal(a, c)
    (_, y_test) = load_split("stacked_digits", "test")
    assert len(y_test) == 4_000 and (np.bincount(y_test.numpy(), minlength=1000) == 4).all()  # balanced


def test_limited_and_imbalanced_counts_are_exact():
    labels = np.repeat(np.arange(10), [1500, 2000, 900, 1200, 1000, 1001, 999, 3000, 1100, 1300])
    lim = limited_index(labels, 50)
    assert np.bincount(labels[lim]).tolist() == [50] * 10 and len(np.unique(lim)) == 500
    imb = imbalanced_index(labels, dominant=1, cap=1000)
    assert np.bincount(labels[imb]).tolist() == [1000, 2000, 900, 1000, 1000, 1000, 999, 1000, 1000, 1000]
    imb7 = imbalanced_index(labels, dominant=7, cap=1000)
    assert np.bincount(labels[imb7])[7] == 3000
    with pytest.raises(ValueError, match="fewer than 200"):
        limited_index(labels[:100], 200)


def test_limited_and_imbalanced_mnist_through_the_loader(tmp_path, monkeypatch):
    written = write_idx_set(tmp_path, "MNIST/raw", n_train=600, n_test=100)  # 60 images per digit
    x, y = load_split("limited_mnist", "train", tmp_path)
    assert np.bincount(y.numpy()).tolist() == [50] * 10 and tuple(x.shape) == (500, 1, 28, 28)
    # Each limited image is a training image with its label.
    wx, wy = written["train"]
    rows = {wx[i].tobytes(): wy[i] for i in range(len(wy))}
    assert all(rows[x[i, 0].numpy().tobytes()] == y[i] for i in range(500))
    assert len(load_split("limited_mnist", "test", tmp_path)[1]) == 100  # held out: the whole test split
    monkeypatch.setattr(img, "IMBALANCED_CAP", 20)
    _, yi = load_split("imbalanced_mnist", "train", tmp_path)
    assert np.bincount(yi.numpy()).tolist() == [20, 60, 20, 20, 20, 20, 20, 20, 20, 20]  # digit 1 keeps all


def test_a_balanced_held_out_stack_has_every_class_equally_often_and_right_channels():
    import numpy as np

    from bench.data.derived import stacked_index

    labels = np.repeat(np.arange(10), 7)  # 7 base images per digit
    index, y = stacked_index(labels, 4_000, seed=3, balanced=True)
    assert (np.bincount(y, minlength=1000) == 4).all()
    digits = labels[index]  # (n, 3): the digit in each channel
    assert (digits @ np.array([100, 10, 1]) == y).all()
    _, y2 = stacked_index(labels, 2_500, seed=3, balanced=True)
    counts = np.bincount(y2, minlength=1000)
    assert counts.min() == 2 and counts.sum() == 2_500  # 2 each, the remaining 500 at random
