"""Leaderboard tables per dataset: methods × metrics, mean ± std [95 % t-interval] over seeds, best marked,
the oracle / collapsed calibration rows below the ranked methods. Formats: md, csv (tidy), html, tex."""
from __future__ import annotations

import html
import math

import pandas as pd

from bench.report.load import REFERENCE_METHODS


def fmt(x: float | None, sig: int = 3) -> str:
    """3 significant digits (more before the point if needed); scientific outside [1e-3, 1e5); NaN -> '–'."""
    if x is None or math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 1e5 or a < 1e-3:
        return f"{x:.2e}"
    decimals = max(0, sig - 1 - math.floor(math.log10(a)))
    return f"{x:.{decimals}f}"


def cell_text(r) -> str:
    """'mean ± std [lo, hi]' (n < 2: 'mean', no spread)."""
    if r["n"] < 2:
        return fmt(r["mean"])
    return f"{fmt(r['mean'])} ± {fmt(r['std'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"


def _method_order(g: pd.DataFrame, counts: pd.DataFrame, dataset: str) -> tuple[list[str], list[str]]:
    methods = sorted(set(g["method"]) | set(counts[counts["dataset"] == dataset]["method"]))
    ranked = [m for m in methods if m not in REFERENCE_METHODS]
    if len(g):
        mean_rank = g[~g["is_reference"]].groupby("method")["rank"].mean()
        ranked.sort(key=lambda m: (mean_rank.get(m, math.inf), m))
    refs = [m for m in REFERENCE_METHODS if m in methods]
    return ranked, refs


def _grid(summary: pd.DataFrame, counts: pd.DataFrame, dataset: str, metrics: list[str]):
    """Rows of (method, is_reference, {metric: (text, is_best)}, counts) for one dataset."""
    g = summary[summary["dataset"] == dataset]
    ranked, refs = _method_order(g, counts, dataset)
    c = counts[counts["dataset"] == dataset].set_index("method")
    rows = []
    for m in ranked + refs:
        cells = {}
        for metric in metrics:
            hit = g[(g["method"] == m) & (g["metric"] == metric)]
            if len(hit):
                r = hit.iloc[0]
                cells[metric] = (cell_text(r), bool(r["rank"] == 1))
            else:
                cells[metric] = ("–", False)
        cnt = c.loc[m] if m in c.index else None
        rows.append((m, m in REFERENCE_METHODS, cells, cnt))
    return rows


def _trials_text(cnt) -> str:
    if cnt is None:
        return "0"
    extra = [f"{int(cnt[s])} {s}" for s in ("diverged", "failed") if int(cnt[s])]
    return f"{int(cnt['completed'])}" + (f" ({', '.join(extra)})" if extra else "")


def _metrics_for(summary: pd.DataFrame, dataset: str, metric_order: list[str]) -> list[str]:
    present = set(summary[summary["dataset"] == dataset]["metric"])
    return [m for m in metric_order if m in present]


def arrow(hib: bool | None) -> str:
    return "↑" if hib else "↓"


def to_markdown(summary, counts, metric_order, hib, notes: list[str]) -> str:
    out = ["# Leaderboard", ""]
    out += [f"- {n}" for n in notes] + [""]
    for dataset in sorted(set(counts["dataset"])):
        metrics = _metrics_for(summary, dataset, metric_order)
        out += [f"## {dataset}", ""]
        head = ["method", "trials"] + [f"{m} {arrow(hib.get(m))}" for m in metrics]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for m, is_ref, cells, cnt in _grid(summary, counts, dataset, metrics):
            name = f"*{m} (reference)*" if is_ref else m
            vals = [f"**{t}**" if best else t for t, best in (cells[x] for x in metrics)]
            out.append("| " + " | ".join([name, _trials_text(cnt)] + vals) + " |")
        out.append("")
    return "\n".join(out)


def to_html(summary, counts, metric_order, hib, notes: list[str]) -> str:
    parts = []
    for dataset in sorted(set(counts["dataset"])):
        metrics = _metrics_for(summary, dataset, metric_order)
        head = "".join(f"<th title='{'higher' if hib.get(m) else 'lower'} is better'>{html.escape(m)} "
                       f"{arrow(hib.get(m))}</th>" for m in metrics)
        body = []
        for m, is_ref, cells, cnt in _grid(summary, counts, dataset, metrics):
            tds = "".join(f"<td class='{'best' if best else ''}'>{html.escape(t)}</td>"
                          for t, best in (cells[x] for x in metrics))
            cls = " class='reference'" if is_ref else ""
            label = html.escape(m) + (" <small>(reference)</small>" if is_ref else "")
            body.append(f"<tr{cls}><td>{label}</td><td>{html.escape(_trials_text(cnt))}</td>{tds}</tr>")
        parts.append(f"<h2 id='lb-{html.escape(dataset)}'>{html.escape(dataset)}</h2>\n<table class='leaderboard'>"
                     f"<thead><tr><th>method</th><th>trials</th>{head}</tr></thead><tbody>{''.join(body)}"
                     "</tbody></table>")
    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f"<ul class='notes'>{note_html}</ul>\n" + "\n".join(parts)


def standalone_html(fragment: str, title: str = "Leaderboard") -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{fragment}</body></html>")


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}
td.best{font-weight:bold;background:#e8f5e9}tr.reference td{color:#555;font-style:italic;background:#fafafa}
.notes{color:#444}img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}"""


def _tex_escape(s: str) -> str:
    return s.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&") \
        .replace("#", r"\#")


UP, DOWN = r" $\uparrow$", r" $\downarrow$"


def to_latex(summary, counts, metric_order, hib, notes: list[str]) -> str:
    """booktabs tables, one per dataset: mean ± std (best in bold, reference rows in italics)."""
    out = ["% modebench leaderboard; needs \\usepackage{booktabs}", *(f"% {n}" for n in notes), ""]
    for dataset in sorted(set(counts["dataset"])):
        metrics = _metrics_for(summary, dataset, metric_order)
        g = summary[summary["dataset"] == dataset]
        out += ["\\begin{table}[t]", "\\centering", "\\small",
                f"\\caption{{{_tex_escape(dataset)}: mean $\\pm$ std over seeds (final step); best in bold.}}",
                "\\begin{tabular}{l" + "r" * len(metrics) + "}", "\\toprule",
                "Method & " + " & ".join(_tex_escape(m) + (UP if hib.get(m) else DOWN) for m in metrics) + r" \\",
                "\\midrule"]
        ranked, refs = _method_order(g, counts, dataset)
        for block, names in (("ranked", ranked), ("refs", refs)):
            if block == "refs" and names:
                out.append("\\midrule")
            for m in names:
                vals = []
                for metric in metrics:
                    hit = g[(g["method"] == m) & (g["metric"] == metric)]
                    if not len(hit):
                        vals.append("--")
                        continue
                    r = hit.iloc[0]
                    t = fmt(r["mean"]) + ("" if r["n"] < 2 else f" $\\pm$ {fmt(r['std'])}")
                    vals.append(f"\\textbf{{{t}}}" if r["rank"] == 1 else t)
                name = _tex_escape(m)
                name = f"\\textit{{{name}}}" if m in REFERENCE_METHODS else name
                out.append(name + " & " + " & ".join(vals) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(out)
