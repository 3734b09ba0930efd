"""Paper vs ours: each number the seed papers print (paper_numbers.yaml) beside our measurement of the same
method, dataset and metric. A number is *compared* only against trials that followed its protocol (the
protocol tag the suite's overrides record per trial); trials that did not (e.g. a smoke or default run) are
shown as "protocol differs" with no difference computed; "not run" where we have no trial at all; "not runnable
here" (with the reason) where the dataset, metric or method is not ours (bench/report/paper_mapping.py)."""
from __future__ import annotations

import json
import math

import pandas as pd

from bench.report.leaderboard import fmt, tex_escape
from bench.report.load import RunData
from bench.report.paper_numbers import load_paper_numbers
from bench.report.stats import final_values, t_interval

SEEN = ("compared", "protocol differs")  # statuses with our value beside the paper's

COLUMNS = ["id", "paper", "source", "dataset", "method", "metric", "paper_value", "paper_pm", "pm_meaning", "runs",
           "origin", "quoted_from", "protocol", "status", "ours_n", "ours_mean", "ours_std", "diff", "note"]


def trial_protocols(hparams: str) -> list[str]:
    try:
        return list(json.loads(hparams).get("protocols", []))
    except (TypeError, ValueError):
        return []


def _k(hparams: str, method: str) -> int | None:
    """The trial's K (its method's k_field value), None for a method without one."""
    from bench.registry import METHODS

    field = getattr(METHODS.get(method).Params, "k_field", None) if method in METHODS else None
    try:
        return json.loads(hparams).get("params", {}).get(field) if field else None
    except (TypeError, ValueError):
        return None


def paper_vs_ours(data: RunData, numbers=None) -> pd.DataFrame:
    """One row per paper number. Names map to ours through bench.report.paper_mapping (dataset, metric, the
    subset of a per-class number, the K of a per-K number); a number we cannot run says why ("not runnable here")."""
    from bench.registry import METHODS
    from bench.report.paper_mapping import NotRunnable, resolve

    numbers = load_paper_numbers() if numbers is None else numbers
    t = data.trials
    # The registered method of each trial (`method` may be a variant's label, `mdgan [S1/4]`: load.py); a paper
    # row names the method, and its protocol tag (e.g. mdgan-stacked-S1/4) picks the variant's trials.
    base = dict(zip(t["trial_id"], t["base_method"] if "base_method" in t else t["method"]))

    def finals_of(subset: str) -> pd.DataFrame:
        fv = final_values(data, subset=subset)
        return fv.assign(method=fv["trial_id"].map(base).fillna(fv["method"]))

    finals = {"all": finals_of("all")}
    protos = {tid: set(trial_protocols(hp)) for tid, hp in zip(t["trial_id"], t["hparams"])}
    ks = {tid: _k(hp, base[tid]) for tid, hp in zip(t["trial_id"], t["hparams"])}
    rows = []
    for n in numbers:
        target, note = resolve(n), n.note
        if isinstance(target, NotRunnable):
            status, use, note = "not runnable here", finals["all"].iloc[0:0], f"{target.reason}; {n.note}".rstrip("; ")
        else:
            if target.subset not in finals:
                finals[target.subset] = finals_of(target.subset)
            fv = finals[target.subset]
            ours = fv[(fv["dataset"] == target.dataset) & (fv["method"] == n.method) & (fv["metric"] == target.metric)]
            if target.k is not None:  # a per-K number: only trials with that K (others: protocol differs)
                same_k = ours[ours["trial_id"].map(lambda tid: ks.get(tid) == target.k).astype(bool)]
                ours = same_k if len(same_k) else ours
            else:
                same_k = ours
            matched = same_k[same_k["trial_id"].map(lambda tid: n.protocol in protos.get(tid, ())).astype(bool)]
            if len(matched):
                status, use = "compared", matched
            elif len(ours):
                status, use = "protocol differs", ours
            elif n.method not in METHODS:  # a quoted baseline we do not implement (ALI, BEGAN, DFM, …)
                status, use, note = "not runnable here", ours, f"method {n.method!r} is not in our registry; {n.note}"
            else:
                status, use = "not run", ours
        mean, std, _, _ = t_interval(use["value"].to_numpy()) if len(use) else (math.nan,) * 4
        rows.append({"id": n.id, "paper": n.paper, "source": n.source, "dataset": n.dataset, "method": n.method,
                     "metric": n.metric, "paper_value": n.value, "paper_pm": n.pm, "pm_meaning": n.pm_meaning,
                     "runs": n.runs, "origin": n.origin, "quoted_from": n.quoted_from, "protocol": n.protocol,
                     "status": status, "ours_n": len(use), "ours_mean": mean, "ours_std": std,
                     "diff": mean - n.value if status == "compared" else math.nan, "note": note})
    return pd.DataFrame(rows, columns=COLUMNS)


def _paper_text(r) -> str:
    pm = r["paper_pm"]
    return fmt(r["paper_value"]) + ("" if pm is None or (isinstance(pm, float) and math.isnan(pm)) else f" ± {fmt(pm)}")


def _ours_text(r) -> str:
    if r["ours_n"] == 0:
        return "–"
    return fmt(r["ours_mean"]) + ("" if r["ours_n"] < 2 else f" ± {fmt(r['ours_std'])}") + f" (n={r['ours_n']})"


def _origin_text(r) -> str:
    return "measured" if r["origin"] == "measured" else f"quoted from {r['quoted_from']}"


def to_markdown(table: pd.DataFrame) -> str:
    out = ["# Paper vs ours", "",
           "Our mean ± std over seeds (final evaluation) beside each number the seed papers print. A number is "
           "compared only with trials that followed its protocol; otherwise the row says *protocol differs* "
           "(our value shown, no difference) or *not run*. The papers' ± differ in meaning: see each row.", ""]
    seen = table[table["status"].isin(SEEN)]
    if len(seen):
        out += ["| paper | source | dataset | method | metric | paper (± meaning; origin) | ours | ours − paper | status |",
                "|---|---|---|---|---|---|---|---|---|"]
        for _, r in seen.iterrows():
            out.append(f"| {r['paper']} | {r['source']} | {r['dataset']} | {r['method']} | {r['metric']} | "
                       f"{_paper_text(r)} ({r['pm_meaning']}; {_origin_text(r)}) | {_ours_text(r)} | "
                       f"{fmt(r['diff'])} | {r['status']} |")
        out.append("")
    for status, title, last, col in (("not run", "Not run here", "protocol", "protocol"),
                                     ("not runnable here", "Not runnable here", "why", "note")):
        rows = table[table["status"] == status]
        if len(rows):
            out += [f"## {title} ({len(rows)} numbers)", "",
                    f"| paper | source | dataset | method | metric | paper | {last} |", "|---|---|---|---|---|---|---|"]
            for _, r in rows.iterrows():
                out.append(f"| {r['paper']} | {r['source']} | {r['dataset']} | {r['method']} | {r['metric']} | "
                           f"{_paper_text(r)} | {r[col]} |")
            out.append("")
    return "\n".join(out) + "\n"


def to_latex(table: pd.DataFrame) -> str:
    seen = table[table["status"].isin(SEEN)]
    out = ["% modebench paper vs ours; needs \\usepackage{booktabs}", "\\begin{table}[t]", "\\centering", "\\small",
           "\\caption{Paper vs ours (mean $\\pm$ std over seeds; compared only under the paper's protocol).}",
           "\\begin{tabular}{lllllrrr}", "\\toprule",
           "Paper & Source & Dataset & Method & Metric & Paper & Ours & Ours $-$ paper \\\\", "\\midrule"]
    for _, r in seen.iterrows():
        pm = "$\\pm$"
        ours = _ours_text(r).replace("±", pm)
        paper = _paper_text(r).replace("±", pm)
        diff = fmt(r["diff"]) if r["status"] == "compared" else "protocol differs"
        cells = [tex_escape(str(x)) for x in (r["paper"], r["source"], r["dataset"], r["method"], r["metric"])]
        out.append(" & ".join(cells + [paper, ours, tex_escape(diff)]) + r" \\")
    out += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(out)
