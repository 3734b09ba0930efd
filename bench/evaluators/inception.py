"""Where torch-fidelity's Inception weights are, checked BEFORE any trial (the driver calls
`check_inception_weights` after building a plan whose metrics need Inception). Nothing here downloads:
torch-fidelity's own download has no timeout and could hang on a network that drops packets.

Lookup order: an explicit path (`bench run --inception-weights PATH`) > `$MODEBENCH_INCEPTION_WEIGHTS` >
torch-fidelity's own place, `$TORCH_HOME/hub/checkpoints/<file>` (TORCH_HOME defaults to
`$XDG_CACHE_HOME/torch`, else `~/.cache/torch`, as torch.hub does). Light: no torch import.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from bench.errors import UserError

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_WEIGHTS_FILE}"
INCEPTION_ENV = "MODEBENCH_INCEPTION_WEIGHTS"
# issue 13's naming: no suffix = Inception. A metric record may also say so itself (protocol["extractor"]).
INCEPTION_METRICS = frozenset({"fid", "is", "kid", "precision", "recall"})


def torch_home() -> Path:
    """torch.hub's folder, computed as torch.hub._get_torch_home does (without importing torch)."""
    if os.environ.get("TORCH_HOME"):
        return Path(os.environ["TORCH_HOME"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "torch"


def default_weights_path() -> Path:
    return torch_home() / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILE


def check_inception_weights(path: str | os.PathLike | None = None, *, needed_by: str = "") -> Path:
    """The Inception weights file to use, or UserError naming the file, where it was looked for and the fix."""
    if path is not None:
        where, tried = f"--inception-weights {path}", [Path(path).expanduser()]
    elif os.environ.get(INCEPTION_ENV):
        where, tried = f"${INCEPTION_ENV}={os.environ[INCEPTION_ENV]}", [Path(os.environ[INCEPTION_ENV]).expanduser()]
    else:
        where, tried = "torch-fidelity's default location", [default_weights_path()]
    p = tried[0]
    if p.is_file() and p.stat().st_size > 0:
        return p.resolve()
    what = "is not a file" if not p.exists() or p.is_dir() else "is empty"
    need = f" (needed by {needed_by})" if needed_by else ""
    raise UserError(
        f"Inception weights missing{need}: {where}: {p} {what}. The Inception metrics use torch-fidelity's "
        f"inception-v3-compat network, whose weights file {INCEPTION_WEIGHTS_FILE} torch-fidelity looks for at "
        f"$TORCH_HOME/hub/checkpoints/{INCEPTION_WEIGHTS_FILE} (here: {default_weights_path()}; TORCH_HOME "
        f"defaults to ~/.cache/torch) and cannot download on this machine. Fix: fetch {INCEPTION_URL} where "
        f"there is internet, then pass `bench run --inception-weights PATH` or set {INCEPTION_ENV}=PATH (or "
        f"copy it to {default_weights_path()}); or drop the Inception metrics "
        f"({', '.join(sorted(INCEPTION_METRICS))}): "
        "the _dom metrics need no download.")


def metric_needs_inception(name: str, dataset: str | None = None) -> bool:
    """Whether metric `name` reads Inception features (on `dataset`: a metric that does not apply to it, e.g.
    `fid` on a 2-D set, needs nothing there)."""
    from bench.registry import DATASETS, METRICS

    rec = METRICS.get(name) if name in METRICS else None
    said = getattr(rec, "extractor", None) or (getattr(rec, "protocol", None) or {}).get("extractor")
    needs = said in ("inception", "inception-v3-compat") if said is not None else name in INCEPTION_METRICS
    if needs and rec is not None and dataset is not None and dataset in DATASETS and hasattr(rec, "not_applicable"):
        from bench.data import get_spec

        return rec.not_applicable(get_spec(dataset)) is None
    return needs


def check_plan_inception(metrics: Iterable[tuple[str, str | None] | str], path=None) -> Path | None:
    """Driver-side check before any trial. `metrics`: (metric, dataset) pairs of the plan's trials (or bare
    metric names). Returns the weights file when a metric needs Inception or a path was given (a given path must
    exist), else None."""
    pairs = [(m, None) if isinstance(m, str) else tuple(m) for m in metrics]
    needing = sorted({m for m, d in pairs if metric_needs_inception(m, d)})
    if not needing and path is None:
        return None
    return check_inception_weights(path, needed_by=", ".join(needing))
