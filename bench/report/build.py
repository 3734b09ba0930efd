"""`bench report RUN_DIR [RUN_DIR …] [--out DIR]`: every report file, written atomically, from Parquet only."""
from __future__ import annotations

import html
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


def _notes(data) -> list[str]:
    notes = []
    for run in data.runs:
        cfg = run.get("suite_config", {})
        notes.append(f"run {run.get('run_id', '?')}: suite {run.get('suite', '?')}, profile {run.get('profile', '?')}, "
                     f"seeds {run.get('seeds', '?')}, code {run.get('code_version', '?')}, "
                     f"config {str(run.get('config_hash', '?'))[:8]}")
        if cfg.get("hparams_note"):
            notes.append(f"hyper-parameters: {cfg['hparams_note'].strip()}")
    notes.append("cells: mean ± std [95 % Student-t interval] over seeds at each trial's final evaluation step; "
                 "best (rank 1) in bold; only completed trials enter a cell; the trials column counts "
                 "diverged/failed trials; oracle/collapsed are calibration rows (never ranked)")
    return list(dict.fromkeys(notes))


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def build_report(run_dirs: list[Path], out_dir: Path | None = None) -> Path:
    """Write the report; returns the path of index.html. Raises EmptyRun (nothing written) when no trial
    completed, UserError on bad input."""
    from bench.report import figures, leaderboard, stats

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
    notes = _notes(data)

    atomic_write(out_dir / "leaderboard.csv", lambda tmp: summary.to_csv(tmp, index=False))
    _write_text(out_dir / "leaderboard.md", leaderboard.to_markdown(summary, counts, order, hib, notes))
    lb_html = leaderboard.to_html(summary, counts, order, hib, notes)
    _write_text(out_dir / "leaderboard.html", leaderboard.standalone_html(lb_html))
    _write_text(out_dir / "leaderboard.tex", leaderboard.to_latex(summary, counts, order, hib, notes))
    fig_dir = out_dir / "figures"
    figs = figures.samples_figure(data, fig_dir) + figures.curves_figures(data, hib, fig_dir)
    imgs = "".join(f"<h3>{html.escape(p.stem)}</h3><img src='figures/{html.escape(p.name)}' alt='{html.escape(p.stem)}'>"
                   for p in figs if p.suffix == ".png")
    index = leaderboard.standalone_html(
        lb_html + "<p>Also: <a href='leaderboard.md'>leaderboard.md</a> · <a href='leaderboard.csv'>leaderboard.csv"
        "</a> · <a href='leaderboard.tex'>leaderboard.tex</a></p><h2>Figures</h2>" + imgs,
        title="modebench report")
    _write_text(out_dir / "index.html", index)
    return out_dir / "index.html"
