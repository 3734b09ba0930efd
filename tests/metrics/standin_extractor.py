"""A small honest stand-in for bench/evaluators.py's extractors, for the image-metric tests (and the perf script
when the evaluators are absent): a tiny CNN trained in ~2 s on scikit-learn's real 8×8 digits upscaled to 16×16,
under its own name ("standin-digits-cnn", never "inception" nor a real dataset's name). Same interface as
`bench.evaluators.get_extractor(...)`: `.name`, `.protocol`, `ext(x) -> {"features", "logits"}`,
`.layer_features(x)`; plus a real-side source and stand-in oracle / collapsed generators on held-out digits.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import nn

from bench.data.base import DataSpec

NAME = "standin-digits-cnn"
N_TEST = 500


def digits16() -> dict:
    """{"train"/"test": (uint8 (N, 1, 16, 16), int64 (N,))}: scikit-learn's digits, 2× nearest upscale, fixed split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    u8 = np.round(d.images * (255 / 16)).astype(np.uint8).repeat(2, axis=1).repeat(2, axis=2)[:, None]
    perm = np.random.default_rng(0).permutation(len(u8))
    test, train = perm[:N_TEST], perm[N_TEST:]
    return {s: (torch.from_numpy(u8[i]), torch.from_numpy(d.target[i]).long()) for s, i in
            (("train", train), ("test", test))}


SPEC = DataSpec(name="standin_digits16", kind="image", shape=(1, 16, 16), n_classes=10, n_train=1297,
                source="test stand-in: scikit-learn digits, 2x upscaled")


class StandinCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(512, 64), nn.ReLU())
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        f = self.fc(self.conv(x))
        return f, self.out(f)


class StandinExtractor:
    """The evaluators' Extractor interface on the stand-in CNN; counts forward calls and samples seen."""

    def __init__(self, net: StandinCNN, accuracy: float, name: str = NAME):
        self.net = net.eval()
        self.name = name
        digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in net.parameters())).hexdigest()[:16]
        self.protocol = {"extractor": name, "content_hash": digest, "heldout_accuracy": accuracy}
        self.calls = 0
        self.seen = 0

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> dict:
        self.calls += 1
        self.seen += len(x)
        f, logits = self.net(x)
        return {"features": f, "logits": logits}

    @torch.no_grad()
    def layer_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.conv(x)


def to_float(u8: torch.Tensor) -> torch.Tensor:
    return u8.float() / 127.5 - 1.0


def train_standin(seed: int = 0, epochs: int = 12) -> StandinExtractor:
    data = digits16()
    torch.manual_seed(seed)
    net = StandinCNN()
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    x, y = to_float(data["train"][0]), data["train"][1]
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(128):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx])[1], y[idx]).backward()
            opt.step()
    with torch.no_grad():
        acc = float((net(to_float(data["test"][0]))[1].argmax(1) == data["test"][1]).float().mean())
    return StandinExtractor(net, acc)


_DATA: dict = {}


def real_images(split: str):
    """The data contract's `load_split` for the stand-in: (uint8 (N, 1, 16, 16), int64 (N,))."""
    if not _DATA:
        _DATA.update(digits16())
    return _DATA[split]


def real_source(extractor, split: str) -> dict:
    """The evaluators' `real_features` for the stand-in: features, logits and labels of a digits split."""
    if not _DATA:
        _DATA.update(digits16())
    u8, y = _DATA[split]
    with torch.no_grad():  # batches of 100, as torch-fidelity's in the end-to-end test: bit-equal features
        f, logits = (torch.cat(t) for t in zip(*(extractor.net(to_float(b)) for b in u8.split(100))))
    return {"features": f.numpy(), "logits": logits.numpy(), "labels": y.numpy()}


class StandinGenerator:
    """Method-like stand-ins on held-out digits: `oracle` draws random test digits (component k: digits of
    class k), `collapsed` returns one test digit every time. Draws use torch's global RNG (the evaluation fork)."""

    n_components = 10

    def __init__(self, kind: str, classifier: StandinCNN | None = None):
        if not _DATA:
            _DATA.update(digits16())
        self.kind = kind
        self.u8, self.y = _DATA["test"]
        self.device = torch.device("cpu")
        self.classifier = classifier
        self.sample_calls = 0

    def sample(self, n: int, *, scale: float = 1.0, component: int | None = None) -> torch.Tensor:
        self.sample_calls += 1
        if self.kind == "collapsed":
            return to_float(self.u8[:1].repeat(n, 1, 1, 1))
        pool = torch.arange(len(self.u8)) if component is None else torch.nonzero(self.y == component)[:, 0]
        idx = pool[torch.randint(0, len(pool), (n,))]
        x = to_float(self.u8[idx])
        # latent scale (a stand-in only): pixel noise of std 0.3·|σ − 1|, so σ ≠ 1 lowers quality
        return (x + (scale - 1.0) * 0.3 * torch.randn_like(x)).clamp(-1, 1) if scale != 1.0 else x

    def responsibilities(self, x: torch.Tensor) -> torch.Tensor | None:
        if self.classifier is None:
            return None
        with torch.no_grad():
            return torch.softmax(self.classifier(x)[1], dim=1)
