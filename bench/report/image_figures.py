"""Image figures from `images.parquet` (PNG grids the trials kept; bench/imagegrid.py): the final generated grid
per method × dataset beside a grid of real training images, and per-component grids (8 images per latent
component / generator: MGAN Fig. 5, GM-GAN Fig. 8). One seed (the lowest completed), final evaluation step."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.imagegrid import MAX_COMPONENTS, decode  # noqa: E402
from bench.report.figures import method_order, save  # noqa: E402
from bench.report.load import RunData  # noqa: E402



def _final(images: pd.DataFrame, data: RunData) -> pd.DataFrame:
    """Rows of completed trials, one seed per (dataset, method) (the lowest), at that trial's last step."""
    done = set(data.trials[data.trials["status"] == "completed"]["trial_id"])
    g = images[images["trial_id"].isin(done)]
    if g.empty:
        return g
    lowest = g.groupby(["dataset", "method"])["seed"].transform("min")
    g = g[g["seed"] == lowest]
    last = g.groupby("trial_id")["step"].transform("max")
    return g[g["step"] == last]


def _show(ax, png: bytes | None, title: str | None = None) -> None:
    ax.set_xticks([]), ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)
    if png is None:
        ax.text(0.5, 0.5, "no images", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        return
    ax.imshow(decode(png), interpolation="nearest")


def image_grids_figure(data: RunData, out_dir: Path) -> list[Path]:
    """Per image dataset: real training images, then each method's 64 generated images (final step)."""
    paths: list[Path] = []
    gen = _final(data.images[data.images["kind"] == "generated"], data)
    real = data.images[data.images["kind"] == "real"]
    for dataset in sorted(set(gen["dataset"])):
        d = gen[gen["dataset"] == dataset]
        methods = method_order(d["method"])
        r = real[real["dataset"] == dataset]
        cols = ["real (training set)"] + methods
        ncol = min(6, len(cols))
        nrow = -(-len(cols) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.8 * nrow), squeeze=False)
        for ax in axes.flat[len(cols):]:
            ax.axis("off")
        _show(axes.flat[0], r["png"].iloc[0] if len(r) else None, cols[0])
        for ax, method in zip(axes.flat[1:], methods):
            row = d[d["method"] == method]
            _show(ax, row["png"].iloc[0], f"{method} (seed {int(row['seed'].iloc[0])}, step {int(row['step'].iloc[0])})")
        fig.suptitle(f"{dataset}: generated samples at the final evaluation", fontsize=10)
        fig.tight_layout()
        paths += save(fig, out_dir / f"images_{dataset}")
    return paths


def component_grids_figure(data: RunData, out_dir: Path) -> list[Path]:
    """Per image dataset: one panel per multi-component method, row k = 8 images from component k."""
    paths: list[Path] = []
    comp = _final(data.images[data.images["kind"] == "component"], data)
    for dataset in sorted(set(comp["dataset"])):
        d = comp[comp["dataset"] == dataset]
        methods = method_order(d["method"])
        fig, axes = plt.subplots(1, len(methods), figsize=(2.6 * len(methods), 0.4 + 0.33 * MAX_COMPONENTS),
                                 squeeze=False)
        for ax, method in zip(axes[0], methods):
            rows = d[d["method"] == method].sort_values("component")
            shown = rows.head(MAX_COMPONENTS)
            stacked = np.concatenate([decode(p) for p in shown["png"]], axis=0)
            more = f", first {len(shown)} components" if len(shown) == MAX_COMPONENTS else ""
            ax.imshow(stacked, interpolation="nearest")
            ax.set_xticks([])
            h = stacked.shape[0] / len(shown)
            ax.set_yticks([(k + 0.5) * h for k in range(len(shown))], [str(int(c)) for c in shown["component"]],
                          fontsize=6)
            ax.set_title(f"{method}{more}", fontsize=9)
        axes[0][0].set_ylabel("component / generator")
        fig.suptitle(f"{dataset}: 8 samples per latent component / generator (final step)", fontsize=10)
        fig.tight_layout()
        paths += save(fig, out_dir / f"components_{dataset}")
    return paths
