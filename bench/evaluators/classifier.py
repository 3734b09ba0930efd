"""Train a family's domain classifier once, cache it by content hash, refuse it below its required accuracy.

Cache: `cache_root()/evaluators/<family>-<hash16>/` holds `model.pt` ({arch, state_dict, accuracy, threshold,
content_hash}) and `info.json` (everything recorded in the protocol), written atomically in that order;
`<family>-<hash16>.lock` beside it (filelock) makes concurrent trials that need the same classifier train it
once (the others wait, then read the cache). The hash covers the architecture, the training settings (seed
included), the training and held-out data (sha256 of their bytes) and the code (sha256 of the network module and
of the training functions' source): any change retrains into a new entry; the old one is left in place.
A missing, unreadable or inconsistent entry is rebuilt (with a warning).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F

from bench.errors import UserError
from bench.evaluators import nets
from bench.evaluators.families import Family, TrainSettings


class EvaluatorAccuracyError(RuntimeError):
    """A domain classifier under its family's required held-out accuracy: metrics must not use it."""


def cache_root() -> Path:
    """`$MODEBENCH_CACHE`, else `~/.cache/modebench`."""
    return Path(os.environ.get("MODEBENCH_CACHE") or Path.home() / ".cache" / "modebench").expanduser()


def load_split(name: str, split: str, data_root=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 (N, C, H, W), int64 (N,)) CPU tensors of a real split, through the image data package."""
    try:
        from bench.data.images import load_split as _load
    except ImportError as e:
        raise UserError(f"dataset {name!r}: the image data loaders (bench.data.images) are not in this install "
                        f"({e}); domain classifiers need the real {split} split") from None
    x, y = _load(name, split, data_root)
    return torch.as_tensor(x), torch.as_tensor(y).long()


def to_float(u8: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float32 in [-1, 1] (the data package's convention)."""
    return u8.float() / 127.5 - 1


def _augment(x: torch.Tensor, how: str, g: torch.Generator) -> torch.Tensor:
    """x (n, C, H, W) float. crop_flip: per-sample random crop of the 4-px zero-padded image + horizontal flip."""
    if how == "none":
        return x
    n, c, h, w = x.shape
    p = F.pad(x, (4, 4, 4, 4))
    oy, ox = (torch.randint(0, 9, (n,), generator=g).to(x.device) for _ in range(2))
    rows = (oy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    x = p[torch.arange(n, device=x.device)[:, None, None, None], torch.arange(c, device=x.device)[None, :, None, None],
          rows, cols]
    flip = (torch.rand(n, generator=g) < 0.5).to(x.device)[:, None, None, None]
    return torch.where(flip, x.flip(-1), x)


def train_classifier(arch: dict, settings: TrainSettings, x: torch.Tensor, y: torch.Tensor,
                     device="cpu") -> torch.nn.Module:
    """`settings.steps` Adam steps on cross-entropy over the training split (uint8 images), in batches of a seeded
    permutation reshuffled every epoch.
    Runs under a forked RNG so a trial's own random streams are the same whether or not it trained this."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else [], device_type="cuda"):
        torch.manual_seed(settings.seed)
        g = torch.Generator().manual_seed(settings.seed)
        net = nets.build_net(arch).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        x, y = x.to(device), y.to(device)
        net.train()
        bs, perm, pos = min(settings.batch_size, len(x)), None, len(x)
        for _ in range(settings.steps):
            if pos + bs > len(x):  # a new epoch: reshuffle (the last incomplete batch is dropped)
                perm, pos = torch.randperm(len(x), generator=g).to(device), 0
            idx, pos = perm[pos:pos + bs], pos + bs
            xb = _augment(to_float(x[idx]), settings.augment, g)
            loss = F.cross_entropy(net(xb)[1], y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval().requires_grad_(False)


@torch.no_grad()
def accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    dev = next(net.parameters()).device
    hits = sum(int((net(to_float(x[i:i + batch].to(dev)))[1].argmax(1).cpu() == y[i:i + batch]).sum())
               for i in range(0, len(x), batch))
    return hits / len(x)


def data_hash(*arrays: torch.Tensor) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = a.contiguous().cpu().numpy()
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def code_hash() -> str:
    """sha256 of the network module and the training functions: a change to either retrains."""
    src = inspect.getsource(nets) + "".join(inspect.getsource(f) for f in (train_classifier, _augment, to_float))
    return hashlib.sha256(src.encode()).hexdigest()


def content_hash(family: Family, dhash: str) -> str:
    key = {"arch": family.arch, "train": family.train.describe(), "data": dhash, "code": code_hash()}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def _read_entry(entry: Path, key: str, device) -> tuple[torch.nn.Module, dict] | None:
    """The cached (net, info), or None when missing; a damaged entry warns and returns None (rebuilt)."""
    model, info_file = entry / "model.pt", entry / "info.json"
    if not model.exists() and not info_file.exists():
        return None
    try:
        info = json.loads(info_file.read_text())
        ck = torch.load(model, map_location="cpu", weights_only=True)
        if info["content_hash"] != key or ck["content_hash"] != key:
            raise ValueError("content hash does not match the entry's name")
        net = nets.build_net(ck["arch"])
        net.load_state_dict(ck["state_dict"])
    except Exception as e:  # any damage (truncated file, bad JSON, wrong keys): rebuild
        warnings.warn(f"evaluator cache entry {entry} is damaged ({type(e).__name__}: {e}); retraining it")
        return None
    return net.to(device).eval().requires_grad_(False), info


def get_classifier(family: Family, device="cpu", *, data_root=None, cache_dir: Path | None = None,
                   trainer=train_classifier) -> tuple[torch.nn.Module, dict, Path]:
    """(trained net on `device`, info, cache entry folder). Trains and caches on a miss (once across processes);
    raises EvaluatorAccuracyError when its held-out accuracy is under the family's threshold."""
    from filelock import FileLock

    xtr, ytr = load_split(family.dataset, "train", data_root)
    xte, yte = load_split(family.dataset, "test", data_root)
    dhash = data_hash(xtr, ytr, xte, yte)
    key = content_hash(family, dhash)
    root = Path(cache_dir) if cache_dir is not None else cache_root() / "evaluators"
    root.mkdir(parents=True, exist_ok=True)
    entry = root / f"{family.name}-{key[:16]}"
    with FileLock(str(entry) + ".lock"):
        got = _read_entry(entry, key, device)
        if got is None:
            t0 = time.perf_counter()
            net = trainer(family.arch, family.train, xtr, ytr, device)
            train_s = time.perf_counter() - t0
            acc = accuracy(net, xte, yte)
            info = {"family": family.name, "dataset": family.dataset, "content_hash": key,
                    "architecture": family.arch, "training": family.train.describe(), "data_hash": dhash,
                    "code_hash": code_hash(), "n_train": len(xtr), "n_heldout": len(xte),
                    "heldout_accuracy": acc, "train_seconds": round(train_s, 2), "train_device": str(device),
                    "torch": torch.__version__, "created_at": datetime.now(timezone.utc).isoformat()}
            entry.mkdir(exist_ok=True)
            state = {k: v.cpu() for k, v in net.state_dict().items()}
            ck = {"arch": family.arch, "state_dict": state, "content_hash": key, "family": family.name,
                  "heldout_accuracy": acc, "threshold": family.threshold}
            _atomic_write(entry / "model.pt", lambda p: torch.save(ck, p))
            _atomic_write(entry / "info.json", lambda p: p.write_text(json.dumps(info, indent=1, sort_keys=True)))
            got = net, info
    net, info = got
    check_accuracy(info["heldout_accuracy"], family.threshold, family.name, family.why, entry)
    return net, info, entry


def check_accuracy(acc: float, threshold: float, family: str, why: str, where) -> None:
    if not acc >= threshold:
        raise EvaluatorAccuracyError(
            f"the {family} domain classifier reaches {100 * acc:.2f} % held-out accuracy, under the required "
            f"{100 * threshold:.0f} % ({why}); metrics refuse it. Its cache entry is kept for inspection at "
            f"{where}; change its architecture or training settings in bench/evaluators/families.py (a new "
            "content hash retrains it)")
