"""Hand-made runs for the report tests: a completed trial's row with every column the results tables require, and
a run folder written from (trial, metric rows) pairs through the real writers (write_trial_part, merge_parts)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from bench.results import merge_parts, write_json, write_trial_part

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def trial_row(tid: str, method: str, seed: int = 0, *, dataset: str = "grid25", suite: str = "s",
              profile: str = "p", hparams: str = "{}", steps: int = 100, status: str = "completed", **extra) -> dict:
    return {"trial_id": tid, "suite": suite, "profile": profile, "dataset": dataset, "method": method, "seed": seed,
            "status": status, "error": None, "steps": steps, "wall_s": 1.0, "device": "cpu", "node_id": "n",
            "n_params": 3, "hparams": hparams, "config_hash": "c", "code_version": "v", "started_at": NOW,
            "finished_at": NOW, **extra}


def write_run(run: Path, trials: list[tuple[dict, list[dict]]], metrics: list[str]) -> Path:
    """RUN/ with each (trial row, metric rows) written and merged, and a run.json naming the suite's metrics."""
    run.mkdir(parents=True, exist_ok=True)
    for trial, rows in trials:
        write_trial_part(run, trial, rows, [])
    merge_parts(run)
    first = trials[0][0]
    write_json(run / "run.json", {"run_id": run.name, "suite": first["suite"], "profile": first["profile"],
                                  "config_hash": "c", "suite_config": {"metrics": metrics}})
    return run
