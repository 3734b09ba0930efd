"""Figures from the Parquet tables (matplotlib/seaborn, PNG + PDF): generated 2-D samples over the true
modes (methods × datasets, one seed, final step) and each metric against training step (band: ± std over
seeds). The true modes come from the dataset description recorded in each trial's hparams."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.report.load import REFERENCE_METHODS, RunData  # noqa: E402


def save(fig, path_stem: Path) -> list[Path]:
    path_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        p = path_stem.with_suffix(f".{ext}")
        fig.savefig(p, dpi=110, bbox_inches="tight")
        paths.append(p)
    plt.close(fig)
    return paths


def dataset_modes(data: RunData) -> dict[str, dict]:
    """dataset -> {'means': (K, 2), 'stds': (K,)} from the hparams the trials recorded."""
    out = {}
    for hp in data.trials["hparams"]:
        try:
            d = json.loads(hp).get("dataset", {})
        except ValueError:
            continue
        if d.get("mixture") and d["name"] not in out:
            out[d["name"]] = {"means": np.array(d["mixture"]["means"]), "stds": np.array(d["mixture"]["stds"])}
    return out


def method_labels(data: RunData) -> dict[str, str]:
    """method -> its name as the tables show it: † if its params depart from its paper's on some dataset, ‡ if it
    trains on labels (stats.method_info, from the hparams)."""
    from bench.report.leaderboard import marked
    from bench.report.stats import method_info

    info = method_info(data)
    return {m: marked(m, "x" if any(g["paper_departure"]) else "", bool(g["uses_labels"].any()))
            for m, g in info.groupby("method")}


def method_order(methods) -> list[str]:
    methods = sorted(set(methods))
    return [m for m in methods if m not in REFERENCE_METHODS] + [m for m in REFERENCE_METHODS if m in methods]


def samples_figure(data: RunData, out_dir: Path) -> list[Path]:
    s = data.samples[data.samples["component"].isna()]
    if s.empty:
        return []
    modes = dataset_modes(data)
    datasets = sorted(set(s["dataset"]))
    methods = method_order(s["method"])
    names = method_labels(data)
    fig, axes = plt.subplots(len(datasets), len(methods), figsize=(2.3 * len(methods), 2.3 * len(datasets)),
                             squeeze=False)
    status = data.trials.set_index("trial_id")["status"]
    for i, dataset in enumerate(datasets):
        mode = modes.get(dataset)
        if mode is not None:
            lo, hi = mode["means"].min(0), mode["means"].max(0)
            pad = 0.2 * (hi - lo) + 4 * mode["stds"].max()
            lim = (lo - pad, hi + pad)
        for j, method in enumerate(methods):
            ax = axes[i, j]
            sub = s[(s["dataset"] == dataset) & (s["method"] == method)]
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(names.get(method, method), fontsize=9)
            if j == 0:
                ax.set_ylabel(dataset, fontsize=9)
            if mode is not None:
                ax.set_xlim(lim[0][0], lim[1][0]), ax.set_ylim(lim[0][1], lim[1][1])
                ax.set_aspect("equal")
                for (mx, my), sd in zip(mode["means"], mode["stds"]):
                    ax.add_patch(plt.Circle((mx, my), 3 * sd, fill=False, color="tab:red", lw=0.6, alpha=0.7))
            if sub.empty:
                ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes, fontsize=8)
                continue
            seed = sub["seed"].min()
            sub = sub[sub["seed"] == seed]
            step = sub["step"].max()
            pts = sub[sub["step"] == step]
            ax.scatter(pts["x"], pts["y"], s=2, color="tab:blue", alpha=0.5, linewidths=0)
            tid = pts["trial_id"].iloc[0]
            label = f"seed {seed}, step {step}"
            if status.get(tid) not in (None, "completed"):
                label += f" ({status.get(tid)})"
            if mode is not None:
                out = ((pts["x"] < lim[0][0]) | (pts["x"] > lim[1][0]) | (pts["y"] < lim[0][1]) | (pts["y"] > lim[1][1])).sum()
                if out:
                    label += f", {out} outside"
            ax.text(0.02, 0.02, label, transform=ax.transAxes, fontsize=6, color="0.3")
    fig.tight_layout()
    fig.suptitle("Generated samples (blue) over the true modes (red: 3σ circles)", fontsize=10, y=1.0)
    return save(fig, out_dir / "samples")


def figure_legend(fig, axes, y: float) -> list[str]:
    """One legend above the panels with every method drawn in ANY panel (runs merged from separate sweeps give
    panels with different methods), each once, in method order. Returns the labels."""
    seen: dict[str, object] = {}
    for ax in np.ravel(axes):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    labels = method_order(seen)
    fig.legend([seen[k] for k in labels], labels, loc="upper center", ncol=min(len(labels), 8), fontsize=7,
               bbox_to_anchor=(0.5, y))
    return labels


def curves_figures(data: RunData, higher_is_better: dict[str, bool], out_dir: Path) -> list[Path]:
    import seaborn as sns

    m = data.metrics[(data.metrics["subset"] == "all") & data.metrics["sigma"].isna()]
    if m.empty:
        return []
    paths = []
    methods = method_order(m["method"])
    palette = dict(zip(methods, sns.color_palette("tab10" if len(methods) <= 10 else "husl", len(methods))))
    for metric in sorted(set(m["metric"])):
        mm = m[m["metric"] == metric]
        datasets = sorted(set(mm["dataset"]))
        fig, axes = plt.subplots(1, len(datasets), figsize=(3.6 * len(datasets), 3.2), squeeze=False)
        for ax, dataset in zip(axes[0], datasets):
            d = mm[mm["dataset"] == dataset]
            for method in method_order(d["method"]):
                dm = d[d["method"] == method]
                agg = dm.groupby("step")["value"].agg(["mean", "std", "count"]).reset_index()
                style = "--" if method in REFERENCE_METHODS else "-"
                ax.plot(agg["step"], agg["mean"], style, color=palette[method], label=method, lw=1.2,
                        marker="o" if len(agg) < 3 else None, ms=3)
                band = agg["std"].fillna(0)
                ax.fill_between(agg["step"], agg["mean"] - band, agg["mean"] + band, color=palette[method], alpha=0.15)
            ax.set_title(dataset, fontsize=9)
            ax.set_xlabel("training step")
            ax.tick_params(labelsize=7)
        hib = higher_is_better.get(metric)
        axes[0][0].set_ylabel(f"{metric} ({'higher' if hib else 'lower'} is better)")
        figure_legend(fig, axes, 1.08)
        fig.tight_layout()
        paths += save(fig, out_dir / f"curve_{metric}")
    return paths


def coverage_figure(summary: pd.DataFrame, data: RunData, out_dir: Path) -> list[Path]:
    """Modes covered per method (mean ± std over seeds, final step) per dataset, with the true mode count."""
    cov = summary[summary["metric"] == "modes"]
    if cov.empty:
        return []
    modes = dataset_modes(data)
    datasets = sorted(set(cov["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.2 * len(datasets), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        g = cov[cov["dataset"] == dataset].set_index("method").reindex(method_order(cov[cov["dataset"] == dataset]["method"]))
        colors = ["0.6" if m in REFERENCE_METHODS else "tab:blue" for m in g.index]
        ax.bar(range(len(g)), g["mean"], yerr=g["std"].fillna(0), color=colors, capsize=2)
        if dataset in modes:
            ax.axhline(len(modes[dataset]["means"]), color="tab:red", ls="--", lw=1, label="true modes")
        names = method_labels(data)
        ax.set_xticks(range(len(g)), [names.get(m, m) for m in g.index], rotation=70, fontsize=7)
        ax.set_title(dataset, fontsize=9)
    axes[0][0].set_ylabel("modes covered (3σ, 2,500 samples)")
    fig.tight_layout()
    return save(fig, out_dir / "coverage")


def components_figure(data: RunData, out_dir: Path) -> list[Path]:
    """Per-component samples (one colour per latent Gaussian / generator) for the multi-component methods,
    final step, one seed: do components specialise on modes (MGAN Fig. 6, GM-GAN Fig. 3)?"""
    s = data.samples[data.samples["component"].notna()]
    if s.empty:
        return []
    modes = dataset_modes(data)
    datasets = sorted(set(s["dataset"]))
    methods = method_order(s["method"])
    names = method_labels(data)
    fig, axes = plt.subplots(len(datasets), len(methods), figsize=(2.3 * len(methods), 2.3 * len(datasets)),
                             squeeze=False)
    for i, dataset in enumerate(datasets):
        for j, method in enumerate(methods):
            ax = axes[i, j]
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(names.get(method, method), fontsize=9)
            if j == 0:
                ax.set_ylabel(dataset, fontsize=9)
            sub = s[(s["dataset"] == dataset) & (s["method"] == method)]
            if dataset in modes:
                _frame(ax, modes[dataset])
            if sub.empty:
                continue
            sub = sub[sub["seed"] == sub["seed"].min()]
            sub = sub[sub["step"] == sub["step"].max()]
            ax.scatter(sub["x"], sub["y"], c=sub["component"], cmap="tab20", s=2, linewidths=0)
    fig.tight_layout()
    fig.suptitle("Samples by latent component / generator (colour)", fontsize=10, y=1.0)
    return save(fig, out_dir / "components")


def _frame(ax, mode: dict) -> None:
    lo, hi = mode["means"].min(0), mode["means"].max(0)
    pad = 0.2 * (hi - lo) + 4 * mode["stds"].max()
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0]), ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    ax.set_aspect("equal")
    for (mx, my), sd in zip(mode["means"], mode["stds"]):
        ax.add_patch(plt.Circle((mx, my), 3 * sd, fill=False, color="0.5", lw=0.5))


# (quality metric, diversity metric, figure stem): 2-D analogue (qd_*) and images (gm-gan Eq. 7 vs Eq. 10, Fig. 7)
QD_PAIRS = (("qd_quality", "qd_diversity", "quality_diversity"),
            ("gm_quality", "gm_diversity", "quality_diversity_images"))


def qd_figures(data: RunData, out_dir: Path) -> list[Path]:
    return [p for q, d, stem in QD_PAIRS for p in qd_figure(data, out_dir, q, d, stem)]


def qd_limits(values, bounds: tuple[float, float] = (0.0, 1.0), min_span: float = 0.05) -> tuple[float, float]:
    """Axis limits that hold every value with an 8 % margin, at least `min_span` wide, never past the metric's bounds
    (both QD metrics are fractions in [0, 1]): fixed [0, 1] axes squash curves that differ by hundredths."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return bounds[0] - 0.02, bounds[1] + 0.02
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < min_span:
        mid = (lo + hi) / 2
        lo, hi = mid - min_span / 2, mid + min_span / 2
    pad = 0.08 * (hi - lo)
    return max(bounds[0] - 0.02, lo - pad), min(bounds[1] + 0.02, hi + pad)


def qd_figure(data: RunData, out_dir: Path, quality: str = "qd_quality", diversity: str = "qd_diversity",
              stem: str = "quality_diversity") -> list[Path]:
    """Quality against diversity over the latent scale σ (GM-GAN Fig. 7; qd_*: its 2-D analogue): mean over seeds
    per σ; the marker shows σ = 1 (the training scale). Each panel's axes zoom to its curves (qd_limits)."""
    import seaborn as sns

    m = data.metrics[data.metrics["sigma"].notna() & data.metrics["metric"].isin([quality, diversity])
                     & (data.metrics["subset"].fillna("all") == "all")]
    done = set(data.trials[data.trials["status"] == "completed"]["trial_id"])
    m = m[m["trial_id"].isin(done)]
    if m.empty:
        return []
    wide = m.pivot_table(index=["dataset", "method", "seed", "sigma"], columns="metric", values="value").reset_index()
    if not {quality, diversity} <= set(wide.columns):
        return []
    datasets = sorted(set(wide["dataset"]))
    methods = method_order(wide["method"])
    palette = dict(zip(methods, sns.color_palette("tab10" if len(methods) <= 10 else "husl", len(methods))))
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.6 * len(datasets), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        d = wide[wide["dataset"] == dataset]
        means = d.groupby(["method", "sigma"])[[quality, diversity]].mean()
        for method in method_order(d["method"]):
            curve = means.loc[method].reset_index()
            style = "--" if method in REFERENCE_METHODS else "-"
            ax.plot(curve[diversity], curve[quality], style, lw=1, label=method, color=palette[method])
            at1 = curve[curve["sigma"].round(6) == 1.0]
            ax.plot(at1[diversity], at1[quality], "o", color=palette[method], ms=3)
        ax.set_title(dataset, fontsize=9)
        ax.set_xlabel(f"diversity {diversity} (σ from 0.5 to 2)")
        ax.set_xlim(*qd_limits(means[diversity])), ax.set_ylim(*qd_limits(means[quality]))
    axes[0][0].set_ylabel(f"quality {quality}")
    figure_legend(fig, axes, 1.1)
    fig.tight_layout()
    return save(fig, out_dir / stem)


def heatmap_tables(summary: pd.DataFrame) -> dict[str, tuple[str, pd.DataFrame]]:
    """stem -> (title, mean rank table method label × dataset): the unsupervised methods, and apart from them the
    methods that train on labels (each ranked within its own group by stats.summarise)."""
    r = summary[~summary["is_reference"] & summary["rank"].notna()]
    if "uses_labels" not in r:
        r = r.assign(uses_labels=False, method_label=r["method"])
    out = {}
    for labels, stem, title in ((False, "rank_heatmap", "Rank heat map, unsupervised methods (lower is better)"),
                                (True, "rank_heatmap_labels", "Rank heat map, methods using class labels ‡, "
                                                              "ranked among themselves")):
        part = r[r["uses_labels"] == labels]
        if part.empty:
            continue
        table = part.groupby(["method", "dataset"])["rank"].mean().unstack()
        table = table.loc[table.mean(axis=1).sort_values().index]
        # one row per method, marked † if its params depart from its paper's on any dataset shown
        label = part.groupby("method")["method_label"].agg(lambda s: max(s, key=len))
        out[stem] = (title, table.rename(index=label.to_dict()))
    return out


def rank_heatmap(summary: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Mean rank over each dataset's metrics, methods × datasets (lower is better; references are unranked). The
    unsupervised methods get one map; methods that train on labels (ranked among themselves) a second one."""
    import seaborn as sns

    paths = []
    for stem, (title, table) in heatmap_tables(summary).items():
        fig, ax = plt.subplots(figsize=(1.2 + 1.1 * table.shape[1], 0.9 + 0.35 * table.shape[0]))
        sns.heatmap(table, annot=True, fmt=".1f", cmap="viridis_r", cbar_kws={"label": "mean rank over metrics"},
                    ax=ax, annot_kws={"fontsize": 7})
        ax.set_xlabel(""), ax.set_ylabel("")
        ax.set_title(title, fontsize=10)
        fig.tight_layout()
        paths += save(fig, out_dir / stem)
    return paths
