"""`bench report RUN_DIR [RUN_DIR …] [--out DIR]`: every report file from the Parquet tables only, each written
atomically: leaderboard.{md,csv,html,tex}, paper_vs_ours.{md,csv,tex}, figures/*.{png,pdf}, index.html."""
from __future__ import annotations

import os
from pathlib import Path

from bench.errors import UserError
from bench.report.load import load_runs
from bench.results import atomic_write


class EmptyRun(Exception):
    """A run with no completed trial: nothing to report (exit 1)."""


def _higher_is_better(data) -> dict[str, bool]:
    from bench.registry import METRICS

    names = set(data.metrics["metric"])
    return {n: METRICS.get(n).higher_is_better for n in names if n in METRICS}


def _metric_order(data) -> list[str]:
    order = []
    for run in data.runs:
        for m in run.get("suite_config", {}).get("metrics", []):
            if m not in order:
                order.append(m)
    for m in sorted(set(data.metrics["metric"])):
        if m not in order:
            order.append(m)
    return order


def _groups(data) -> dict[str, list[str]]:
    present = set(data.trials["dataset"])
    groups: dict[str, list[str]] = {}
    for run in data.runs:
        for name, datasets in run.get("suite_config", {}).get("dataset_groups", {}).items():
            kept = [d for d in datasets if d in present]
            if len(kept) >= 2:
                groups.setdefault(name, kept)
    return groups


def _notes(data) -> list[str]:
    from bench.report.stats import ALPHA

    notes = []
    for run in data.runs:
        cfg = run.get("suite_config", {})
        notes.append(f"run {run.get('run_id', '?')}: suite {run.get('suite', '?')}, profile {run.get('profile', '?')}, "
                     f"seeds {run.get('seeds', '?')}, code {run.get('code_version', '?')}, "
                     f"config {str(run.get('config_hash', '?'))[:8]}")
        if cfg.get("hparams_note"):
            notes.append(f"hyper-parameters: {' '.join(cfg['hparams_note'].split())}")
    notes.append("cells: mean ± std [95 % Student-t interval, clipped to the range the metric can take: modes in "
                 "[0, K], % HQ in [0, 100], divergences ≥ 0] over seeds at each trial's final evaluation step; "
                 f"best (rank 1) in bold, ≈ where Welch's t-test does not find it better than the runner-up "
                 f"(p ≥ {ALPHA}, or n < 2); only completed trials enter a cell and the trials column counts the "
                 "diverged/failed ones; oracle/collapsed are calibration rows, never ranked; methods that train on "
                 "the class labels (‡) are ranked only among themselves; † marks a method whose parameters depart "
                 "from its paper's (each board's footnotes say how); cost columns: parameters, mean wall time per "
                 "trial, training steps per second")
    return list(dict.fromkeys(notes))


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def build_report(run_dirs: list[Path], out_dir: Path | None = None) -> Path:
    """Write the report; returns the path of index.html. Raises EmptyRun (nothing written) when no trial
    completed, UserError on bad input."""
    from bench.report import (best_tables, figures, html, image_figures, image_tables, leaderboard, paper,
                              stacked_figures, stats)

    run_dirs = [Path(d) for d in run_dirs]
    if not run_dirs:
        raise UserError("bench report: give at least one run folder (ROOT/<suite>/<run_id>/)")
    data = load_runs(run_dirs)
    if not (data.trials["status"] == "completed").any():
        counts = data.trials["status"].value_counts().to_dict()
        raise EmptyRun(f"no completed trial in {', '.join(map(str, run_dirs))} (trials: {counts or 'none'}); "
                       "nothing to report")
    out_dir = Path(out_dir) if out_dir else run_dirs[0] / "report"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out {out_dir}: cannot create the report folder ({e})") from None
    if not os.access(out_dir, os.W_OK):
        raise UserError(f"--out {out_dir}: not writable")
    hib = _higher_is_better(data)
    order = _metric_order(data)
    summary = stats.summarise(data, hib)
    counts = stats.trial_counts(data)
    groups = _groups(data)
    notes = _notes(data)

    info = stats.method_info(data)
    boards = leaderboard.dataset_boards(summary, counts, stats.costs(data), order, hib, info)
    gboards = leaderboard.group_boards(stats.group_ranks(summary, groups), groups, order, info)
    atomic_write(out_dir / "leaderboard.csv", lambda tmp: summary.to_csv(tmp, index=False))
    _write_text(out_dir / "leaderboard.md", leaderboard.to_markdown(boards + gboards, notes))
    boards_html, groups_html = leaderboard.to_html(boards), leaderboard.to_html(gboards)
    _write_text(out_dir / "leaderboard.html", f"<!doctype html><html><head><meta charset='utf-8'><title>Leaderboard"
                f"</title><style>{html.CSS}</style></head><body><h1>Leaderboard</h1>{boards_html}{groups_html}"
                f"<script>{html.JS}</script></body></html>")
    _write_text(out_dir / "leaderboard.tex", leaderboard.to_latex(boards + gboards, notes))

    pvo = paper.paper_vs_ours(data)
    atomic_write(out_dir / "paper_vs_ours.csv", lambda tmp: pvo.to_csv(tmp, index=False))
    _write_text(out_dir / "paper_vs_ours.md", paper.to_markdown(pvo))
    _write_text(out_dir / "paper_vs_ours.tex", paper.to_latex(pvo))

    per_class = image_tables.per_class(data)  # m-IS / class-share per predicted class (image runs)
    per_class_html = image_tables.to_html(per_class)
    if len(per_class):
        atomic_write(out_dir / "per_class.csv", lambda tmp: per_class.to_csv(tmp, index=False))
        _write_text(out_dir / "per_class.md", image_tables.to_markdown(per_class))

    best = best_tables.best_over_evaluations(data, hib)  # PCM-GAN's "best over epochs" reading, labelled
    if len(best):
        atomic_write(out_dir / "best_over_evaluations.csv", lambda tmp: best.to_csv(tmp, index=False))
        _write_text(out_dir / "best_over_evaluations.md", best_tables.to_markdown(best))

    fig_dir = out_dir / "figures"
    figs = (figures.samples_figure(data, fig_dir) + figures.components_figure(data, fig_dir)
            + figures.coverage_figure(summary, data, fig_dir) + figures.qd_figures(data, fig_dir)
            + figures.rank_heatmap(summary, fig_dir) + figures.curves_figures(data, hib, fig_dir)
            + image_figures.image_grids_figure(data, fig_dir) + image_figures.component_grids_figure(data, fig_dir)
            + stacked_figures.stacked_figure(data, fig_dir))
    _write_text(out_dir / "index.html", html.index_html(runs=data.runs, trials=data.trials, notes=notes,
                                                         boards_html=boards_html, groups_html=groups_html,
                                                         paper=pvo, figures=figs, per_class_html=per_class_html,
                                                         best_html=best_tables.to_html(best)))
    return out_dir / "index.html"
