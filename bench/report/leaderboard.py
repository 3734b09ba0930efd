"""Leaderboard tables: per dataset, methods × metrics with mean ± std [95 % t-interval] over seeds, the best
per column in bold (≈ where Welch's test does not find it better than the runner-up), calibration rows
(oracle, collapsed) below the ranked methods, trial counts and cost columns; per dataset group, the mean rank.
One model (`Board`) is built once and rendered to Markdown, HTML and LaTeX."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import pandas as pd

from bench.report.load import REFERENCE_METHODS
from bench.report.stats import ALPHA, UNSUPERVISED

TIE = "≈"  # beside a best value that Welch's test does not find better than the runner-up (p ≥ 0.05 or n < 2)
VARIANT = "†"  # beside a method whose params depart from its paper's (derived from the hparams: paper_departure)
LABELS = "‡"  # beside a method that trains on class labels (its needs_labels): ranked only among such methods
LABELS_NOTE = (f"{LABELS} trains on the class labels (needs_labels): ranked only among the methods that do, never in "
               "the unsupervised ranking")


def marked(method: str, departure: str = "", uses_labels: bool = False) -> str:
    """The method's name as every table shows it: † for a departure from its paper's parameters, ‡ for labels."""
    return method + (VARIANT if departure else "") + (LABELS if uses_labels else "")


def footnotes(rows: list["Row"]) -> list[str]:
    notes = [f"{VARIANT} {r.method}: {r.departure}" for r in rows if r.departure]
    return notes + ([LABELS_NOTE] if any(r.uses_labels for r in rows) else [])


def fmt(x: float | None, sig: int = 3) -> str:
    """3 significant digits (more before the point if needed); scientific outside [1e-3, 1e5); NaN -> '–'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
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


@dataclass
class Cell:
    text: str  # 'mean ± std [lo, hi]' (or 'mean' for n < 2, or a mean rank for group boards)
    short: str  # 'mean ± std' for LaTeX
    sort: float  # the value the HTML sorts by
    best: bool = False
    tie: bool = False  # best, but not significantly better than the runner-up
    title: str = ""  # HTML tooltip: n, interval, p-value


@dataclass
class Row:
    method: str
    is_reference: bool
    trials: str  # '3 (1 diverged)'
    cells: dict[str, Cell | None]
    cost: dict[str, str] = field(default_factory=dict)
    departure: str = ""  # how its params depart from its paper's ("" = the paper's parameters)
    uses_labels: bool = False

    @property
    def label(self) -> str:
        return marked(self.method, self.departure, self.uses_labels)


@dataclass
class Board:
    title: str
    anchor: str
    metrics: list[str]
    hib: dict[str, bool]
    rows: list[Row]
    kind: str = "dataset"  # or "group"
    note: str = ""

    @property
    def footnotes(self) -> list[str]:
        return footnotes(self.rows)


def arrow(hib: bool | None) -> str:
    return "↑" if hib else "↓"


def _trials_text(cnt) -> str:
    if cnt is None:
        return "0"
    extra = [f"{int(cnt[s])} {s}" for s in ("diverged", "failed") if int(cnt[s])]
    return f"{int(cnt['completed'])}" + (f" ({', '.join(extra)})" if extra else "")


def _cell(r) -> Cell:
    n = int(r["n"])
    if n < 2:
        text = short = fmt(r["mean"])
        title = f"n = {n}: no spread"
    else:
        short = f"{fmt(r['mean'])} ± {fmt(r['std'])}"
        text = f"{short} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
        title = f"n = {n}; 95 % t-interval clipped to the metric's range [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
    best = bool(r["rank"] == 1)
    p = r["p_vs_next"]
    tie = best and (math.isnan(p) or p >= ALPHA)
    if best and not math.isnan(p):
        title += f"; Welch p vs runner-up = {p:.3g}"
    elif best:
        title += "; runner-up comparison not testable (n < 2 or no runner-up)"
    return Cell(text, short, float(r["mean"]), best, tie, title)


def dataset_boards(summary: pd.DataFrame, counts: pd.DataFrame, costs: pd.DataFrame, metric_order: list[str],
                   hib: dict[str, bool], info: pd.DataFrame | None = None) -> list[Board]:
    """One board per dataset; `info` (stats.method_info): each method's paper departure and use of labels."""
    boards = []
    for dataset in sorted(set(counts["dataset"])):
        g = summary[summary["dataset"] == dataset]
        metrics = [m for m in metric_order if m in set(g["metric"])]
        methods = sorted(set(g["method"]) | set(counts[counts["dataset"] == dataset]["method"]))
        mi = info[info["dataset"] == dataset].set_index("method") if info is not None else None
        dep = {m: (mi.loc[m, "paper_departure"] if mi is not None and m in mi.index else "") for m in methods}
        lab = {m: (bool(mi.loc[m, "uses_labels"]) if mi is not None and m in mi.index else False) for m in methods}
        ranked = [m for m in methods if m not in REFERENCE_METHODS]
        mean_rank = g[~g["is_reference"]].groupby("method")["rank"].mean()
        # unsupervised methods first, then those using labels (ranked among themselves), each by mean rank
        ranked.sort(key=lambda m: (lab[m], mean_rank.get(m, math.inf), m))
        refs = [m for m in REFERENCE_METHODS if m in methods]
        c = counts[counts["dataset"] == dataset].set_index("method")
        k = costs[costs["dataset"] == dataset].set_index("method")
        n_ranked = g[~g["is_reference"]].groupby(["metric", "uses_labels"])["method"].nunique() \
            if "uses_labels" in g else g[~g["is_reference"]].groupby("metric")["method"].nunique()
        rows = []
        for m in ranked + refs:
            cells = {}
            for metric in metrics:
                hit = g[(g["method"] == m) & (g["metric"] == metric)]
                cell = _cell(hit.iloc[0]) if len(hit) else None
                key = (metric, lab[m]) if "uses_labels" in g else metric
                if cell is not None and n_ranked.get(key, 0) < 2:
                    cell.tie = False  # nothing to be better than
                    cell.best = cell.best and not lab[m]  # a lone label-using method is best of nothing
                cells[metric] = cell
            cost = {}
            if m in k.index:
                cost = {"params": fmt(float(k.loc[m, "n_params"])) if k.loc[m, "n_params"] else "0",
                        "wall_s": fmt(float(k.loc[m, "wall_s"])), "steps_per_s": fmt(float(k.loc[m, "steps_per_s"]))}
            rows.append(Row(m, m in REFERENCE_METHODS, _trials_text(c.loc[m] if m in c.index else None), cells, cost,
                            dep[m], lab[m]))
        boards.append(Board(dataset, f"lb-{dataset}", metrics, hib, rows))
    return boards


def group_boards(group_ranks: pd.DataFrame, groups: dict[str, list[str]], metric_order: list[str],
                 info: pd.DataFrame | None = None) -> list[Board]:
    boards = []
    for group, datasets in groups.items():
        g = group_ranks[group_ranks["group"] == group]
        if g.empty:
            continue
        if "rank_group" not in g:
            g = g.assign(rank_group=UNSUPERVISED)
        metrics = [m for m in metric_order if m in set(g["metric"])]
        mi = info[info["dataset"].isin(datasets)] if info is not None else None
        lab = g.groupby("method")["rank_group"].first().ne(UNSUPERVISED).to_dict()
        overall = g.groupby("method")["mean_rank"].mean()
        order = sorted(overall.index, key=lambda m: (lab[m], overall[m], m))
        # best per metric within each rank group (labels are never compared with the unsupervised methods)
        size = g.groupby(["metric", "rank_group"])["method"].transform("nunique")
        contested = g[(size >= 2) | (g["rank_group"] == UNSUPERVISED)]  # a lone label-using method is best of nothing
        best = set(zip(*[contested.loc[contested.groupby(["metric", "rank_group"])["mean_rank"].idxmin(), c]
                         for c in ("metric", "method")])) if len(contested) else set()
        rows = []
        for m in order:
            cells = {}
            for metric in metrics:
                hit = g[(g["method"] == m) & (g["metric"] == metric)]
                if not len(hit):
                    cells[metric] = None
                    continue
                r = hit.iloc[0]
                text = f"{r['mean_rank']:.2f}" + ("" if r["n_datasets"] == r["of"] else f" ({r['n_datasets']}/{r['of']})")
                cells[metric] = Cell(text, text, float(r["mean_rank"]), (metric, m) in best, False,
                                     f"mean rank over {r['n_datasets']} of {r['of']} datasets")
            deps = [] if mi is None else [d for d in mi[mi["method"] == m]["paper_departure"] if d]
            rows.append(Row(m, False, "", cells, departure="; ".join(dict.fromkeys(deps)), uses_labels=lab[m]))
        boards.append(Board(f"group {group}: {', '.join(datasets)}", f"group-{group}", metrics,
                            {m: False for m in metrics}, rows, kind="group",
                            note="mean rank over the group's datasets (lower is better)"))
    return boards


# -- renderers -------------------------------------------------------------------------------------------
COST_HEAD = [("params", "params"), ("wall_s", "wall s"), ("steps_per_s", "steps/s")]


def to_markdown(boards: list[Board], notes: list[str]) -> str:
    out = ["# Leaderboard", ""] + [f"- {n}" for n in notes] + [""]
    for b in boards:
        out += [f"## {b.title}", ""] + ([f"*{b.note}*", ""] if b.note else [])
        head = ["method"] + (["trials"] if b.kind == "dataset" else []) + \
               [f"{m} {arrow(b.hib.get(m))}" for m in b.metrics] + \
               ([h for _, h in COST_HEAD] if b.kind == "dataset" else [])
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in b.rows:
            name = f"*{r.method} (reference)*" if r.is_reference else r.label
            vals = []
            for m in b.metrics:
                c = r.cells.get(m)
                vals.append("–" if c is None else (f"**{c.text}**" if c.best else c.text) + (f" {TIE}" if c.tie else ""))
            extra = [r.cost.get(k, "–") for k, _ in COST_HEAD] if b.kind == "dataset" else []
            out.append("| " + " | ".join([name] + ([r.trials] if b.kind == "dataset" else []) + vals + extra) + " |")
        out += [""] + [f"{n}  " for n in b.footnotes] + ([""] if b.footnotes else [])
    return "\n".join(out)


def to_html(boards: list[Board]) -> str:
    """Sortable tables (click a header; see SORT_JS): each cell carries data-sort with its numeric value."""
    parts = []
    for b in boards:
        head = "<th data-type='text'>method</th>" + ("<th data-type='text'>trials</th>" if b.kind == "dataset" else "")
        head += "".join(f"<th title='{'higher' if b.hib.get(m) else 'lower'} is better'>{html.escape(m)} "
                        f"{arrow(b.hib.get(m))}</th>" for m in b.metrics)
        if b.kind == "dataset":
            head += "".join(f"<th>{h}</th>" for _, h in COST_HEAD)
        body = []
        for r in b.rows:
            tds = []
            for m in b.metrics:
                c = r.cells.get(m)
                if c is None:
                    tds.append("<td data-sort=''>–</td>")
                    continue
                cls = "best" if c.best else ""
                mark = f" <span class='tie' title='not significantly better than the runner-up'>{TIE}</span>" \
                    if c.tie else ""
                tds.append(f"<td class='{cls}' data-sort='{c.sort!r}' title='{html.escape(c.title)}'>"
                           f"{html.escape(c.text)}{mark}</td>")
            if b.kind == "dataset":
                tds += [f"<td data-sort='{_num(r.cost.get(k))}'>{html.escape(r.cost.get(k, '–'))}</td>"
                        for k, _ in COST_HEAD]
            label = html.escape(r.label) + (" <small>(reference)</small>" if r.is_reference else "")
            trials = f"<td>{html.escape(r.trials)}</td>" if b.kind == "dataset" else ""
            cls = " class='reference'" if r.is_reference else ""
            body.append(f"<tr{cls}><td data-sort='{html.escape(r.method)}'>{label}</td>{trials}{''.join(tds)}</tr>")
        note = f"<p class='note'>{html.escape(b.note)}</p>" if b.note else ""
        foot = "".join(f"<p class='note footnote'>{html.escape(n)}</p>" for n in b.footnotes)
        parts.append(f"<h3 id='{html.escape(b.anchor)}'>{html.escape(b.title)}</h3>{note}<table class='leaderboard "
                     f"sortable'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{foot}")
    return "\n".join(parts)


def _num(text: str | None) -> str:
    try:
        return repr(float(text))
    except (TypeError, ValueError):
        return ""


UP, DOWN = r" $\uparrow$", r" $\downarrow$"


def tex_escape(s: str) -> str:
    return s.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&") \
        .replace("#", r"\#").replace(VARIANT, r"$^\dagger$").replace(LABELS, r"$^\ddagger$").replace("×", r"$\times$")


def to_latex(boards: list[Board], notes: list[str]) -> str:
    """booktabs tables, one per board: mean $\\pm$ std (best in bold, $\\approx$ where not significantly better
    than the runner-up, reference rows in italics, † / ‡ after a method as in the other formats, explained below)."""
    out = ["% modebench leaderboard; needs \\usepackage{booktabs}", *(f"% {n}" for n in notes), ""]
    for b in boards:
        caption = (f"{tex_escape(b.title)}: mean $\\pm$ std over seeds (final step); best in bold; "
                   f"$^{{\\approx}}$ not significantly better than the runner-up (Welch, p $\\geq$ {ALPHA})."
                   if b.kind == "dataset" else f"{tex_escape(b.title)}: {tex_escape(b.note)}.")
        caption += "".join(" " + tex_escape(n) + "." for n in b.footnotes)
        out += ["\\begin{table}[t]", "\\centering", "\\small", f"\\caption{{{caption}}}",
                "\\begin{tabular}{l" + "r" * len(b.metrics) + "}", "\\toprule",
                "Method & " + " & ".join(tex_escape(m) + (UP if b.hib.get(m) else DOWN) for m in b.metrics)
                + r" \\", "\\midrule"]
        refs_started = labels_started = False
        for r in b.rows:
            if (r.is_reference and not refs_started) or (r.uses_labels and not labels_started):
                out.append("\\midrule")
                refs_started, labels_started = refs_started or r.is_reference, labels_started or r.uses_labels
            vals = []
            for m in b.metrics:
                c = r.cells.get(m)
                if c is None:
                    vals.append("--")
                    continue
                t = c.short.replace("±", "$\\pm$").replace("–", "--").replace("−", "-")
                t = f"\\textbf{{{t}}}" if c.best else t
                vals.append(t + ("$^{\\approx}$" if c.tie else ""))
            name = tex_escape(r.method if r.is_reference else r.label)
            out.append((f"\\textit{{{name}}}" if r.is_reference else name) + " & " + " & ".join(vals) + r" \\")
        out += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(out)
