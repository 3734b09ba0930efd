"""Stacked-MNIST figure (md-gan Table 3 as bars): per stacked dataset, the modes hit (`stacked_modes`, of 1,000)
and KL(p_gen ‖ uniform) (`stacked_kl`) at each trial's final evaluation, one group of bars per method and one
bar per variant (MD-GAN's D sizes B, S1/2, S1/4 in `suites/stacked_mnist.yaml`), mean with ± sample std over
seeds as error bars. Written only when the run has those metrics."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.report.figures import method_order, save  # noqa: E402
from bench.report.load import RunData  # noqa: E402

METRICS = (("stacked_modes", "modes hit (of 1,000; higher is better)"),
           ("stacked_kl", "KL(p_gen || uniform) (lower is better)"))
NO_VARIANT = "–"  # the bar of a trial run without a variant


def stacked_table(data: RunData) -> pd.DataFrame:
    """(dataset, method, variant, metric) -> n, mean, std (ddof 1; NaN for one seed) over completed trials'
    final values; `method` is the registered method (the groups), `variant` the bar ("–" for none)."""
    from bench.report.stats import final_values

    fv = final_values(data)
    fv = fv[fv["metric"].isin([m for m, _ in METRICS])]
    cols = ["dataset", "method", "variant", "metric", "n", "mean", "std"]
    if fv.empty:
        return pd.DataFrame(columns=cols)
    t = data.trials
    base = dict(zip(t["trial_id"], t["base_method"] if "base_method" in t else t["method"]))
    variant = dict(zip(t["trial_id"], t["variant"] if "variant" in t else [None] * len(t)))
    fv = fv.assign(method=fv["trial_id"].map(base),
                   variant=[NO_VARIANT if v is None or pd.isna(v) else v for v in fv["trial_id"].map(variant)])
    out = fv.groupby(["dataset", "method", "variant", "metric"])["value"].agg(["count", "mean", "std"]).reset_index()
    return out.rename(columns={"count": "n"})[cols]


def _variant_order(present) -> list[str]:
    """The trials without a variant first, then the variants sorted by name (B, S1/2, S1/4)."""
    present = set(present)
    return ([NO_VARIANT] if NO_VARIANT in present else []) + sorted(present - {NO_VARIANT})


def stacked_figure(data: RunData, out_dir: Path) -> list[Path]:
    """figures/stacked_modes_kl.{png,pdf}: per stacked dataset a row of two panels (modes, KL)."""
    table = stacked_table(data)
    if table.empty:
        return []
    datasets = sorted(set(table["dataset"]))
    variants = _variant_order(table["variant"])
    colors = dict(zip(variants, plt.get_cmap("tab10").colors))
    methods_all = method_order(table["method"])
    panel_w = max(3.5, 0.25 * len(methods_all) * len(variants) + 1.5)  # inches: room for every bar
    fig, axes = plt.subplots(len(datasets), len(METRICS), squeeze=False,
                             figsize=(panel_w * len(METRICS), 3.2 * len(datasets)))
    width = 0.8 / max(1, len(variants))
    for i, dataset in enumerate(datasets):
        d = table[table["dataset"] == dataset]
        methods = method_order(d["method"])
        for j, (metric, ylabel) in enumerate(METRICS):
            ax = axes[i][j]
            dm = d[d["metric"] == metric]
            for k, variant in enumerate(variants):
                g = dm[dm["variant"] == variant].set_index("method").reindex(methods)
                x = np.arange(len(methods)) + (k - (len(variants) - 1) / 2) * width
                err = g["std"].to_numpy(dtype=float)  # NaN for one seed: no error bar (matplotlib skips NaN)
                ax.bar(x, g["mean"], width, yerr=None if np.isnan(err).all() else err, capsize=2,
                       color=colors[variant],
                       label=variant if variant != NO_VARIANT else "no variant")
            ax.set_xticks(range(len(methods)), methods, rotation=60, fontsize=7)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_title(f"{dataset}: {metric}", fontsize=9)
            if metric == "stacked_modes":
                ax.axhline(1000, color="tab:red", ls="--", lw=0.8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=max(1, len(labels)), fontsize=8, title="D size (variant)",
               title_fontsize=8, bbox_to_anchor=(0.5, 1.12))
    fig.text(0.5, -0.02, "final evaluation; bars: mean over seeds, error bars ± std (none for one seed); dashed: "
             "1,000 classes", ha="center", fontsize=7)
    fig.tight_layout()
    return save(fig, Path(out_dir) / "stacked_modes_kl")
