"""All harness timings in one process (`make perf`): (a) trial overhead, (b) Ray overhead, (c) metric times.

    python -m bench.perf.run_all [--quick] [--json PATH]
Prints each benchmark's lines, then a summary table against the issue's goals. Timings are reported,
never asserted. --quick runs smaller versions (a rough look in well under a minute plus ray.init).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.perf import metric_times, ray_overhead, trial_overhead


def summary_rows(res: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    if "trial_overhead" in res:
        a = res["trial_overhead"]
        rows.append((f"(a) run_trial vs bare loop, gan, {a['steps']} steps",
                     f"{a['overhead_pct']:+.2f} % ({a['overhead_ms_per_step']:+.4f} ms/step; "
                     f"CPU time {a['overhead_pct_cpu']:+.2f} %)",
                     f"≤ {a['goal_pct']:g} %", "yes" if a["meets_goal"] else "NO"))
        rows.append(("(a) noise floor: A/A, bare loop vs itself", f"{a['aa_noise_pct']:+.2f} %", "", ""))
        if "profile" in a:
            share = a["profile"]["harness_share_pct"]
            rows.append(("(a) harness's own share of run_trial (cProfile)", f"{share:.2f} %",
                         f"≤ {a['goal_pct']:g} %", "yes" if share <= a["goal_pct"] else "NO"))
    if "ray_overhead" in res:
        b = res["ray_overhead"]
        rows.append(("(b) ray.init", f"{b['ray_init_s']:.2f} s", "", ""))
        rows.append((f"(b) Ray per trial, amortised over {b['n_trials']}, reuse_actors=True",
                     f"{b['overhead_per_trial_reuse_s']:.3f} s", f"≤ {b['goal_s']:g} s",
                     "yes" if b["meets_goal"] else "NO"))
        rows.append((f"(b) Ray per trial, amortised over {b['n_trials']}, reuse_actors=False",
                     f"{b['overhead_per_trial_no_reuse_s']:.3f} s ({b['no_reuse_over_reuse']:.1f}× reuse)", "", ""))
        rows.append(("(b) reuse_actors=True: fixed per sweep + marginal per trial",
                     f"{b['fixed_per_sweep_reuse_s']:.2f} s + {b['marginal_per_trial_reuse_s']:.3f} s", "", ""))
    if "metric_times" in res:
        rows.append(("(c) import ot (POT, for w1), once per process", f"{res['metric_times']['import_ot_ms']:.0f} ms",
                     "", ""))
        for r in res["metric_times"]["rows"]:
            rows.append((f"(c) {r['metric']} on {r['dataset']} (median)", f"{r['median_ms']:.2f} ms",
                         f"≤ {r['goal_ms']:g} ms", "yes" if r["meets_goal"] else "NO"))
    return rows


def print_table(rows, log=print) -> None:
    head = ("measurement", "measured", "goal", "met")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    line = "  ".join("{:<%d}" % w for w in widths)
    log(line.format(*head))
    log("  ".join("-" * w for w in widths))
    for r in rows:
        log(line.format(*r))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.perf.run_all", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller runs: 500 steps × 2, 8 Ray trials, 5 calls")
    p.add_argument("--json", help="write all results as JSON to this path")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    res = {}
    res["metric_times"] = metric_times.measure(calls=5 if args.quick else 20)
    print()
    res["trial_overhead"] = trial_overhead.measure(*((500, 2) if args.quick else (2000, 5)))
    res["trial_overhead"]["profile"] = trial_overhead.profile_trial(300 if args.quick else 1000)
    print()
    res["ray_overhead"] = ray_overhead.measure(n_trials=8 if args.quick else 24)
    res["total_s"] = time.perf_counter() - t0
    print(f"\nsummary ({res['total_s']:.0f} s in all):")
    print_table(summary_rows(res))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
