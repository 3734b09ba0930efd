"""The self-contained HTML report (`report/index.html`): inline CSS and JavaScript, relative image links,
sortable leaderboards, provenance of every run, paper vs ours, figures. The page checks that its images
loaded and says so (body[data-images-loaded] = "loaded/total", and a visible warning if any failed)."""
from __future__ import annotations

import html
import math

import pandas as pd

from bench.report.leaderboard import fmt

CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1500px;padding:0 1em;color:#222}
nav a{margin-right:1em}table{border-collapse:collapse;margin:0.6em 0 1.6em;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f2f2f2}
table.sortable th{cursor:pointer}table.sortable th:hover{background:#e4e4e4}
td.best{font-weight:bold;background:#e8f5e9}.tie{color:#b26a00;font-weight:bold}
tr.reference td{color:#555;font-style:italic;background:#fafafa}.note{color:#555;font-size:0.9em}
img{max-width:100%;border:1px solid #ddd;margin:0.4em 0 1.2em}#img-warning{display:none;background:#fdecea;
color:#611a15;padding:0.6em;border:1px solid #f5c2c0}.small{font-size:0.85em;color:#555}"""

JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort;
        if (x === undefined) { x = a.cells[col].textContent; } if (y === undefined) { y = b.cells[col].textContent; }
        var nx = parseFloat(x), ny = parseFloat(y);
        if (isNaN(nx) && isNaN(ny)) { return asc ? String(x).localeCompare(y) : String(y).localeCompare(x); }
        if (isNaN(nx)) { return 1; } if (isNaN(ny)) { return -1; }
        return asc ? nx - ny : ny - nx;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.dataset.imagesLoaded = ok + '/' + imgs.length;
  if (ok < imgs.length) { var w = document.getElementById('img-warning');
    w.textContent = (imgs.length - ok) + ' figure(s) failed to load: is the figures/ folder next to this page?';
    w.style.display = 'block'; }
});
"""


def _provenance(runs: list[dict], trials: pd.DataFrame) -> str:
    rows = []
    for run in runs:
        m = run.get("machine", {})
        counts = run.get("counts") or {}
        git = run.get("git") or {}
        commit = (git.get("commit") or "–")[:10] + (" (dirty)" if git.get("dirty") else "")
        wall = run.get("wall_s")
        cells = [run.get("run_id", "?"), run.get("suite", "?"), run.get("profile", "?"),
                 str(run.get("config_hash", "?"))[:16], run.get("code_version", "?"), commit,
                 ", ".join(map(str, run.get("seeds", []))),
                 " · ".join(f"{v} {k}" for k, v in counts.items()) or "–",
                 f"{m.get('cpu', '?')} ×{m.get('cpu_count', '?')}" + (f"; GPUs: {', '.join(m['gpus'])}" if m.get("gpus") else ""),
                 "–" if wall is None or (isinstance(wall, float) and math.isnan(wall)) else f"{fmt(wall)} s",
                 f"{run.get('started_at', '?')} → {run.get('finished_at', '?')}"]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    head = ["run", "suite", "profile", "config hash", "code version", "git commit", "seeds", "trials", "machine",
            "wall time", "started → finished"]
    return ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _paper_section(table: pd.DataFrame) -> str:
    seen = table[table["status"].isin(("compared", "protocol differs"))]
    counts = table["status"].value_counts().to_dict()
    summary = " · ".join(f"{v} {k}" for k, v in counts.items())
    if seen.empty:
        return (f"<p>{html.escape(summary)}: no trial of this report measures a number the papers print. See "
                "<a href='paper_vs_ours.md'>paper_vs_ours.md</a> for every number and its protocol.</p>")
    head = ["paper", "source", "dataset", "method", "metric", "paper", "± means", "origin", "ours (mean ± std, n)",
            "ours − paper", "status"]
    rows = []
    for _, r in seen.iterrows():
        pm = r["paper_pm"]
        paper = fmt(r["paper_value"]) + ("" if pm is None or (isinstance(pm, float) and math.isnan(pm)) else f" ± {fmt(pm)}")
        ours = "–" if not r["ours_n"] else (fmt(r["ours_mean"]) + ("" if r["ours_n"] < 2 else f" ± {fmt(r['ours_std'])}")
                                              + f" (n={r['ours_n']})")
        origin = "measured" if r["origin"] == "measured" else f"quoted from {r['quoted_from']}"
        cells = [r["paper"], r["source"], r["dataset"], r["method"], r["metric"], paper, r["pm_meaning"], origin,
                 ours, fmt(r["diff"]), r["status"]]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return (f"<p class='small'>{html.escape(summary)}. Compared only under the paper's protocol; full list with "
            "the numbers not run here: <a href='paper_vs_ours.md'>paper_vs_ours.md</a>, "
            "<a href='paper_vs_ours.csv'>.csv</a>, <a href='paper_vs_ours.tex'>.tex</a>.</p>"
            "<table class='sortable'><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def index_html(*, runs: list[dict], trials: pd.DataFrame, notes: list[str], boards_html: str, groups_html: str,
               paper: pd.DataFrame, figures: list, per_class_html: str = "", best_html: str = "") -> str:
    figs = "".join(f"<h3>{html.escape(p.stem.replace('_', ' '))}</h3><img src='figures/{html.escape(p.name)}' "
                   f"alt='{html.escape(p.stem)}'> <a class='small' href='figures/{html.escape(p.with_suffix('.pdf').name)}'>"
                   "PDF</a>" for p in figures if p.suffix == ".png")
    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    groups = f"<h2 id='groups'>Dataset groups</h2>{groups_html}" if groups_html else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>modebench report</title><style>{CSS}</style></head>
<body>
<h1>modebench report</h1>
<nav><a href="#provenance">provenance</a><a href="#leaderboards">leaderboards</a>{'<a href="#groups">groups</a>' if groups else ''}<a href="#paper">paper vs ours</a><a href="#figures">figures</a></nav>
<div id="img-warning"></div>
<h2 id="provenance">Provenance</h2>{_provenance(runs, trials)}
<ul class="note">{note_html}</ul>
<h2 id="leaderboards">Leaderboards</h2>
<p class="small">Click a column header to sort. Files: <a href="leaderboard.md">leaderboard.md</a> ·
<a href="leaderboard.csv">leaderboard.csv</a> (tidy) · <a href="leaderboard.tex">leaderboard.tex</a>.</p>
{boards_html}
{groups}
<h2 id="paper">Paper vs ours</h2>{_paper_section(paper)}
{"<h2 id='per-class'>Per-class tables</h2><p class='small'><a href='per_class.md'>per_class.md</a> · <a href='per_class.csv'>per_class.csv</a></p>" + per_class_html if per_class_html else ""}
{"<h2 id='best'>Best over evaluations</h2><p class='small'><a href='best_over_evaluations.md'>best_over_evaluations.md</a> · <a href='best_over_evaluations.csv'>best_over_evaluations.csv</a></p>" + best_html if best_html else ""}
<h2 id="figures">Figures</h2>{figs}
<script>{JS}</script>
</body></html>
"""
