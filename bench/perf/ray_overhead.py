"""(b) Ray Tune's per-trial overhead in `bench.sweep.run_sweep`, for trials whose own work is ~0.

N trivial trials (`oracle` on ring8_mgan: 0 steps, no evaluation, no metrics; seeds 0..N-1 so the trial ids
differ) go through the real `run_sweep` on a local Ray with 2 CPUs (1 CPU per trial, 2 at once), into a
temporary --out folder; Ray's session files go to a temporary RAY_TMPDIR. ray.init is timed on its own,
first. Then, after a small warm-up sweep, the same sweep runs with `reuse_actors=True` (what sweep.py sets)
and with `reuse_actors=False` (Tune's default; forced by wrapping `ray.tune.TuneConfig` in this process,
no source edited), alternating, and we report for each:

    amortised overhead per trial = (sweep wall − time inside trials / 2 slots) / N

where "time inside trials" is the trials' own `wall_s` (run_trial). A second, small sweep of each kind
splits the wall into a fixed cost per sweep and a marginal cost per trial (a line through the two sizes).
The sweep wall is also split into the Ray part (`bench.sweep._run_ray`: Tuner construction, fit, results)
and the driver's own bookkeeping (run.json twice with provenance, merging the parts). The distinct worker
pids Tune reports show whether actors were reused.

Where the time goes (cProfile of the driver, reuse_actors=True, 24 trials, 2 cores, 2026-11): ~80 % of the
sweep is the driver in `ray.wait` while the two fresh actors start (a fresh process imports torch and
ray.tune in ~2 s); per trial, Tune's own bookkeeping (loggers incl. tensorboardX, experiment-state syncs)
takes 10-50 ms; the driver's run.json provenance (`package_versions`, twice) ~0.3 s per sweep.

    python -m bench.perf.ray_overhead [--trials 24] [--reps 1] [--json PATH]
Goal (issue): ≤ 0.5 s amortised per trial.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.perf import write_json

GOAL_S = 0.5
N_CPUS = 2


def make_plan(n: int):
    from bench.suites import RunPlan, TrialSpec, load_suite, resolve_method_params

    cfg = load_suite("mode_collapse")
    params = resolve_method_params("oracle", where="bench.perf.ray_overhead")
    trials = [TrialSpec(suite=cfg.name, profile="smoke", method="oracle", dataset="ring8_mgan", seed=s, steps=0,
                        eval_steps=[], params=params, metrics=[]) for s in range(n)]
    return RunPlan(suite=cfg, profile="smoke", trials=trials)


@contextlib.contextmanager
def patched(reuse_actors: bool, timings: dict, pids: list):
    """Force TuneConfig(reuse_actors=...), time `_run_ray` and `merge_parts`, capture the worker pids."""
    from ray import tune

    import bench.sweep as sweep

    orig_cfg, orig_run, orig_merge, orig_fit = tune.TuneConfig, sweep._run_ray, sweep.merge_parts, tune.Tuner.fit

    def tune_config(*a, **kw):
        kw["reuse_actors"] = reuse_actors
        return orig_cfg(*a, **kw)

    def timed(name, fn):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return wrapper

    def fit(self):
        grid = orig_fit(self)
        pids.extend(r.metrics.get("pid") for r in grid if r.metrics)
        return grid

    tune.TuneConfig, sweep._run_ray, sweep.merge_parts = tune_config, timed("ray_s", orig_run), \
        timed("merge_s", orig_merge)
    tune.Tuner.fit = timed("fit_s", fit)
    try:
        yield
    finally:
        tune.TuneConfig, sweep._run_ray, sweep.merge_parts, tune.Tuner.fit = orig_cfg, orig_run, orig_merge, orig_fit


def one_sweep(plan, out_root: Path, reuse_actors: bool) -> dict:
    from bench.results import read_table
    from bench.sweep import SweepOptions, run_sweep

    timings, pids = {}, []
    # reference_budget_s=None: the driver's reference-speed timing (≈ 1 s) is not Ray's overhead
    opts = SweepOptions(out_root=out_root, cpus_per_trial=1, gpus_per_trial=0, quiet=True, reference_budget_s=None)
    with patched(reuse_actors, timings, pids):
        t0 = time.perf_counter()
        summary = run_sweep(plan, opts)
        wall = time.perf_counter() - t0
    trials = read_table(summary.run_dir, "trials")
    n = len(plan.trials)
    inside = float(trials["wall_s"].sum())
    return {"reuse_actors": reuse_actors, "n_trials": n, "counts": summary.counts, "wall_s": wall,
            "ray_s": timings.get("ray_s", 0.0), "fit_s": timings.get("fit_s", 0.0),
            "merge_s": timings.get("merge_s", 0.0), "driver_other_s": wall - timings.get("ray_s", 0.0),
            "inside_trials_s": inside, "overhead_per_trial_s": (wall - inside / N_CPUS) / n,
            "worker_pids": len(set(p for p in pids if p is not None))}


def measure(n_trials: int = 24, reps: int = 1, warmup_trials: int = 4, small_trials: int = 4, log=print) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-perf-ray-"))
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ["RAY_TMPDIR"] = str(tmp / "ray")  # short path: Ray's sockets live under it
    (tmp / "ray").mkdir()
    import ray

    from bench.provenance import machine
    from bench.sweep import SweepOptions, _init_ray

    if ray.is_initialized():
        raise RuntimeError("Ray is already initialised in this process; run this benchmark on its own")
    try:
        mach = machine()
        log(f"machine: {mach['cpu']}; cpu_count {mach['cpu_count']}; torch threads {mach['torch_threads']} "
            f"(ray {ray.__version__})")
        log(f"(b) Ray overhead: {n_trials} trivial trials (oracle, 0 steps, no eval) per sweep, local Ray "
            f"with {N_CPUS} CPUs, 1 CPU per trial; warm-up sweep of {warmup_trials}, then {reps} × "
            f"(reuse_actors=True, reuse_actors=False), alternating")
        t0 = time.perf_counter()
        _init_ray(SweepOptions(quiet=True), N_CPUS)
        init_s = time.perf_counter() - t0
        log(f"  ray.init: {init_s:.2f} s")
        warm = one_sweep(make_plan(warmup_trials), tmp / "out-warmup", True)
        log(f"  warm-up sweep ({warmup_trials} trials, reuse): {warm['wall_s']:.2f} s")
        plan, small_plan = make_plan(n_trials), make_plan(small_trials)
        runs, smalls = {True: [], False: []}, {True: [], False: []}
        for i in range(reps):
            for reuse in ((True, False) if i % 2 == 0 else (False, True)):
                tag = "reuse" if reuse else "fresh"
                s = one_sweep(small_plan, tmp / f"out-{i}-{tag}-small", reuse)
                smalls[reuse].append(s)
                log(f"  reuse_actors={str(reuse):5s}: sweep of {small_trials:2d}: {s['wall_s']:6.2f} s")
                r = one_sweep(plan, tmp / f"out-{i}-{tag}", reuse)
                runs[reuse].append(r)
                log(f"  reuse_actors={str(reuse):5s}: sweep of {n_trials:2d}: {r['wall_s']:6.2f} s")
                log(f"    (Ray {r['ray_s']:.2f} s, of "
                    f"which fit {r['fit_s']:.2f} s; driver bookkeeping {r['driver_other_s']:.2f} s, of which "
                    f"merge {r['merge_s']:.2f} s); inside trials {r['inside_trials_s']:.3f} s; "
                    f"{r['worker_pids']} worker processes; {r['counts']}")
        med = {k: statistics.median(r["overhead_per_trial_s"] for r in v) for k, v in runs.items()}
        wall = {k: statistics.median(r["wall_s"] for r in v) for k, v in runs.items()}
        wall_small = {k: statistics.median(r["wall_s"] for r in v) for k, v in smalls.items()}
        marginal = {k: (wall[k] - wall_small[k]) / (n_trials - small_trials) for k in wall}
        fixed = {k: wall[k] - marginal[k] * n_trials for k in wall}
        res = {"n_trials": n_trials, "reps": reps, "cpus": N_CPUS, "ray_init_s": init_s, "warmup": warm,
               "reuse": runs[True], "no_reuse": runs[False],
               "reuse_small": smalls[True], "no_reuse_small": smalls[False], "small_trials": small_trials,
               "marginal_per_trial_reuse_s": marginal[True], "marginal_per_trial_no_reuse_s": marginal[False],
               "fixed_per_sweep_reuse_s": fixed[True], "fixed_per_sweep_no_reuse_s": fixed[False],
               "overhead_per_trial_reuse_s": med[True],
               "overhead_per_trial_no_reuse_s": med[False], "no_reuse_over_reuse": med[False] / med[True],
               "goal_s": GOAL_S, "meets_goal": med[True] <= GOAL_S, "machine": mach}
        log(f"  amortised overhead per trial: reuse_actors=True {med[True]:.3f} s, reuse_actors=False "
            f"{med[False]:.3f} s (ratio {res['no_reuse_over_reuse']:.2f}×); goal ≤ {GOAL_S:g} s: "
            f"{'met' if res['meets_goal'] else 'NOT met'}")
        log(f"  line through {small_trials} and {n_trials} trials: reuse_actors=True {fixed[True]:.2f} s per sweep "
            f"+ {marginal[True]:.3f} s per trial; reuse_actors=False {marginal[False]:.3f} s per trial "
            f"(2 trials at a time; its fixed part, {fixed[False]:+.2f} s, is within noise)")
        return res
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.perf.ray_overhead", description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=24)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--json", help="write the results as JSON to this path")
    args = p.parse_args(argv)
    write_json(args.json, measure(args.trials, args.reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
