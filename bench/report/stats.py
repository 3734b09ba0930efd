"""Per (dataset, method, metric) statistics over seeds from the final evaluation of each trial.

mean ± sample std (ddof 1) and a 95 % Student-t interval mean ± t_{0.975, n−1}·std/√n; ranks per metric
by its `higher_is_better` among non-reference methods (reference rows are calibration, never ranked).
Only completed trials enter the statistics; diverged and failed trials are counted beside them.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from bench.report.load import REFERENCE_METHODS, RunData

CI_LEVEL = 0.95


def final_values(data: RunData, subset: str = "all") -> pd.DataFrame:
    """One row per completed trial and metric: the value at the trial's final evaluation step."""
    done = data.trials[data.trials["status"] == "completed"][["trial_id"]]
    m = data.metrics[(data.metrics["subset"] == subset) & data.metrics["sigma"].isna()]
    m = m.merge(done, on="trial_id")
    last = m.groupby("trial_id")["step"].transform("max")
    return m[m["step"] == last]


def t_interval(values: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float, float, float]:
    """(mean, std, ci_low, ci_high); std and the interval are NaN for fewer than 2 values."""
    n = len(values)
    mean = float(np.mean(values)) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def summarise(data: RunData, higher_is_better: dict[str, bool]) -> pd.DataFrame:
    """Tidy leaderboard: dataset, method, metric, n, mean, std, ci_low, ci_high, rank, + counts."""
    fv = final_values(data)
    rows = []
    counts = data.trials.groupby(["dataset", "method", "status"]).size().unstack(fill_value=0)
    for (dataset, method, metric), g in fv.groupby(["dataset", "method", "metric"]):
        mean, std, lo, hi = t_interval(g["value"].to_numpy())
        rows.append({"dataset": dataset, "method": method, "metric": metric, "n": len(g), "mean": mean,
                     "std": std, "ci_low": lo, "ci_high": hi, "step": int(g["step"].max())})
    out = pd.DataFrame(rows, columns=["dataset", "method", "metric", "n", "mean", "std", "ci_low", "ci_high", "step"])
    out["higher_is_better"] = out["metric"].map(higher_is_better)
    out["is_reference"] = out["method"].isin(REFERENCE_METHODS)
    out["rank"] = np.nan
    ranked = ~out["is_reference"]
    for (dataset, metric), g in out[ranked].groupby(["dataset", "metric"]):
        asc = not higher_is_better.get(metric, False)
        out.loc[g.index, "rank"] = g["mean"].rank(ascending=asc, method="min")
    for col in ("diverged", "failed"):
        out[f"n_{col}"] = [int(counts.loc[(d, m), col]) if col in counts.columns and (d, m) in counts.index else 0
                           for d, m in zip(out["dataset"], out["method"])]
    cols = ["dataset", "method", "metric", "n", "mean", "std", "ci_low", "ci_high", "rank", "higher_is_better",
            "is_reference", "n_diverged", "n_failed", "step"]
    return out[cols].sort_values(["dataset", "metric", "is_reference", "rank", "method"]).reset_index(drop=True)


def trial_counts(data: RunData) -> pd.DataFrame:
    """(dataset, method) -> completed / diverged / failed trial counts (every trial, whatever its metrics)."""
    c = data.trials.groupby(["dataset", "method", "status"]).size().unstack(fill_value=0)
    for s in ("completed", "diverged", "failed"):
        if s not in c.columns:
            c[s] = 0
    return c[["completed", "diverged", "failed"]].reset_index()
