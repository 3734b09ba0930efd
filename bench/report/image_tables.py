"""Per-class tables of image runs, from the Parquet tables only: each metric whose rows carry one subset per
predicted class (m_is: DeLiGAN Table 1's per-class m-IS; class_share: the generated class histogram, our reading
of PCM-GAN §III-E), at each trial's final step, mean ± std over seeds (completed trials only)."""
from __future__ import annotations

import html

import pandas as pd

from bench.report.leaderboard import fmt
from bench.report.load import RunData
from bench.report.stats import final_values

PER_CLASS_METRICS = ("m_is", "class_share")  # subsets "0".."K-1" (m_is also "c:std", the spread over splits)
COLUMNS = ["metric", "dataset", "method", "subset", "n", "mean", "std"]


def per_class(data: RunData) -> pd.DataFrame:
    """Tidy: one row per (metric, dataset, method, class subset or "all"): mean and sample std over seeds."""
    done = data.trials[data.trials["status"] == "completed"][["trial_id"]]
    m = data.metrics[data.metrics["metric"].isin(PER_CLASS_METRICS) & data.metrics["sigma"].isna()]
    m = m[~m["subset"].fillna("").str.contains(":")].merge(done, on="trial_id")  # "c:std" rows: spread over splits
    if m.empty:
        return pd.DataFrame(columns=COLUMNS)
    last = m.groupby("trial_id")["step"].transform("max")
    m = m[m["step"] == last]
    g = m.groupby(["metric", "dataset", "method", "subset"])["value"].agg(["count", "mean", "std"]).reset_index()
    return g.rename(columns={"count": "n"})[COLUMNS]


def _order(subsets) -> list[str]:
    return sorted((s for s in set(subsets) if s != "all"), key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s)) \
        + (["all"] if "all" in set(subsets) else [])


def _cell(r) -> str:
    return fmt(r["mean"]) + ("" if r["n"] < 2 else f" ± {fmt(r['std'])}")


def wide(table: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """(metric, dataset) -> methods × classes of "mean ± std" text."""
    out = {}
    for (metric, dataset), g in table.groupby(["metric", "dataset"]):
        cols = _order(g["subset"])
        w = g.assign(text=g.apply(_cell, axis=1)).pivot(index="method", columns="subset", values="text")
        out[(metric, dataset)] = w.reindex(columns=cols).fillna("–")
    return out


TITLES = {"m_is": "m-IS per predicted class (deligan §5.1, Table 1; 'all' = mean over classes)",
          "class_share": "share of generated samples per predicted class ('all' = total variation to the training "
                         "classes; pcm-gan §III-E, our measure)"}


def to_markdown(table: pd.DataFrame) -> str:
    out = ["# Per-class tables", "", "Final evaluation step, mean ± std over seeds; classes are the domain "
           "classifier's predicted classes.", ""]
    for (metric, dataset), w in wide(table).items():
        out += [f"## {metric} on {dataset}: {TITLES.get(metric, metric)}", "",
                "| method | " + " | ".join(w.columns) + " |", "|---" * (len(w.columns) + 1) + "|"]
        out += [f"| {m} | " + " | ".join(r) + " |" for m, r in w.iterrows()]
        out.append("")
    return "\n".join(out) + "\n"


def to_html(table: pd.DataFrame) -> str:
    parts = []
    for (metric, dataset), w in wide(table).items():
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in ["method", *w.columns])
        rows = "".join("<tr><td>" + html.escape(m) + "</td>" + "".join(f"<td>{html.escape(v)}</td>" for v in r)
                       + "</tr>" for m, r in w.iterrows())
        parts.append(f"<h3>{html.escape(metric)} on {html.escape(dataset)}</h3><p class='small'>"
                     f"{html.escape(TITLES.get(metric, metric))}</p><table><thead><tr>{head}</tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    return "".join(parts)
