"""Ray Tune orchestration, kept thin: one Tune trial per method × dataset × seed, resources, storage inside
the run folder, progress, resume. The work itself is `bench.trial.run_trial`; results go through
`bench.results` (per-trial parts merged by the driver, exactly once).

Per-trial overhead: Tune starts a fresh worker process per trial by default (≈ 2 s each here). We set
`reuse_actors=True`, so each worker process stays up and runs trial after trial (imports, CUDA context and
dataset caches paid once per worker); see bench/perf/ray_overhead.py for the measured difference.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from bench.errors import UserError
from bench.results import (iter_run_dirs, merge_parts, part_dir, read_trial_meta, read_trial_status, write_json,
                           write_trial_part)
from bench.suites import RunPlan, TrialSpec

FINISHED = ("completed", "diverged")  # results; `failed` trials run again on --resume


@dataclass
class SweepOptions:
    out_root: Path = Path("results")
    address: str | None = None
    cpus_per_trial: float | None = None  # None: the suite's resources
    gpus_per_trial: float | None = None
    max_concurrent: int | None = None
    resume: bool = False
    force: bool = False
    argv: list[str] = field(default_factory=list)
    selection: dict = field(default_factory=dict)  # what the CLI selected (profile, methods, datasets, seeds)
    quiet: bool = False
    data_root: str | None = None  # --data-root (None: $MODEBENCH_DATA, else ~/.cache/modebench/data)
    inception_weights: str | None = None  # --inception-weights; resolved and checked before any trial
    reference_budget_s: float | None = 1.0  # time this machine's reference step (run.json); None: skip


@dataclass
class SweepSummary:
    run_dir: Path
    counts: dict[str, int]  # status -> trials
    ran: int  # trials run in this invocation
    skipped: int  # finished trials skipped (--resume)
    wall_s: float
    unfinished: int = 0  # trials with no result (the sweep was interrupted): --resume runs them

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0)


def _log(opts: SweepOptions, msg: str) -> None:
    if not opts.quiet:
        print(msg, flush=True)


# -- run folders -----------------------------------------------------------------------------------------
def find_resumable(out_root: Path, suite: str, config_hash: str) -> Path | None:
    """The latest run under ROOT/<suite>/ whose run.json has this config hash."""
    for run_dir in reversed(list(iter_run_dirs(out_root, suite))):
        if _read_json(run_dir / "run.json").get("config_hash") == config_hash:
            return run_dir
    return None


def _read_json(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def new_run_dir(out_root: Path, suite: str, config_hash: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path(out_root) / suite / f"{stamp}-{config_hash[:8]}"
    run_dir, i = base, 1
    while run_dir.exists():
        run_dir, i = base.with_name(f"{base.name}-{i}"), i + 1
    return run_dir


def check_writable(out_root: Path) -> None:
    """Bad input (UserError, exit 2) unless ROOT exists or can be created and a file can be written in it. Tried
    for real: permission bits say nothing on /proc or a read-only mount, and root passes os.access anyway."""
    import tempfile

    out_root = Path(out_root)
    fix = "pass --out with a folder you can write to (e.g. --out results)"
    if out_root.exists() and not out_root.is_dir():
        raise UserError(f"--out {out_root}: is not a writable folder (it is a file); {fix}")
    created = []  # folders this check makes, removed again: bad input elsewhere must leave nothing behind
    p = out_root
    while not p.exists() and p != p.parent:
        created.append(p)
        p = p.parent
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_root):
            pass
    except OSError as e:
        raise UserError(f"--out {out_root}: is not a writable folder: cannot create it or write in it "
                        f"({e.strerror or e}); {fix}") from None
    finally:
        for d in created:  # deepest first
            try:
                d.rmdir()
            except OSError:
                break


def run_json(plan: RunPlan, opts: SweepOptions, run_id: str, status: str, **extra) -> dict:
    from bench.provenance import code_version, git_state, machine, package_versions

    return {"run_id": run_id, "suite": plan.suite.name, "profile": plan.profile, "config_hash": plan.config_hash,
            "status": status, "suite_config": plan.suite.model_dump(mode="json"),
            "trial_ids": [t.trial_id for t in plan.trials],
            "seeds": sorted({t.seed for t in plan.trials}), "cli": opts.argv,
            "selection": {"profile": plan.profile, **opts.selection}, "code_version": code_version(),
            "git": git_state(), "packages": package_versions(), "machine": machine(),
            "resources": {"cpus_per_trial": opts.cpus_per_trial, "gpus_per_trial": opts.gpus_per_trial,
                          "max_concurrent": opts.max_concurrent, "address": opts.address}, **extra}


def reference_speed(opts: SweepOptions) -> dict | None:
    """This machine's speed on the fixed reference step (bench/perf/reference.py), measured on the driver before
    any trial (≈ 1 s): run.json's wall times read against it. A failure is recorded, never raised."""
    if opts.reference_budget_s is None:
        return None
    from bench.perf.reference import measure

    try:
        ref = measure(opts.reference_budget_s)
    except Exception as e:  # noqa: BLE001 - a provenance field must not stop a run
        return {"error": f"{type(e).__name__}: {e}"}
    _log(opts, f"machine reference: {ref['ms_per_step']:.3f} ms/step wall, {ref['cpu_ms_per_step']:.3f} ms/step CPU "
               f"({ref['name']}, 1 thread; bench/perf/reference.py)")
    return ref


# -- the Ray side ------------------------------------------------------------------------------------
def pick_device(gpus: float) -> tuple[str, str | None]:
    """(device, note): CUDA when the trial was granted a GPU that CUDA can see; CPU otherwise, saying why."""
    if gpus <= 0:
        return "cpu", None
    import torch

    if torch.cuda.is_available():
        return "cuda", None
    return "cpu", "granted a GPU but CUDA sees none: ran on CPU"


def _trainable(config: dict) -> None:
    """Runs inside a Ray worker: one harness trial, its rows written to its own part folder."""
    import ray
    from ray import tune

    from bench.trial import run_trial

    spec = TrialSpec.model_validate(config["spec"])
    ctx = config["ctx"]
    run_dir = Path(ctx["run_dir"])
    status = read_trial_status(run_dir, spec.trial_id)
    if status in FINISHED and not ctx.get("force"):
        # Ray re-ran a trial whose rows are already written (e.g. the driver died between the worker's
        # write and Tune's bookkeeping): its part is the result; do not train it again.
        tune.report({"status": status, "trial_id": spec.trial_id, "wall_s": 0.0})
        return
    # The worker's pid, for operators (and the fault-injection tests) to find the process of a trial.
    pid_file = part_dir(run_dir, spec.trial_id) / "worker.pid"
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(os.getpid()))
    if ctx.get("inception_weights"):  # checked by the driver; bench.evaluators reads it in this worker
        from bench.evaluators import INCEPTION_ENV

        os.environ[INCEPTION_ENV] = ctx["inception_weights"]
    device, note = pick_device(ctx["gpus_per_trial"])
    node_id = ray.get_runtime_context().get_node_id()
    out = run_trial(spec, config_hash=ctx["config_hash"], code_version=ctx["code_version"], device=device,
                    threads=max(1, int(ctx["cpus_per_trial"])), node_id=node_id, data_root=ctx.get("data_root"),
                    checkpoint_path=part_dir(run_dir, spec.trial_id) / "checkpoint.pt")
    if note:
        import json

        hp = json.loads(out.trial["hparams"])
        hp["device_note"] = note
        out.trial["hparams"] = json.dumps(hp, sort_keys=True)
    write_trial_part(run_dir, out.trial, out.metrics, out.samples, out.images)
    ck = part_dir(run_dir, spec.trial_id) / "checkpoint.pt"
    if ck.exists() and out.status != "failed":
        ck.unlink()
    tune.report({"status": out.status, "trial_id": spec.trial_id, "wall_s": out.trial["wall_s"],
                 "device_note": note or ""})


def _progress_callback(total: int, opts: SweepOptions, t0: float):
    from ray import tune

    class Progress(tune.Callback):
        def __init__(self):
            self.done = {"completed": 0, "diverged": 0, "failed": 0}
            self.last = 0.0

        def _line(self, trials, what: str = "", ended=None) -> None:
            finished = sum(self.done.values())
            # A trial reports once, when it has finished; Tune still lists it RUNNING while its result is handled.
            running = sum(t.status == "RUNNING" and t is not ended for t in trials)
            _log(opts, f"[{time.time() - t0:7.1f}s] {finished}/{total} done · {running} running · "
                       f"{self.done['failed']} failed · {self.done['diverged']} diverged{what}")
            self.last = time.time()

        def on_trial_result(self, iteration, trials, trial, result, **info):
            status = result.get("status", "completed")
            self.done[status] = self.done.get(status, 0) + 1
            spec = trial.config["spec"]
            note = f"; {result['device_note']}" if result.get("device_note") else ""
            self._line(trials, f"   ({_who(spec)}: {status}, "
                               f"{result.get('wall_s', 0):.1f}s{note})", ended=trial)

        def on_trial_error(self, iteration, trials, trial, **info):
            self.done["failed"] += 1
            spec = trial.config["spec"]
            self._line(trials, f"   ({_who(spec)}: worker error)",
                       ended=trial)

        def on_step_end(self, iteration, trials, **info):
            if time.time() - self.last > 30:
                self._line(trials)

    return Progress()


def _init_ray(opts: SweepOptions, n_cpus: int) -> None:
    import logging

    import ray

    if ray.is_initialized():
        return
    if opts.address:
        ray.init(address=opts.address, logging_level=logging.WARNING, log_to_driver=False)
    else:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local only: no token file, no warning
        ray.init(num_cpus=n_cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)


def _resolved_root(data_root: str | None) -> str:
    """The data root as an absolute path, so workers (other processes, other cwd or env) read the same folder."""
    from bench.data.sources import data_root as resolve

    return str(resolve(data_root).resolve())


def _run_ray(todo: list[TrialSpec], run_dir: Path, plan: RunPlan, opts: SweepOptions, t0: float) -> None:
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    import ray
    from ray import tune

    from bench.provenance import code_version

    res = plan.suite.resources
    cpus = opts.cpus_per_trial if opts.cpus_per_trial is not None else res.cpus_per_trial
    gpus = opts.gpus_per_trial if opts.gpus_per_trial is not None else res.gpus_per_trial
    max_conc = opts.max_concurrent if opts.max_concurrent is not None else res.max_concurrent
    n_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    _init_ray(opts, n_cpus)
    _log(opts, f"Ray: {ray.cluster_resources().get('CPU', 0):g} CPUs, {ray.cluster_resources().get('GPU', 0):g} "
               f"GPUs; {cpus:g} CPU / {gpus:g} GPU per trial; {len(todo)} trials to run")
    ctx = {"run_dir": str(run_dir.resolve()), "config_hash": plan.config_hash, "code_version": code_version(),
           "cpus_per_trial": cpus, "gpus_per_trial": gpus, "force": opts.force,
           "data_root": _resolved_root(opts.data_root),
           "inception_weights": opts.inception_weights}
    # One Tune experiment per invocation (ray/i0, ray/i1, …): a resumed run starts a fresh Tuner over the
    # unfinished trials; the parts, not Tune's experiment state, say what is finished.
    store = run_dir.resolve() / "ray"
    name = f"i{len(list(store.glob('i*'))) if store.exists() else 0}"
    trainable = tune.with_resources(_trainable, {"cpu": cpus, "gpu": gpus})
    tuner = tune.Tuner(
        trainable,
        param_space={"spec": tune.grid_search([t.model_dump(mode="json") for t in todo]), "ctx": ctx},
        tune_config=tune.TuneConfig(
            reuse_actors=True, max_concurrent_trials=max_conc,
            trial_name_creator=lambda t: TrialSpec.model_validate(t.config["spec"]).trial_id,
            trial_dirname_creator=lambda t: TrialSpec.model_validate(t.config["spec"]).trial_id),
        run_config=tune.RunConfig(
            name=name, storage_path=str(store), verbose=0,
            failure_config=tune.FailureConfig(max_failures=res.max_failures),
            callbacks=[_progress_callback(len(todo), opts, t0)]),
    )
    grid = tuner.fit()
    errors = {}
    for r in grid:
        if r.error is not None:
            errors[TrialSpec.model_validate(r.config["spec"]).trial_id] = f"{type(r.error).__name__}: {r.error}"
    _record_lost_trials(todo, run_dir, plan, errors)


def _who(spec: dict) -> str:
    """A trial in the progress lines: method (and its variant), dataset, seed."""
    variant = f" [{spec['variant']}]" if spec.get("variant") else ""
    return f"{spec['method']}{variant} on {spec['dataset']}, seed {spec['seed']}"


def _record_lost_trials(todo: list[TrialSpec], run_dir: Path, plan: RunPlan, errors: dict[str, str]) -> None:
    """A trial whose worker died (after Ray's retries) has no part: record it as failed, nothing lost. A trial
    that simply never ran (the sweep was interrupted) stays unfinished, for --resume."""
    from bench.provenance import code_version

    now = datetime.now(timezone.utc)
    for spec in todo:
        if spec.trial_id not in errors or read_trial_status(run_dir, spec.trial_id) is not None:
            continue
        row = {"trial_id": spec.trial_id, "suite": spec.suite, "profile": spec.profile, "dataset": spec.dataset,
               "method": spec.method, "seed": spec.seed, "status": "failed",
               "error": errors[spec.trial_id],
               "steps": 0, "wall_s": 0.0, "device": "", "node_id": "", "n_params": 0,
               "hparams": spec.model_dump_json(), "config_hash": plan.config_hash,
               "code_version": code_version(), "started_at": now, "finished_at": now, "variant": spec.variant}
        write_trial_part(run_dir, row, [], [])


# -- the driver ------------------------------------------------------------------------------------------
def run_sweep(plan: RunPlan, opts: SweepOptions) -> SweepSummary:
    from bench.provenance import code_version

    t0 = time.time()
    check_writable(opts.out_root)
    from bench.evaluators import check_plan_inception

    # Missing Inception weights are a UserError before any trial (never a download attempt inside one).
    weights = check_plan_inception({(m, t.dataset) for t in plan.trials for m in t.metrics},
                                   opts.inception_weights)
    opts = replace(opts, inception_weights=None if weights is None else str(weights))
    run_dir = None
    if opts.resume:
        run_dir = find_resumable(opts.out_root, plan.suite.name, plan.config_hash)
        if run_dir is None:
            _log(opts, f"--resume: no run of {plan.suite.name}/{plan.profile} with config {plan.config_hash[:8]} "
                       f"under {opts.out_root}; starting a new run")
    if run_dir is None:
        run_dir = new_run_dir(opts.out_root, plan.suite.name, plan.config_hash)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out {opts.out_root}: cannot create the run folder {run_dir} ({e.strerror or e}); pass "
                        "--out with a folder you can write to") from None
    run_id = run_dir.name
    now = datetime.now(timezone.utc).isoformat()
    previous = _read_json(run_dir / "run.json")
    started = previous.get("started_at", now)  # a resumed run keeps its start; each invocation is listed
    reference = reference_speed(opts)
    invocations = previous.get("invocations", []) + [{"at": now, "cli": opts.argv, "reference_speed": reference}]
    write_json(run_dir / "run.json", run_json(plan, opts, run_id, "running", started_at=started,
                                              invocations=invocations, reference_speed=reference))

    todo, skipped, other_code = [], 0, []
    current = code_version()
    for spec in plan.trials:
        meta = read_trial_meta(run_dir, spec.trial_id)
        if meta is not None and meta["status"] in FINISHED and not opts.force:
            skipped += 1
            if meta["code_version"] != current:
                other_code.append(meta["code_version"])
        else:
            todo.append(spec)
    _log(opts, f"run {run_dir}  ({plan.suite.name}, profile {plan.profile}, {len(plan.trials)} trials"
               + (f", {skipped} already finished" if skipped else "") + ")")
    if other_code:
        # A trial id covers method, dataset, seed and params, not the code: a resumed run keeps what older code made.
        _log(opts, f"warning: {len(other_code)} finished trial(s) kept from code {', '.join(sorted(set(other_code)))}, "
                   f"not this code ({current}); --force re-runs them, or start a new run (no --resume)")
    if todo:
        _run_ray(todo, run_dir, plan, opts, t0)
    counts_rows = merge_parts(run_dir)
    from bench.results import read_table

    trials = read_table(run_dir, "trials")
    counts = {s: int((trials["status"] == s).sum()) for s in ("completed", "diverged", "failed")}
    unfinished = len({t.trial_id for t in plan.trials} - set(trials["trial_id"]))
    wall = time.time() - t0
    write_json(run_dir / "run.json", run_json(
        plan, opts, run_id, "interrupted" if unfinished else "finished", started_at=started,
        finished_at=datetime.now(timezone.utc).isoformat(), invocations=invocations, wall_s=wall, counts=counts,
        unfinished=unfinished, rows=counts_rows, reference_speed=reference))
    return SweepSummary(run_dir=run_dir, counts=counts, ran=len(todo), skipped=skipped, wall_s=wall,
                        unfinished=unfinished)
