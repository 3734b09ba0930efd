"""Vectorised seeds (bench/vectorised.py, methods/stacked.py): each seed's losses, parameters and rows equal its
separate run_trial's within float rounding, and the comparison catches seeds that share a random stream or an
optimiser state.

Tolerances (float32; batched matmuls sum in another order than the separate trial's addmm, ~1e-7 relative per op,
grown over 30 GAN steps). Measured worst over gan/mgan × seeds 0-2 (batch 64, 32 fakes, 30 steps): losses 1.2e-7
relative; parameters 6.6e-5 of a tensor's norm (MGAN's w_in; most tensors ~1e-7); metric values 1e-7 relative;
kept samples 1.3e-5 absolute. Stated:
- losses: rel 1e-4 at every step;
- parameters: per tensor ‖Δ‖₂ ≤ 1e-3·‖θ‖₂ + 1e-6·√numel. Not element-wise: Adam normalises each element's step, so
  an element whose gradient is a near-cancelling sum (or a ReLU kink crossed at rounding level) moves by up to
  ~lr per step differently (measured: one element of MGAN's w_in off by 1.2e-4 after 30 steps of lr 2e-4);
- metric values: rel 1e-3, abs 1e-6 (mode / HQ counts: a point crossing a boundary would show); kept samples:
  atol 1e-3 (2-D points of scale ~1).
A shared stream or pooled Adam moments move parameters by 1e-2..1e-1 of their norm: caught (tests below).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.errors import UserError
from bench.trial import run_trial
from bench.vectorised import run_trials_vectorised, supported_methods
from specs import make_spec

STEPS = 30
SMALL = {"batch_size": 64, "fake_batch_size": 32}  # small batches: fast, still every code path


def specs_for(method: str, seeds) -> list:
    return [make_spec(method=method, seed=s, steps=STEPS, eval_steps=[0, 15, STEPS], params=SMALL) for s in seeds]


def run_separate(spec):
    """run_trial(spec), with its per-step losses and its final method recorded (train_step wrapped)."""
    from bench.registry import METHODS

    cls = METHODS.get(spec.method)
    record: dict = {"losses": []}
    orig = cls.train_step

    def train_step(self, x, y=None):
        record["method"] = self
        losses = orig(self, x, y)
        record["losses"].append(losses)
        return losses

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cls, "train_step", train_step)
        out = run_trial(spec)
    return out, record


def run_stacked(specs, tamper=None):
    """run_trials_vectorised(specs), with the per-step per-seed losses and the stack (its seeds' methods hold
    the written-back parameters of the last evaluation) recorded; `tamper(stack)` breaks it on purpose."""
    record: dict = {"losses": []}

    def hook(stack):
        record["stack"] = stack
        orig = stack.step

        def step(x, y=None):
            losses = orig(x, y)
            record["losses"].append(losses)
            return losses

        stack.step = step
        if tamper:
            tamper(stack)

    outs = run_trials_vectorised(specs, stack_hook=hook)
    return outs, record


def mismatches(i: int, vec_out, vec_rec, sep_out, sep_rec) -> list[str]:
    """Where seed i of the vectorised run leaves its separate trial's numbers (beyond the stated tolerances)."""
    bad = []
    for step, (v, s) in enumerate(zip(vec_rec["losses"], sep_rec["losses"]), 1):
        for k in s:
            if v[k][i] != pytest.approx(s[k], rel=1e-4):
                bad.append(f"{k} at step {step}: {v[k][i]} vs {s[k]}")
    if len(vec_rec["losses"]) != len(sep_rec["losses"]):
        bad.append("different step counts")
    vec_params = dict(vec_rec["stack"].methods[i].named_parameters())
    for name, p in sep_rec["method"].named_parameters():
        diff = (vec_params[name] - p).norm().item()
        if not diff <= 1e-3 * p.norm().item() + 1e-6 * p.numel() ** 0.5:
            bad.append(f"param {name}: |diff| {diff:.3g} of |param| {p.norm().item():.3g}")
    vt, st = dict(vec_out.trial), dict(sep_out.trial)
    for row in (vt, st):
        for k in ("wall_s", "started_at", "finished_at"):
            row.pop(k)
    vh, sh = json.loads(vt.pop("hparams")), json.loads(st.pop("hparams"))
    vh.pop("vectorised")
    if vt != st or vh != sh:
        bad.append(f"trial rows differ: {vt} vs {st}")
    keys = lambda rows: [{k: v for k, v in r.items() if k not in ("value", "x", "y")} for r in rows]  # noqa: E731
    if keys(vec_out.metrics) != keys(sep_out.metrics):
        bad.append("metric rows differ in keys or order")
    for v, s in zip(vec_out.metrics, sep_out.metrics):
        if v["value"] != pytest.approx(s["value"], rel=1e-3, abs=1e-6):
            bad.append(f"metric {s['metric']} at step {s['step']}: {v['value']} vs {s['value']}")
    pts = lambda rows: np.array([[r["x"], r["y"]] for r in rows])  # noqa: E731
    if keys(vec_out.samples) != keys(sep_out.samples) or len(vec_out.samples) != len(sep_out.samples):
        bad.append("sample rows differ")
    elif not np.allclose(pts(vec_out.samples), pts(sep_out.samples), rtol=0, atol=1e-3):
        bad.append("sample points differ")
    return bad


@pytest.fixture(scope="module", params=["gan", "mgan"])
def separate(request):
    """Each seed's separate trial (seeds 0, 1, 2)."""
    return request.param, [run_separate(spec) for spec in specs_for(request.param, range(3))]


@pytest.mark.parametrize("n_seeds", [1, 3])
def test_each_seed_matches_its_separate_trial(separate, n_seeds):
    method, sep = separate
    outs, rec = run_stacked(specs_for(method, range(n_seeds)))
    assert len(rec["losses"]) == STEPS
    assert [o.status for o in outs] == ["completed"] * n_seeds
    for i in range(n_seeds):
        assert mismatches(i, outs[i], rec, *sep[i]) == []
    assert {r["step"] for r in outs[-1].metrics} == {0, 15, STEPS} and outs[-1].samples  # rows were compared


def test_seeds_sharing_one_random_stream_are_caught(separate):
    method, sep = separate

    def share_stream(stack):  # the bug: every seed draws its latents from seed 0's stream, one after the other
        stack.streams = [stack.streams[0]] * stack.n_seeds

    outs, rec = run_stacked(specs_for(method, range(3)), share_stream)
    for i in range(3):  # seed 0's own draws come first at step 1 only: from step 2 on, every seed's are wrong
        assert any(m.startswith("param") for m in mismatches(i, outs[i], rec, *sep[i]))


def test_seeds_sharing_an_optimiser_state_are_caught(separate):
    method, sep = separate

    def share_moments(stack):  # the bug: one Adam state for all seeds (moments pooled over the seed axis)
        for opt in stack.optimizers.values():
            orig = opt.step

            def step(orig=orig, opt=opt):
                orig()
                for state in opt.state.values():
                    for k in ("exp_avg", "exp_avg_sq"):
                        state[k].copy_(state[k].mean(0, keepdim=True).expand_as(state[k]))

            opt.step = step

    outs, rec = run_stacked(specs_for(method, range(3)), share_moments)
    for i in range(3):
        bad = mismatches(i, outs[i], rec, *sep[i])
        assert any(m.startswith("param") for m in bad) and any(m.startswith("loss") for m in bad)


def test_a_diverging_seed_stops_alone(separate):
    """NaN weights in seed 1 (injected): it is recorded as diverged at step 1 and the others keep their numbers."""
    method, sep = separate

    def poison(stack):  # after the step-0 evaluation, before step 1
        orig = stack.step

        def step(x, y=None):
            if not stack.poisoned:
                stack.poisoned = True
                with torch.no_grad():
                    for part in next(iter(stack.players.values())):
                        for t in part.parameters():
                            t[1].fill_(float("nan"))
            return orig(x, y)

        stack.poisoned = False
        stack.step = step

    outs, rec = run_stacked(specs_for(method, range(3)), poison)
    assert outs[1].status == "diverged" and outs[1].trial["steps"] == 1
    assert outs[1].trial["error"].startswith("non-finite loss_") and "at step 1" in outs[1].trial["error"]
    assert {r["step"] for r in outs[1].metrics} == {0}  # only the evaluation before training
    for i in (0, 2):
        assert outs[i].status == "completed" and mismatches(i, outs[i], rec, *sep[i]) == []


def test_only_exact_gan_and_mgan_stack():
    assert supported_methods() == ["gan", "mgan"]
    with pytest.raises(UserError, match=r"'pacgan'.*cannot be stacked.*\['gan', 'mgan'\]"):
        run_trials_vectorised([make_spec(method="pacgan", seed=s, steps=2, params=SMALL) for s in (0, 1)])


def test_specs_must_differ_in_the_seed_only():
    a = make_spec(seed=0, steps=2)
    with pytest.raises(UserError, match=r"differ in \['params'\]"):
        run_trials_vectorised([a, make_spec(seed=1, steps=2, params={"lr": 1e-3})])
    with pytest.raises(UserError, match="repeated seeds"):
        run_trials_vectorised([a, a])


@pytest.mark.parametrize("method", ["gan", "mgan"])
def test_other_network_and_schedule_params_are_honoured(method):
    """U(−1, 1) latents, tanh hidden layers, a scaled-tanh output and lr halving every 5 steps (MD-GAN's 2-D code's
    choices) go through the stacked path too: 2 seeds, 12 steps, against each seed's separate trial."""
    params = {**SMALL, "z_dist": "uniform", "hidden_act": "tanh", "g_out_scale": 6.0, "lr_halve_every": 5}
    specs = [make_spec(method=method, seed=s, steps=12, eval_steps=[12], params=params) for s in (3, 4)]
    outs, rec = run_stacked(specs)
    assert rec["stack"].optimizers["G"].param_groups[0]["lr"] == pytest.approx(2e-4 / 4)  # halved at 5 and 10
    for i, spec in enumerate(specs):
        assert mismatches(i, outs[i], rec, *run_separate(spec)) == []


def test_no_other_method_inherits_a_stacked_step():
    """GAN's subclasses (PacGAN, SN-GAN, Unrolled GAN, GAN++, Nx-GAN, MoE-GAN) override hooks the stacked step
    would ignore: built for real, every subclass answers None (the other methods keep Method.stack's None:
    `supported_methods`, above)."""
    from bench.data import build_dataset
    from bench.registry import METHODS
    from bench.suites import resolve_method_params
    from methods.gan import GAN
    from methods.mgan import MGAN
    from methods.base import Method
    from methods.stacked import RngStream

    data = build_dataset("ring8_mgan", 0)
    answers = {}
    for name in METHODS.names():
        cls = METHODS.get(name)
        if not issubclass(cls, (GAN, MGAN)):
            assert cls.stack.__func__ is Method.stack.__func__
            continue
        methods = [cls(data.spec, cls.Params(**resolve_method_params(name, SMALL if name in ("gan", "mgan") else {},
                                                                      where="test"))) for _ in range(2)]
        answers[name] = cls.stack(methods, [RngStream.capture(), RngStream.capture()]) is not None
    assert {n for n, ok in answers.items() if ok} == {"gan", "mgan"}
    assert {"pacgan", "sngan", "unrolled_gan", "gan_pp", "nx_gan", "moe_gan"} <= set(answers)
