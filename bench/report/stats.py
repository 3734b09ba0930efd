"""Statistics over seeds from each trial's final evaluation (the leaderboards' numbers).

Per (dataset, method, metric): mean ± sample std (ddof 1) and a 95 % Student-t interval
mean ± t_{0.975, n−1}·std/√n, clipped to the range the metric can take on that dataset (`Metric.bounds`, as
recorded in each trial's hparams: modes in [0, K], % HQ in [0, 100], divergences ≥ 0), so no interval shows
an impossible value; a rank per metric by its `higher_is_better` among non-reference methods
(reference rows are calibration, never ranked; methods that train on class labels are ranked only among
themselves, so the unsupervised ranking never includes them); for the best method, Welch's t-test against the runner-up
(`p_vs_next`): a best that is not significantly better (p ≥ 0.05) is marked. Only completed trials enter
the statistics; diverged and failed trials are counted beside them. Per-class / per-component rows
(subset ≠ "all") and σ-sweep rows never enter these numbers.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from scipy import stats

from bench.report.load import REFERENCE_METHODS, RunData

CI_LEVEL = 0.95
ALPHA = 0.05  # Welch's t-test level for "the best is significantly better than the runner-up"
TIDY_COLUMNS = ["dataset", "method", "metric", "n", "mean", "std", "ci_low", "ci_high", "rank", "rank_group",
                "method_label", "higher_is_better", "is_reference", "uses_labels", "paper_departure", "p_vs_next",
                "n_diverged", "n_failed", "step"]
UNSUPERVISED, SUPERVISED = "unsupervised", "uses labels"  # rank groups: a method that trains on labels is ranked
#                                                            only among such methods (from its needs_labels)


def _hparams(text) -> dict:
    try:
        return json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}


def method_info(data: RunData) -> pd.DataFrame:
    """(dataset, method) -> uses_labels and paper_departure, derived from each trial's recorded hparams:
    `needs_labels` (the method's class attribute, recorded by the trial; the registry's for a trial that never
    started) and the departures of its params from the method's paper-defining defaults
    (`bench.suites.paper_departures`), joined with "; " (several distinct parameter sets: each listed once)."""
    from bench.registry import METHODS
    from bench.suites import paper_departures

    rows = {}
    base = data.trials["base_method"] if "base_method" in data.trials else data.trials["method"]  # load.py
    for dataset, method, name, text in zip(data.trials["dataset"], data.trials["method"], base, data.trials["hparams"]):
        hp = _hparams(text)
        labels = hp.get("needs_labels")
        if labels is None:
            labels = bool(METHODS.get(name).needs_labels) if name in METHODS else False
        deps = paper_departures(name, hp.get("params") or {})
        info = rows.setdefault((dataset, method), {"uses_labels": False, "deps": []})
        info["uses_labels"] = info["uses_labels"] or bool(labels)
        info["deps"] += [d for d in deps if d not in info["deps"]]
    return pd.DataFrame([{"dataset": d, "method": m, "uses_labels": v["uses_labels"],
                          "paper_departure": "; ".join(v["deps"])} for (d, m), v in rows.items()],
                        columns=["dataset", "method", "uses_labels", "paper_departure"])


def final_values(data: RunData, subset: str = "all") -> pd.DataFrame:
    """One row per completed trial and metric: the value at the trial's final evaluation step."""
    done = data.trials[data.trials["status"] == "completed"][["trial_id"]]
    m = data.metrics[(data.metrics["subset"] == subset) & data.metrics["sigma"].isna()]
    m = m.merge(done, on="trial_id")
    last = m.groupby("trial_id")["step"].transform("max")
    return m[m["step"] == last]


def t_interval(values: np.ndarray, level: float = CI_LEVEL,
               bounds: tuple[float | None, float | None] = (None, None)) -> tuple[float, float, float, float]:
    """(mean, std, ci_low, ci_high); std and the interval are NaN for fewer than 2 values. The interval is
    clipped to `bounds` (lo, hi; None = open): the t-interval assumes normal values, and a bounded metric over
    a few seeds (e.g. modes 0, 0, 2) would otherwise print values it can never take."""
    n = len(values)
    mean = float(np.mean(values)) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    lo, hi = mean - half, mean + half
    if bounds[0] is not None:
        lo = max(lo, bounds[0])
    if bounds[1] is not None:
        hi = min(hi, bounds[1])
    return mean, std, lo, hi


def metric_ranges(data: RunData) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(dataset, metric) -> (lo, hi) the metric can take there: from each trial's hparams
    (`metrics.<name>.value_range`, recorded by the trial from `Metric.bounds` and the dataset's spec); for runs
    recorded before ranges were, from the metric registry and the registered dataset; else unbounded."""
    import json

    out: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    for dataset, hp in zip(data.trials["dataset"], data.trials["hparams"]):
        try:
            recorded = json.loads(hp or "{}").get("metrics", {})
        except (TypeError, ValueError):
            continue
        for name, rec in recorded.items() if isinstance(recorded, dict) else ():
            rng = rec.get("value_range") if isinstance(rec, dict) else None
            if rng is not None and (dataset, name) not in out:
                out[(dataset, name)] = (rng[0], rng[1])
    for dataset, name in set(zip(data.metrics["dataset"], data.metrics["metric"])) - set(out):
        out[(dataset, name)] = _registry_range(dataset, name)
    return out


def _registry_range(dataset: str, metric: str) -> tuple[float | None, float | None]:
    from bench.data import get_spec
    from bench.registry import DATASETS, METRICS

    if metric not in METRICS or dataset not in DATASETS:
        return (None, None)
    m = METRICS.get(metric)
    spec = get_spec(dataset)
    return m.value_range(spec) if m.not_applicable(spec) is None else (None, None)


def welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Welch's t-test p-value; NaN when a side has fewer than 2 values. Equal constant samples
    (zero variance on both sides) give p = 1 if the means are equal, else 0."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if np.std(a) == 0 and np.std(b) == 0:
        return 1.0 if np.mean(a) == np.mean(b) else 0.0
    import warnings

    with warnings.catch_warnings():  # nearly identical samples: scipy warns about precision; p is still valid
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def summarise(data: RunData, higher_is_better: dict[str, bool]) -> pd.DataFrame:
    """The tidy leaderboard (TIDY_COLUMNS), one row per (dataset, method, metric)."""
    fv = final_values(data)
    ranges = metric_ranges(data)
    rows = []
    for (dataset, method, metric), g in fv.groupby(["dataset", "method", "metric"]):
        mean, std, lo, hi = t_interval(g["value"].to_numpy(), bounds=ranges.get((dataset, metric), (None, None)))
        rows.append({"dataset": dataset, "method": method, "metric": metric, "n": len(g), "mean": mean,
                     "std": std, "ci_low": lo, "ci_high": hi, "step": int(g["step"].max())})
    out = pd.DataFrame(rows, columns=["dataset", "method", "metric", "n", "mean", "std", "ci_low", "ci_high", "step"])
    out["higher_is_better"] = out["metric"].map(higher_is_better)
    out["is_reference"] = out["method"].isin(REFERENCE_METHODS)
    info = method_info(data).set_index(["dataset", "method"])
    keys = list(zip(out["dataset"], out["method"]))
    out["uses_labels"] = [bool(info.loc[k, "uses_labels"]) if k in info.index else False for k in keys]
    out["paper_departure"] = [info.loc[k, "paper_departure"] if k in info.index else "" for k in keys]
    from bench.report.leaderboard import marked

    out["method_label"] = [marked(m, d, u) for m, d, u in zip(out["method"], out["paper_departure"], out["uses_labels"])]
    out["rank_group"] = np.where(out["is_reference"], "reference",
                                 np.where(out["uses_labels"], SUPERVISED, UNSUPERVISED))
    out["rank"] = np.nan
    out["p_vs_next"] = np.nan
    # Ranks and the runner-up test within each rank group: labels never compete with unsupervised methods.
    for (dataset, metric, _), g in out[~out["is_reference"]].groupby(["dataset", "metric", "rank_group"]):
        asc = not higher_is_better.get(metric, False)
        out.loc[g.index, "rank"] = g["mean"].rank(ascending=asc, method="min")
        order = g.sort_values("mean", ascending=asc)
        if len(order) >= 2:
            best, second = order.iloc[0]["method"], order.iloc[1]["method"]
            vals = fv[(fv["dataset"] == dataset) & (fv["metric"] == metric)]
            out.loc[order.index[0], "p_vs_next"] = welch_p(vals[vals["method"] == best]["value"].to_numpy(),
                                                           vals[vals["method"] == second]["value"].to_numpy())
    counts = trial_counts(data).set_index(["dataset", "method"])
    for col in ("diverged", "failed"):
        out[f"n_{col}"] = [int(counts.loc[(d, m), col]) if (d, m) in counts.index else 0
                           for d, m in zip(out["dataset"], out["method"])]
    return out[TIDY_COLUMNS].sort_values(["dataset", "metric", "is_reference", "uses_labels", "rank", "method"]) \
        .reset_index(drop=True)


def trial_counts(data: RunData) -> pd.DataFrame:
    """(dataset, method) -> completed / diverged / failed trial counts (every trial, whatever its metrics)."""
    c = data.trials.groupby(["dataset", "method", "status"]).size().unstack(fill_value=0)
    for s in ("completed", "diverged", "failed"):
        if s not in c.columns:
            c[s] = 0
    return c[["completed", "diverged", "failed"]].reset_index()


def costs(data: RunData) -> pd.DataFrame:
    """(dataset, method) -> n_params, wall_s (mean per completed trial) and steps/s (mean of steps / wall time;
    NaN for the untrained references)."""
    t = data.trials[data.trials["status"] == "completed"].copy()
    trained = (t["n_params"] > 0) & (t["steps"] > 0) & (t["wall_s"] > 0)
    t["steps_per_s"] = np.where(trained, t["steps"] / t["wall_s"].where(t["wall_s"] > 0), np.nan)
    out = t.groupby(["dataset", "method"]).agg(n_params=("n_params", "median"), wall_s=("wall_s", "mean"),
                                                steps_per_s=("steps_per_s", "mean")).reset_index()
    return out


def group_ranks(summary: pd.DataFrame, groups: dict[str, list[str]]) -> pd.DataFrame:
    """Mean rank per (group, method, metric) over the group's datasets where the method was ranked, with the
    number of datasets behind it (n_datasets) and its rank group (methods using labels are ranked apart)."""
    rows = []
    ranked = summary[~summary["is_reference"] & summary["rank"].notna()]
    if "rank_group" not in ranked:
        ranked = ranked.assign(rank_group=UNSUPERVISED)
    for group, datasets in groups.items():
        g = ranked[ranked["dataset"].isin(datasets)]
        for (method, metric, rank_group), gm in g.groupby(["method", "metric", "rank_group"]):
            rows.append({"group": group, "method": method, "metric": metric, "mean_rank": gm["rank"].mean(),
                         "n_datasets": gm["dataset"].nunique(), "of": len(datasets), "rank_group": rank_group})
    return pd.DataFrame(rows, columns=["group", "method", "metric", "mean_rank", "n_datasets", "of", "rank_group"])
