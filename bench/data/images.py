"""The image datasets: one `ImageSet` per registered name (its upstream source, the split it trains on and the
split it holds out), `load_split` (uint8 images + labels, cached per process), and `ImageData`, the training
data a trial draws batches from.

Lean by design: a set is read once per worker process and kept (across the trials that process runs) as a
uint8 tensor on the trial's device; a batch is drawn by index on that device and converted to float in [−1, 1]
there. Derived sets (stacked, limited, imbalanced) are index maps over their base images, so Stacked MNIST's
128,000 training images cost 47 MB (MNIST) + 3 MB of indices, not 301 MB.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from bench.data import derived
from bench.data.base import DataSpec
from bench.data.derived import DATASET_SEED
from bench.data.sources import SOURCES, Source
from bench.data.sources import data_root as resolve_root
from bench.registry import register_dataset


def to_float(u8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels [0, 255] -> float32 [−1, 1] (GM-GAN §4 / MGAN's code: images scaled to [−1, 1])."""
    return u8.float() / 127.5 - 1.0


@dataclass(frozen=True)
class View:
    """A split as base images plus an optional index map: image i is images[index[i]] (channels stacked when
    index is (N, k)), or images[i] without one. labels: (N,) int64."""

    images: np.ndarray  # uint8 (M, c, H, W)
    labels: np.ndarray  # int64 (N,)
    index: np.ndarray | None = None  # int64 (N,) or (N, k)

    def materialise(self) -> np.ndarray:
        if self.index is None:
            return self.images
        x = self.images[self.index]  # (N, c, H, W) or (N, k, c, H, W)
        return x.reshape(len(self.labels), -1, *self.images.shape[-2:])


@dataclass(frozen=True)
class ImageSet:
    name: str
    source: str  # key of bench.data.sources.SOURCES
    shape: tuple[int, int, int]
    n_classes: int
    n_train: int
    build: Callable[[str, Path], View]  # (split "train" | "test", root) -> View
    source_splits: tuple[str, ...] = ("train", "test")  # the source's splits this set reads
    cite: str = ""
    choices: dict | None = None

    def spec(self, root: str | os.PathLike | None = None) -> DataSpec:
        src = SOURCES[self.source]
        return DataSpec(name=self.name, kind="image", shape=self.shape, n_classes=self.n_classes,
                        n_train=self.n_train, source=self.cite, licence=src.licence,
                        choices={"dataset_seed": DATASET_SEED, "pixels": "uint8 scaled to [-1, 1] per batch",
                                 **(self.choices or {})},
                        heldout=functools.partial(load_split, self.name, "test", root))

    def require(self, root: Path, *, verify: bool = True) -> None:
        SOURCES[self.source].require(self.name, root, self.source_splits, verify=verify)


IMAGE_SETS: dict[str, ImageSet] = {}


def _register(s: ImageSet) -> None:
    IMAGE_SETS[s.name] = s
    register_dataset(s.name)(functools.partial(ImageSet.spec, s))


# -- reading, cached per process ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _source_split(source: str, split: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    return SOURCES[source].read(Path(root), split)


def _plain(source: str) -> Callable[[str, Path], View]:
    def build(split: str, root: Path) -> View:
        return View(*_source_split(source, split, str(root)))

    return build


def _disk_cached(root: Path, key: str, source: str, make: Callable[[], tuple[np.ndarray, np.ndarray]]):
    """Slow preprocessing (decoding 200k JPEGs, resizing 105k images) done once per data root: the result is
    kept in ROOT/modebench-cache/KEY-<fingerprint>.npz, written atomically. The fingerprint hashes the source
    files' names, sizes and modification times, so replaced files are preprocessed again. A read-only root
    just skips the cache."""
    import hashlib

    src = SOURCES[source]
    base = Path(root) / src.folder
    stat = [(f, (base / f.rstrip("/")).stat().st_size, (base / f.rstrip("/")).stat().st_mtime_ns)
            for f in src.expected(tuple(src.split_files)) if (base / f.rstrip("/")).exists()]
    fp = hashlib.sha1(repr(stat).encode()).hexdigest()[:10]
    path = Path(root) / "modebench-cache" / f"{key}-{fp}.npz"
    if path.is_file():
        with np.load(path) as z:
            return z["images"], z["labels"]
    images, labels = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, images=images, labels=labels)
        os.replace(tmp, path)
    except OSError:
        pass  # e.g. a read-only shared data root: preprocess again next time
    return images, labels


def _resized(source: str, splits: tuple[str, ...], size: int, key: str) -> Callable[[str, Path], View]:
    """MGAN §5.2 (following Krizhevsky et al. 2012): STL-10 resized to size×size; bilinear with antialiasing
    (torchvision resize, antialias=True: a 2× downscale without it aliases)."""
    def build(split: str, root: Path) -> View:
        def make():
            from torchvision.transforms.v2 import functional as TF

            parts = [_source_split(source, s, str(root)) for s in (splits if split == "train" else ("test",))]
            out_x, out_y = [], []
            for x, y in parts:
                for i in range(0, len(x), 2048):  # in chunks: float copies of 105k 96×96 images would be 11 GB
                    t = torch.from_numpy(x[i:i + 2048]).float()
                    t = TF.resize(t, [size, size], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
                    out_x.append(t.round().clamp(0, 255).to(torch.uint8).numpy())
                out_y.append(y)
            return np.concatenate(out_x), np.concatenate(out_y)

        return View(*_disk_cached(root, f"{key}_{split}", source, make))

    return build


def _celeba(split: str, root: Path) -> View:
    return View(*_disk_cached(root, f"celeba64_{split}", "celeba", lambda: SOURCES["celeba"].read(root, split)))


def _stacked(base: str, n_train: int = derived.STACKED_N_TRAIN,
             n_test: int = derived.STACKED_N_TEST) -> Callable[[str, Path], View]:
    def build(split: str, root: Path) -> View:
        images, labels = _source_split(base, split, str(root))
        n = n_train if split == "train" else n_test
        # The test split is drawn with the next seed so its class sequence is not the training set's prefix.
        index, y = derived.stacked_index(labels, n, DATASET_SEED + (split != "train"), balanced=split != "train")
        return View(images, y, index)

    return build


def _subset(base: str, pick: Callable[[np.ndarray, str], np.ndarray]) -> Callable[[str, Path], View]:
    def build(split: str, root: Path) -> View:
        images, labels = _source_split(base, split, str(root))
        idx = pick(labels, split)
        return View(images, labels[idx], idx)

    return build


@functools.lru_cache(maxsize=None)
def _view(name: str, split: str, root: str) -> View:
    s = IMAGE_SETS[name]
    s.require(Path(root), verify=False)
    return s.build(split, Path(root))


def check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split {split!r}: choose 'train' or 'test'")


@functools.lru_cache(maxsize=None)
def _load_split(name: str, split: str, root: str) -> tuple[torch.Tensor, torch.Tensor]:
    v = _view(name, split, root)
    return torch.from_numpy(np.ascontiguousarray(v.materialise())), torch.from_numpy(v.labels)


def load_split(name: str, split: str, data_root: str | os.PathLike | None = None):
    """(uint8 (N, C, H, W) CPU images, int64 (N,) labels) of an image set's split, cached per process.
    split: "train" (what trials train on) or "test" (held out: no trial trains on it)."""
    check_split(split)
    if name not in IMAGE_SETS:
        from bench.registry import DATASETS

        DATASETS.get(name)  # unknown: UserError with suggestions
        raise ValueError(f"dataset {name!r} is not an image set")
    return _load_split(name, split, str(resolve_root(data_root)))


class ImageData:
    """A trial's training images: uint8 on the trial's device, batched by index with the trial's generator."""

    def __init__(self, spec: DataSpec, view: View, device: torch.device | str = "cpu"):
        self.spec = spec
        self.device = torch.device(device)
        self.images = torch.from_numpy(view.images).to(self.device)
        self.labels = torch.from_numpy(view.labels).to(self.device)
        self.index = None if view.index is None else torch.from_numpy(view.index).to(self.device)
        self.n = len(view.labels)

    def batch(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(x float32 (n, C, H, W) in [−1, 1], y int64 (n,)): uniform indices with replacement."""
        i = torch.randint(0, self.n, (n,), generator=generator).to(self.device)
        u8 = self.images[i] if self.index is None else self.images[self.index[i]]
        return to_float(u8.reshape(n, *self.spec.shape)), self.labels[i]


_DATA_CACHE: dict[tuple[str, str, str], ImageData] = {}  # (name, root, device): kept across a worker's trials


def image_data(name: str, device: torch.device | str = "cpu", data_root: str | os.PathLike | None = None):
    root = str(resolve_root(data_root))
    key = (name, root, str(torch.device(device)))
    if key not in _DATA_CACHE:
        spec = IMAGE_SETS[name].spec(root)
        _DATA_CACHE[key] = ImageData(spec, _view(name, "train", root), device)
    return _DATA_CACHE[key]


def require_datasets(names, data_root: str | os.PathLike | None = None) -> None:
    """Raise DataMissing / DataCorrupt for the first image set among `names` whose files are missing or
    unreadable (quick checks). The driver calls this before any trial starts."""
    root = resolve_root(data_root)
    for name in dict.fromkeys(names):
        if name in IMAGE_SETS:
            IMAGE_SETS[name].require(root)


def source_of(name: str) -> Source:
    return SOURCES[IMAGE_SETS[name].source]


# -- the registered image sets ---------------------------------------------------------------------------------
_register(ImageSet("digits", "digits", (1, 16, 16), 10, 1437, _plain("digits"),
                   cite="scikit-learn load_digits (UCI optdigits, 1,797 real 8×8 digits); no download",
                   choices={"upscale": "8×8 → 16×16, values ×255/16, bilinear (torch interpolate, "
                                       "align_corners=False), rounded to uint8",
                            "split": "fixed stratified 20 % test split (sklearn train_test_split, random_state "
                                     "= dataset_seed): 1,437 train / 360 test"}))
_register(ImageSet("mnist", "mnist", (1, 28, 28), 10, 60_000, _plain("mnist"),
                   cite="LeCun et al. 1998; torchvision MNIST", choices={"split": "train 60,000 / test 10,000"}))
_register(ImageSet("fashion_mnist", "fashion_mnist", (1, 28, 28), 10, 60_000, _plain("fashion_mnist"),
                   cite="Xiao et al. 2017; torchvision FashionMNIST",
                   choices={"split": "train 60,000 / test 10,000 (MD-GAN counts train + test, 70,000)"}))
_register(ImageSet("cifar10", "cifar10", (3, 32, 32), 10, 50_000, _plain("cifar10"),
                   cite="Krizhevsky 2009; torchvision CIFAR10", choices={"split": "train 50,000 / test 10,000"}))
_register(ImageSet("stl10", "stl10", (3, 96, 96), 10, 5_000, _plain("stl10"),
                   cite="Coates et al. 2011; torchvision STL10; GM-GAN's STL-10: the labelled split",
                   choices={"split": "labelled split: train 5,000 / test 8,000"}))
_register(ImageSet("stl10_48", "stl10", (3, 48, 48), 10, 105_000,
                   _resized("stl10", ("train", "unlabeled"), 48, "stl10_48"),
                   source_splits=("train", "test", "unlabeled"),
                   cite="mgan §5.2: STL-10 (about 100,000 images) resized to 48×48",
                   choices={"split": "train = torchvision 'train+unlabeled' (5,000 labelled + 100,000 unlabelled, "
                                     "MGAN's 'about 100,000'); held out = the 8,000 test images",
                            "labels": "unlabelled images carry −1 (torchvision's convention): only 5,000 labelled",
                            "resize": "96 → 48, bilinear with antialiasing (torchvision resize, antialias=True)"}))
_register(ImageSet("celeba64", "celeba", (3, 64, 64), 1, 162_770, _celeba,
                   cite="Liu et al. 2015; 64×64 cropped and centred as Lucic et al. 2018 (compare_gan)",
                   choices={"crop": "centre crop 160×160 of the aligned 178×218 image, then bilinear resize to "
                                    "64×64 without antialiasing (compare_gan datasets.py CelebaDataset)",
                            "split": "torchvision/official partition: train 162,770 / test 19,962",
                            "labels": "none: every image has label 0 (as compare_gan)"}))
_register(ImageSet("stacked_mnist", "mnist", (3, 28, 28), 1000, derived.STACKED_N_TRAIN, _stacked("mnist"),
                   cite="md-gan §6.1 (after VEEGAN / Unrolled GAN); 128,000 training images as PacGAN's code for "
                        "both protocols (fjxmlzn/PacGAN stacked_MNIST_experiments config.py)",
                   choices={"stacking": "each channel: a digit uniform over 0–9, then an MNIST image uniform within "
                                        "it; label 100·a + 10·b + c (1,000 classes, uniform)",
                            "split": f"train {derived.STACKED_N_TRAIN:,} stacked from MNIST train; held out "
                                     f"{derived.STACKED_N_TEST:,} stacked from MNIST test (seed dataset_seed + 1; "
                                     "every class 26 times, so the oracle has held-out images of each)"}))
# The offline stand-in is smaller than Stacked MNIST (the tests' evaluations search nearest training neighbours and
# extract real features of the whole set): 20,000 / 4,000 stacks, still 20 / 4 per class of the 1,000 on average.
STACKED_DIGITS_N = (20_000, 4_000)
_register(ImageSet("stacked_digits", "digits", (3, 16, 16), 1000, STACKED_DIGITS_N[0],
                   _stacked("digits", *STACKED_DIGITS_N),
                   cite="Stacked MNIST's construction on scikit-learn's digits (16×16): the tests' stand-in",
                   choices={"stacking": "as stacked_mnist, over digits' train / test splits",
                            "split": f"train {STACKED_DIGITS_N[0]:,} / held out {STACKED_DIGITS_N[1]:,} (smaller "
                                     "than Stacked MNIST's 128,000 / 26,000: an offline test set)"}))
_register(ImageSet("limited_mnist", "mnist", (1, 28, 28), 10, 500,
                   _subset("mnist", lambda y, s: derived.limited_index(y, 50) if s == "train" else np.arange(len(y))),
                   cite="deligan §5.3: 500 MNIST images, the same number per digit",
                   choices={"subset": "50 per digit from MNIST train, drawn with dataset_seed; held out: MNIST test"}))
_register(ImageSet("limited_cifar10", "cifar10", (3, 32, 32), 10, 2000,
                   _subset("cifar10",
                           lambda y, s: derived.limited_index(y, 200) if s == "train" else np.arange(len(y))),
                   cite="deligan §5.4, Table 1: 2,000 CIFAR-10 images, the same number per class",
                   choices={"subset": "200 per class from CIFAR-10 train (DeLiGAN draws from 'the entire dataset'; "
                                      "we keep the test split held out), drawn with dataset_seed"}))
IMBALANCED_DOMINANT = 1  # pcm-gan Fig. 7: digit 1 dominant
IMBALANCED_CAP = 1000


def _imbalanced_pick(dominant: int = IMBALANCED_DOMINANT):
    def pick(y: np.ndarray, split: str) -> np.ndarray:
        # Held out: the same imbalance on MNIST test, the cap scaled by the split sizes (1,000 · 10k/60k = 167).
        cap = IMBALANCED_CAP if split == "train" else round(IMBALANCED_CAP * 10_000 / 60_000)
        return derived.imbalanced_index(y, dominant, cap)

    return pick


_register(ImageSet("imbalanced_mnist", "mnist", (1, 28, 28), 10, 6742 + 9 * IMBALANCED_CAP,
                   _subset("mnist", _imbalanced_pick()),
                   cite="pcm-gan §III-E, Fig. 7: the dominant digit keeps all its images, every other digit 1,000",
                   choices={"dominant": f"digit {IMBALANCED_DOMINANT} (Fig. 7)",
                            "held_out": "MNIST test with the same imbalance (others capped at 167)"}))


def with_root(spec: DataSpec, root) -> DataSpec:
    """The spec with `heldout` reading from `root`."""
    return replace(spec, heldout=functools.partial(load_split, spec.name, "test", str(resolve_root(root))))
