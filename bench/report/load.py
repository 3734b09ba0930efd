"""Load one or several run folders into one set of tables (several runs merge; duplicate trials refused)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.errors import UserError
from bench.results import read_run

REFERENCE_METHODS = ("oracle", "collapsed")  # calibration rows: shown, never ranked


@dataclass
class RunData:
    runs: list[dict]  # each run.json
    run_dirs: list[Path]
    trials: pd.DataFrame
    metrics: pd.DataFrame
    samples: pd.DataFrame
    images: pd.DataFrame  # image grids (PNG bytes), image datasets only


def load_runs(run_dirs: list[Path]) -> RunData:
    runs, trials, metrics, samples, images = [], [], [], [], []
    for d in run_dirs:
        d = Path(d)
        if not (d / "trials.parquet").exists():
            hint = " (it has run.json: the run has not merged its results; `bench run --resume` finishes it)" \
                if (d / "run.json").exists() else ""
            raise UserError(f"{d}: not a run folder: no trials.parquet{hint}. A run folder is "
                            "ROOT/<suite>/<run_id>/ as printed by `bench run`")
        r = read_run(d)
        runs.append(r["run"])
        trials.append(r["trials"].assign(run_id=d.name))
        metrics.append(r["metrics"])
        samples.append(r["samples"])
        images.append(r["images"])
    t = pd.concat(trials, ignore_index=True)
    dup = t[t.duplicated("trial_id", keep=False)]
    if len(dup):
        ids = sorted(set(dup["trial_id"]))
        where = sorted(set(dup["run_id"]))
        raise UserError(f"the same trial appears in several runs ({len(ids)} trial ids, e.g. {ids[0]}, in runs "
                        f"{', '.join(where)}): merge runs of different methods/datasets/seeds, or report them "
                        "one at a time")
    return RunData(runs, [Path(d) for d in run_dirs], t, pd.concat(metrics, ignore_index=True),
                   pd.concat(samples, ignore_index=True), pd.concat(images, ignore_index=True))
