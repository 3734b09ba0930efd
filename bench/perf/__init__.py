"""Timings of the harness (`make perf`, `python -m bench.perf.run_all`): never test assertions."""
from __future__ import annotations

from pathlib import Path


def write_json(path: str | None, res: dict) -> None:
    """Write a benchmark's results as JSON (atomically) when `--json PATH` was given."""
    if path:
        from bench.results import write_json as atomic_json

        atomic_json(Path(path), res)
