"""Best over evaluations, for the protocols whose paper reports the best value over training instead of the final
model's (pcm-gan Table III: "the best IS / FID over epochs"). From the Parquet tables only: for each completed trial
tagged with such a protocol, each overall metric's best value over the trial's evaluation steps (max where higher is
better, min where lower), then mean ± std over seeds beside the final step's mean, so the two readings sit side by
side and the best is never mistaken for the final-step boards. Our evaluations are every `eval_every` steps, not
every epoch: the table says so."""
from __future__ import annotations

import html

import pandas as pd

from bench.report.leaderboard import fmt
from bench.report.load import RunData
from bench.report.paper import trial_protocols

# protocol tag -> what its paper reports (the label the table carries)
BEST_OVER_EVALUATIONS = {
    "pcmgan-images": "pcm-gan Table III reports the best IS / FID over epochs (5K samples); here every metric's best",
    "pcmgan-oxford102": "pcm-gan Table III reports the best IS / FID over epochs (5K samples); here every metric's best",
}
COLUMNS = ["protocol", "dataset", "method", "metric", "n", "best_mean", "best_std", "final_mean", "evaluations"]


def best_over_evaluations(data: RunData, higher_is_better: dict[str, bool]) -> pd.DataFrame:
    """Tidy: one row per (protocol, dataset, method, metric) of the trials tagged with a best-over protocol."""
    t = data.trials[data.trials["status"] == "completed"]
    tags = {tid: [p for p in trial_protocols(hp) if p in BEST_OVER_EVALUATIONS] for tid, hp in zip(t["trial_id"], t["hparams"])}
    tags = {tid: ps for tid, ps in tags.items() if ps}
    m = data.metrics
    m = m[m["trial_id"].isin(tags) & m["sigma"].isna() & (m["subset"].isna() | (m["subset"] == "all"))
          & m["metric"].isin(higher_is_better)]
    if m.empty:
        return pd.DataFrame(columns=COLUMNS)
    per_trial = []
    for (tid, metric), g in m.groupby(["trial_id", "metric"]):
        best = g["value"].max() if higher_is_better[metric] else g["value"].min()
        final = g.loc[g["step"].idxmax(), "value"]
        for p in tags[tid]:
            per_trial.append({"protocol": p, "dataset": g["dataset"].iloc[0], "method": g["method"].iloc[0],
                              "metric": metric, "best": best, "final": final, "evaluations": len(g)})
    d = pd.DataFrame(per_trial)
    out = (d.groupby(["protocol", "dataset", "method", "metric"])
           .agg(n=("best", "count"), best_mean=("best", "mean"), best_std=("best", "std"),
                final_mean=("final", "mean"), evaluations=("evaluations", "min")).reset_index())
    return out[COLUMNS]


def _cell(r) -> str:
    return fmt(r["best_mean"]) + ("" if r["n"] < 2 else f" ± {fmt(r['best_std'])}")


NOTE = ("Best over our evaluation steps (every `eval_every` steps, not every epoch), per trial, then mean ± std over "
        "seeds; the final step's mean beside it. Only trials tagged with a protocol whose paper reports the best "
        "value over training; every other table reads the final step.")


def to_markdown(table: pd.DataFrame) -> str:
    out = ["# Best over evaluations", "", NOTE, ""]
    for p, g in table.groupby("protocol"):
        out += [f"## {p}: {BEST_OVER_EVALUATIONS[p]}", "",
                "| dataset | method | metric | best (mean ± std) | final (mean) | seeds | evaluations |",
                "|---|---|---|---|---|---|---|"]
        out += [f"| {r['dataset']} | {r['method']} | {r['metric']} | {_cell(r)} | {fmt(r['final_mean'])} | {r['n']} | "
                f"{r['evaluations']} |" for _, r in g.iterrows()]
        out.append("")
    return "\n".join(out) + "\n"


def to_html(table: pd.DataFrame) -> str:
    parts = []
    for p, g in table.groupby("protocol"):
        head = "".join(f"<th>{h}</th>" for h in ("dataset", "method", "metric", "best (mean ± std)", "final (mean)",
                                                 "seeds", "evaluations"))
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in
                                        (r["dataset"], r["method"], r["metric"], _cell(r), fmt(r["final_mean"]),
                                         r["n"], r["evaluations"])) + "</tr>" for _, r in g.iterrows())
        parts.append(f"<h3>{html.escape(p)}</h3><p class='small'>{html.escape(BEST_OVER_EVALUATIONS[p])}. "
                     f"{html.escape(NOTE)}</p><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return "".join(parts)
