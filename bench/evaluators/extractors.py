"""The two feature extractors image metrics read from, behind one interface:

    ext = get_extractor("dom" | "inception", spec, device)
    ext(x)                  x float32 (n, C, H, W) in [-1, 1] on device -> {"features": (n, D), "logits": (n, K)}
    ext.layer_features(x)   (n, D_l): the layer GM-GAN's quality score (Eq. 6, c_l) reads
    ext.name, ext.protocol  recorded with every metric value

`dom`: the dataset family's domain classifier (families.py), at the dataset's native size. features = the
hidden fully-connected layer after its ReLU (128-d; 256-d for CIFAR-10; stacked: the three channels' 128-d
concatenated, 384-d), logits = its class logits (stacked: the 1,000 joint log-probabilities).
layer_features = the same hidden layer: GM-GAN §3.2 leaves l open; the layer the decision is linear in is the
classifier's own notion of "same content", and it is the layer FID_dom uses, so the training-set side of Eq. 6
is `real_features(ext, dataset, "train")["features"]`.

`inception`: torch-fidelity's inception-v3-compat. features = pool3 ("2048"), logits = "logits_unbiased"
(1008), the layer torch-fidelity's own IS uses, so IS from these logits equals torch-fidelity's. Input
conversion (torch-fidelity's convention for this network: uint8 0..255, 3 channels; it resizes to 299 itself
with its TF1-compatible bilinear): u8 = round((x + 1) * 127.5) clamped to 0..255 (exactly inverts the data
package's u8 / 127.5 - 1); 1-channel images are replicated to 3 channels.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from bench.errors import UserError
from bench.evaluators import classifier
from bench.evaluators.families import Family, family_for
from bench.evaluators.inception import check_inception_weights

EXTRACTORS = ("inception", "dom")


class Extractor(Protocol):
    name: str  # "dom" | "inception"
    protocol: dict  # recorded with every metric value (content_hash identifies the network and its weights)
    device: torch.device

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]: ...  # {"features": (n, D), "logits": (n, K)}

    def layer_features(self, x: torch.Tensor) -> torch.Tensor: ...  # (n, D_l): GM-GAN Eq. 6's c_l


class DomainExtractor:
    name = "dom"

    def __init__(self, net: torch.nn.Module, info: dict, family: Family, entry: Path, device,
                 batch_size: int | None = None):
        self.net, self.device = net, torch.device(device)
        # Chunk size of one forward: on a CPU, batches over ~128 run ~2x slower per image (activations leave the
        # cache; bench/perf/extractors.py measured batch 500 at 2.8x batch 64); on a GPU, large.
        self.batch_size = batch_size or (128 if self.device.type == "cpu" else 4096)
        self.model_path = entry / "model.pt"  # what torch-fidelity's registered extractor loads
        self.protocol = {
            "extractor": "dom", "family": family.name, "trained_on": f"{family.dataset} train split",
            "heldout": f"{family.dataset} test split", "architecture": info["architecture"],
            "content_hash": info["content_hash"], "heldout_accuracy": info["heldout_accuracy"],
            "required_accuracy": family.threshold, "required_why": family.why, "n_train": info["n_train"],
            "n_heldout": info["n_heldout"],
            "training": info["training"], "train_seconds": info["train_seconds"],
            "features": f"hidden fully-connected layer after ReLU ({net.feature_width}-d)",
            "logits": "class logits" if info["architecture"]["type"] == "cnn"
            else "1,000 joint log-probabilities log p(a)+log p(b)+log p(c) at 100a+10b+c",
            "layer_features": "same layer as features (GM-GAN Eq. 6 c_l)",
            "input": "float in [-1, 1] at the dataset's native size"}

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        fs, ls = [], []
        for i in range(0, len(x), self.batch_size):
            f, l = self.net(x[i:i + self.batch_size])
            fs.append(f)
            ls.append(l)
        return {"features": torch.cat(fs).float(), "logits": torch.cat(ls).float()}

    def layer_features(self, x: torch.Tensor) -> torch.Tensor:
        return self(x)["features"]


class InceptionExtractor:
    """Wraps a torch-fidelity feature extractor providing "2048" and "logits_unbiased" (the real Inception, or
    in tests a stand-in network in the same slot)."""

    name = "inception"
    FEATURES = ("2048", "logits_unbiased")

    def __init__(self, net: torch.nn.Module, device, protocol: dict, *, weights_path: Path | None = None,
                 batch_size: int = 64):
        self.net, self.device, self.protocol, self.batch_size = net, torch.device(device), protocol, batch_size
        self.weights_path = weights_path  # what torch-fidelity's own extractor loads (fidelity_kwargs)
        self._order = list(net.get_requested_features_list())

    @staticmethod
    def to_uint8(x: torch.Tensor) -> torch.Tensor:
        """[-1, 1] float (n, C, H, W) -> uint8 (n, 3, H, W); 1 channel replicated to 3."""
        u8 = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return u8.expand(-1, 3, -1, -1) if u8.shape[1] == 1 else u8

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        fs, ls = [], []
        for i in range(0, len(x), self.batch_size):
            out = dict(zip(self._order, self.net(self.to_uint8(x[i:i + self.batch_size]))))
            fs.append(out["2048"])
            ls.append(out["logits_unbiased"])
        return {"features": torch.cat(fs).float(), "logits": torch.cat(ls).float()}

    def layer_features(self, x: torch.Tensor) -> torch.Tensor:
        return self(x)["features"]


_FILE_SHA: dict[tuple, str] = {}


def file_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _FILE_SHA:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _FILE_SHA[key] = h.hexdigest()
    return _FILE_SHA[key]


def _inception_net(weights: Path, device) -> torch.nn.Module:
    """torch-fidelity's network from a local weights file (never its download path)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3("inception-v3-compat", list(InceptionExtractor.FEATURES),
                                      feature_extractor_weights_path=str(weights))
    return net.to(device)


def inception_protocol(weights: Path) -> dict:
    from importlib.metadata import version

    return {"extractor": "inception-v3-compat", "library": f"torch-fidelity {version('torch-fidelity')}",
            "weights_file": weights.name, "content_hash": file_sha256(weights),
            "features": "pool3 (2048)", "logits": "logits_unbiased (1008; torch-fidelity's IS layer)",
            "input": "round((x+1)*127.5) as uint8, 1 channel replicated to 3, resized to 299 by torch-fidelity"}


_MEMO: dict[tuple, object] = {}


def get_extractor(name: str, spec, device, *, data_root=None, cache_dir: Path | None = None):
    """The named extractor for `spec`'s dataset on `device`, built once per process."""
    device = torch.device(device)
    if name == "dom":
        family = family_for(spec.name)
        key = ("dom", family.name, str(device), str(data_root), str(cache_dir or classifier.cache_root()))
        if key not in _MEMO:
            net, info, entry = classifier.get_classifier(family, device, data_root=data_root, cache_dir=cache_dir)
            _MEMO[key] = DomainExtractor(net, info, family, entry, device)
        return _MEMO[key]
    if name == "inception":
        weights = check_inception_weights(needed_by=f"the inception extractor on {spec.name}")
        key = ("inception", str(weights), str(device))
        if key not in _MEMO:
            _MEMO[key] = InceptionExtractor(_inception_net(weights, device), device, inception_protocol(weights),
                                            weights_path=weights)
        return _MEMO[key]
    raise UserError(f"unknown feature extractor {name!r}; available: {', '.join(EXTRACTORS)}")


def real_features(extractor, dataset_name: str, split: str, data_root=None, *, n: int | None = None,
                  cache_dir: Path | None = None, batch_size: int = 500) -> dict[str, np.ndarray]:
    """{"features": (N, D) float32, "logits": (N, K) float32} of a real split (its first n images; None: all)
    through `extractor`, computed once per (dataset, split, extractor content hash, data content) and cached as
    .npz under cache_root()/features. (Stacked MNIST's 128,000 training images: 0.2 GB features + 0.5 GB logits;
    pass n for the protocol's count.)"""
    from filelock import FileLock

    x, _ = classifier.load_split(dataset_name, split, data_root)
    x = x if n is None else x[:n]
    dhash = classifier.data_hash(x)
    root = Path(cache_dir) if cache_dir is not None else classifier.cache_root() / "features"
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{dataset_name}-{split}-{extractor.name}-{extractor.protocol['content_hash'][:16]}-{dhash[:16]}.npz"
    with FileLock(str(path) + ".lock"):
        if path.exists():
            try:
                with np.load(path) as z:
                    out = {"features": z["features"], "logits": z["logits"]}
                if len(out["features"]) == len(x):
                    return out
            except Exception:  # damaged file: recompute below
                pass
        fs, ls = [], []
        for i in range(0, len(x), batch_size):
            o = extractor(classifier.to_float(x[i:i + batch_size].to(extractor.device)))
            fs.append(o["features"].cpu().numpy())
            ls.append(o["logits"].cpu().numpy())
        out = {"features": np.concatenate(fs).astype(np.float32), "logits": np.concatenate(ls).astype(np.float32)}
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            np.savez(f, **out)
        os.replace(tmp, path)
    return out
