"""All harness timings in one process (`make perf`): the machine's reference speed, (a) trial overhead, (b) Ray
overhead, (c) metric times, (d) where default trials' time goes, (e) step speed-up candidates.

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

from bench.perf import metric_times, ray_overhead, reference, step_speedups, trial_overhead, where_time_goes


def summary_rows(res: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    if "reference" in res:
        r = res["reference"]
        rows.append((f"reference speed ({r['name']}, 1 thread)",
                     f"{r['ms_per_step']:.3f} ms/step wall, {r['cpu_ms_per_step']:.3f} CPU", "", ""))
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
    if "where_time_goes" in res:
        for r in res["where_time_goes"]["rows"]:
            sh = r["shares_pct"]
            rows.append((f"(d) {r['method']} on {r['dataset']}, {r['steps']} steps: train/data/eval/harness",
                         f"{sh['training (train_step)']:.1f} / {sh['data (data.batch)']:.1f} / "
                         f"{sh['evaluation (_eval_into)']:.1f} / {sh['harness (rest of run_trial)']:.1f} %", "", ""))
    if "step_speedups" in res:
        for method, variants in res["step_speedups"]["methods"].items():
            for name, v in variants.items():
                if name != "current":
                    rows.append((f"(e) {method}: {name} / current (CPU time)", f"{v['ratio_cpu']:.3f}", "", ""))
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
    res["reference"] = reference.measure()
    print(f"reference speed: {res['reference']['ms_per_step']:.3f} ms/step wall, "
          f"{res['reference']['cpu_ms_per_step']:.3f} ms/step CPU\n")
    res["metric_times"] = metric_times.measure(calls=5 if args.quick else 20)
    print()
    res["trial_overhead"] = trial_overhead.measure(*((500, 2) if args.quick else (2000, 5)))
    res["trial_overhead"]["profile"] = trial_overhead.profile_trial(300 if args.quick else 1000)
    print()
    res["ray_overhead"] = ray_overhead.measure(n_trials=8 if args.quick else 24)
    print()
    res["step_speedups"] = step_speedups.measure(steps=100 if args.quick else 400, rounds=2 if args.quick else 5)
    print()
    res["where_time_goes"] = where_time_goes.measure(steps=300 if args.quick else None)
    res["total_s"] = time.perf_counter() - t0
    print(f"\nsummary ({res['total_s']:.0f} s in all):")
    print_table(summary_rows(res))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
