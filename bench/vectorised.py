"""Several seeds of one method × dataset trained as ONE vectorised model (issue 16), giving each seed the rows
its separate `bench.trial.run_trial` gives (trials / metrics / samples), up to float rounding.

    outs = run_trials_vectorised([spec_seed0, spec_seed1, spec_seed2])  # specs equal but for the seed

How: each seed is set up exactly as `run_trial` sets it up (`seed_everything(seed)`, `build_trial`: data, then
the method, so its initial weights are its separate trial's; its batch generator seeded with the seed), and the
global torch RNG state right after is kept as that seed's stream. The method's `stack` (methods/stacked.py;
`gan` and `mgan` on 2-D points) trains the S seeds as one model; every step each seed draws its real batch from
its own generator. At each evaluation step the stacked parameters are written back into each seed's own method
and `bench.trial._eval_into` evaluates it: the metric and sample rows come from the separate trial's code.

Tolerance (tests/test_vectorised.py, 30 steps, gan and mgan, 1 and 3 seeds): losses within rel 1e-4 at every
step; each parameter tensor within ‖Δ‖₂ ≤ 1e-3·‖θ‖₂ + 1e-6·√numel (norm-wise, since Adam's per-element
normalisation can turn a rounding-level gradient difference into ~lr on a single element); metric values
within rel 1e-3 / abs 1e-6; kept samples within 1e-3. Measured: 1e-7 (losses, metrics), ≤ 7e-5 (parameters).

Differences from separate trials, recorded in each seed's hparams under "vectorised": `wall_s` is the group's wall
time divided by the number of seeds (the seeds ran together); there are no checkpoints (a vectorised group
cannot resume mid-run: rerun it, or run the seed alone with `run_trial`). A seed that diverges stops
recording rows at that step (status `diverged`, as its separate trial), while the others train on.
"""
from __future__ import annotations

import json
import math
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import torch

from bench.errors import UserError
from bench.suites import TrialSpec
from bench.trial import Diverged, TrialOutput, _eval_into, build_trial, new_trial, record_size, seed_everything


@dataclass
class _Seed:
    spec: TrialSpec
    out: TrialOutput
    hparams: dict
    data: object = None
    method: object = None
    metrics: list | None = None
    batch_gen: torch.Generator | None = None
    active: bool = True

    def stop(self, status: str, error: str, step: int) -> None:
        self.out.trial.update(status=status, error=error, steps=step)
        self.active = False


def supported_methods() -> list[str]:
    """Registered methods that implement `stack` themselves (a subclass inheriting it reports no support)."""
    from bench.registry import METHODS

    return sorted(n for n in METHODS.names() if "stack" in vars(METHODS.get(n)))


def check_specs(specs: list[TrialSpec]) -> None:
    """The specs must be one method × dataset × params, at distinct seeds."""
    if not specs:
        raise UserError("run_trials_vectorised: no trial specs given; pass one TrialSpec per seed")
    base = specs[0].model_dump(exclude={"seed"})
    for s in specs[1:]:
        other = s.model_dump(exclude={"seed"})
        diff = sorted(k for k in base if base[k] != other[k])
        if diff:
            raise UserError(f"run_trials_vectorised: the specs differ in {diff} (seed {specs[0].seed} vs seed "
                            f"{s.seed}); a vectorised group is one method × dataset × params at several seeds: "
                            "group the specs so that only `seed` differs")
    seeds = [s.seed for s in specs]
    if len(set(seeds)) != len(seeds):
        raise UserError(f"run_trials_vectorised: repeated seeds {seeds}; give each seed once")


def run_trials_vectorised(specs: list[TrialSpec], *, config_hash: str = "", code_version: str = "",
                          device: str = "cpu", threads: int | None = None, node_id: str = "",
                          data_root: str | None = None,
                          stack_hook: Callable | None = None) -> list[TrialOutput]:
    """One TrialOutput per spec, in order, as `run_trial(spec)` returns it (see the module doc for the
    tolerance and the differences). `stack_hook(stack)`, for tests: called on the built stack before training."""
    check_specs(specs)
    t0 = time.perf_counter()
    if threads:
        torch.set_num_threads(int(threads))
    seeds, streams = [], []
    from methods.stacked import RngStream

    for spec in specs:
        out, hp = new_trial(spec, config_hash=config_hash, code_version=code_version, device=device,
                            node_id=node_id)
        seed = _Seed(spec, out, hp)
        seeds.append(seed)
        try:
            seed_everything(spec.seed)
            seed.data, cls, seed.method, seed.metrics = build_trial(spec, hp, device, data_root)
            record_size(out.trial, hp, seed.method)
            seed.batch_gen = torch.Generator().manual_seed(spec.seed)
            streams.append(RngStream.capture(device))  # the streams its separate trial trains with
        except Exception as e:  # noqa: BLE001 - recorded as its separate trial records it
            seed.stop("failed", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=-3)}", 0)
    group = [s for s in seeds if s.active]
    if group:
        _train(group, streams, data_root, stack_hook)
    wall = time.perf_counter() - t0
    finished = datetime.now(timezone.utc)
    for s in seeds:
        row = s.out.trial
        row["wall_s"], row["finished_at"] = wall / len(seeds), finished
        s.hparams["vectorised"] = {"n_seeds": len(seeds), "seeds": [x.spec.seed for x in seeds],
                                   "group_wall_s": wall, "wall_s": "the group's wall time / n_seeds",
                                   "checkpoints": "none (a vectorised group does not checkpoint)"}
        if s.out.eval_protocol:
            s.hparams["evaluation_protocol"] = s.out.eval_protocol
        row["hparams"] = json.dumps(s.hparams, sort_keys=True, default=str)
    return [s.out for s in seeds]


def _train(group: list[_Seed], streams: list, data_root, stack_hook) -> None:
    spec = group[0].spec
    cls = type(group[0].method)
    if not cls.trainable:
        raise UserError(f"run_trials_vectorised: method {spec.method!r} does not train; run its trials with "
                        "run_trial")
    stack = cls.stack([s.method for s in group], streams)
    if stack is None:
        raise UserError(f"run_trials_vectorised: method {spec.method!r} on dataset {spec.dataset!r} "
                        f"({group[0].data.spec.kind}) cannot be stacked; vectorised seeds support "
                        f"{supported_methods()} on 2-D point datasets: run these trials with run_trial")
    if stack_hook is not None:
        stack = stack_hook(stack) or stack
    evals = set(spec.eval_steps)

    def evaluate(step: int) -> None:
        stack.write_back()
        for s in group:
            if s.active:
                try:
                    _eval_into(s.out, s.spec, s.spec.trial_id, step, s.method, s.data, s.metrics, data_root)
                except Diverged as e:
                    s.stop("diverged", str(e), step)
                except Exception as e:  # noqa: BLE001
                    s.stop("failed", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=-3)}", step)

    step = 0
    try:
        if 0 in evals:
            evaluate(0)
        while step < spec.steps and any(s.active for s in group):
            step += 1
            batches = [s.data.batch(s.method.batch_size, s.batch_gen) for s in group]
            x = torch.stack([b[0] for b in batches])  # (S, batch, d): seed s's batch from its own generator
            y = torch.stack([b[1] for b in batches]) if all(torch.is_tensor(b[1]) for b in batches) else None
            losses = stack.step(x, y)
            for i, s in enumerate(group):
                bad = [(k, v[i]) for k, v in losses.items() if not math.isfinite(v[i])]
                if s.active and bad:
                    s.stop("diverged", f"non-finite {bad[0][0]} ({bad[0][1]}) at step {step}", step)
            if step in evals:
                evaluate(step)
        for s in group:
            if s.active:
                s.out.trial["steps"] = step
    except Exception as e:  # noqa: BLE001 - a failed step fails every seed still training, recorded
        for s in group:
            if s.active:
                s.stop("failed", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=-3)}", step)
