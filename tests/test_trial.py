import math

import numpy as np
import pytest
import torch

from bench.trial import eval_seed, run_trial
from specs import make_spec


def rows_by_key(out):
    return {(r["step"], r["metric"], r["subset"]): r["value"] for r in out.metrics}


def test_same_seed_gives_identical_metric_rows_on_cpu():
    spec = make_spec(steps=30, eval_steps=[10, 30])
    a, b = run_trial(spec), run_trial(spec)
    assert a.status == b.status == "completed"
    assert a.metrics == b.metrics and a.samples == b.samples  # bit-for-bit: same values, same order
    assert len(a.metrics) == 2 * 6


def test_a_different_seed_gives_different_rows():
    a = run_trial(make_spec(steps=30, seed=0))
    b = run_trial(make_spec(steps=30, seed=1))
    assert rows_by_key(a) != rows_by_key(b)


def test_evaluation_does_not_perturb_training(monkeypatch):
    """Evaluating at extra steps (forked RNG) must not change the final numbers. The two specs differ in
    their eval schedule, hence in trial_id; the eval seed is pinned to the step so only training can differ."""
    monkeypatch.setattr("bench.trial.eval_seed", lambda trial_id, step: step)
    few = run_trial(make_spec(steps=30, eval_steps=[30]))
    many = run_trial(make_spec(steps=30, eval_steps=[5, 10, 20, 30]))
    final = lambda out: {k: v for k, v in rows_by_key(out).items() if k[0] == 30}  # noqa: E731
    assert final(few) == final(many)


def test_eval_seed_is_fixed_per_trial_and_step():
    assert eval_seed("abc", 10) == eval_seed("abc", 10)
    assert len({eval_seed("abc", 10), eval_seed("abc", 20), eval_seed("abd", 10)}) == 3


def test_trial_row_carries_provenance():
    out = run_trial(make_spec(steps=5), config_hash="cfg123", code_version="0.1.0+gabc", node_id="n1")
    t = out.trial
    assert t["config_hash"] == "cfg123" and t["code_version"] == "0.1.0+gabc" and t["node_id"] == "n1"
    # MGAN App. C.1 Table 3 networks: G 256->128->128->2, D 2->128->1.
    g = 256 * 128 + 128 + 128 * 128 + 128 + 128 * 2 + 2
    d = 2 * 128 + 128 + 128 + 1
    assert t["n_params"] == g + d
    assert t["steps"] == 5 and t["status"] == "completed" and t["wall_s"] > 0
    import json

    hp = json.loads(t["hparams"])
    assert hp["params"]["lr"] == pytest.approx(2e-4) and hp["dataset"]["name"] == "ring8_mgan"
    assert hp["metrics"]["modes"]["n_samples"] == 2500 and hp["metrics"]["w1"]["n_samples"] == 10000


def test_oracle_through_the_trial_covers_grid25():
    out = run_trial(make_spec(method="oracle", dataset="grid25", steps=0, eval_steps=[0]))
    v = {r["metric"]: r["value"] for r in out.metrics}
    assert v["modes"] == 25
    # 1 − e^{−4.5} = 98.89 %; binomial std at n = 2,500 is 0.21 %: ±0.6 is ~3 std.
    assert v["hq"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.6)
    assert out.trial["n_params"] == 0


def test_gm9_skips_3sigma_metrics_and_records_why():
    import json

    out = run_trial(make_spec(method="oracle", dataset="gm9", steps=0, eval_steps=[0]))
    assert {r["metric"] for r in out.metrics} == {"nll", "sym_kl", "w1"}
    skipped = json.loads(out.trial["hparams"])["metrics_skipped"]
    assert set(skipped) == {"modes", "hq", "mode_kl"} and "overlap" in skipped["modes"]


def test_nan_loss_ends_the_trial_as_diverged_with_the_step(monkeypatch):
    from methods.gan import GAN

    real_step = GAN.train_step
    calls = {"n": 0}

    def step(self, x, y=None):
        calls["n"] += 1
        losses = real_step(self, x, y)
        return {**losses, "loss_g": math.nan} if calls["n"] == 7 else losses

    monkeypatch.setattr(GAN, "train_step", step)
    out = run_trial(make_spec(steps=20, eval_steps=[5, 10, 20]))
    assert out.status == "diverged"
    assert out.trial["steps"] == 7 and "non-finite loss_g" in out.trial["error"] and "step 7" in out.trial["error"]
    assert {r["step"] for r in out.metrics} == {5}  # the evaluation before divergence is kept


def test_non_finite_samples_are_divergence(monkeypatch):
    from methods.gan import GAN

    monkeypatch.setattr(GAN, "sample", lambda self, n, **kw: torch.full((n, 2), math.inf))
    out = run_trial(make_spec(steps=4, eval_steps=[2, 4]))
    assert out.status == "diverged" and "non-finite generated samples at step 2" in out.trial["error"]


def test_an_exception_ends_the_trial_as_failed_with_the_error(monkeypatch):
    from methods.gan import GAN

    def boom(self, x, y=None):
        raise RuntimeError("exploded on purpose")

    monkeypatch.setattr(GAN, "train_step", boom)
    out = run_trial(make_spec(steps=5))
    assert out.status == "failed" and "RuntimeError: exploded on purpose" in out.trial["error"]
    assert out.trial["steps"] == 1 and out.metrics == []


def test_a_cuda_out_of_memory_is_a_failed_trial_with_the_message_and_the_fix(monkeypatch):
    from methods.gan import GAN

    def oom(self, x, y=None):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 139.8 GiB total)")

    monkeypatch.setattr(GAN, "train_step", oom)
    out = run_trial(make_spec(steps=3))
    err = out.trial["error"]
    assert out.status == "failed" and err.startswith("OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert "--gpus-per-trial 0.5 or 1 instead of 0.25" in err and "--resume" in err
    # any other failure gets no GPU advice
    monkeypatch.setattr(GAN, "train_step", lambda self, x, y=None: (_ for _ in ()).throw(ValueError("bad")))
    assert "gpus-per-trial" not in run_trial(make_spec(steps=3)).trial["error"]


def test_resume_from_checkpoint_equals_uninterrupted(tmp_path, monkeypatch):
    spec = make_spec(steps=40, eval_steps=[10, 20, 30, 40], checkpoint_every=15)
    whole = run_trial(spec)
    ck = tmp_path / "ck.pt"
    from methods.gan import GAN

    real_step = GAN.train_step
    calls = {"n": 0}

    def dies_at_33(self, x, y=None):
        calls["n"] += 1
        if calls["n"] == 33:
            raise KeyboardInterrupt  # like a killed worker: not caught as a trial failure
        return real_step(self, x, y)

    monkeypatch.setattr(GAN, "train_step", dies_at_33)
    with pytest.raises(KeyboardInterrupt):
        run_trial(spec, checkpoint_path=ck)
    assert ck.exists()
    monkeypatch.setattr(GAN, "train_step", real_step)
    resumed = run_trial(spec, checkpoint_path=ck)
    import json

    assert json.loads(resumed.trial["hparams"])["resumed_from_step"] == 30
    assert resumed.metrics == whole.metrics and resumed.samples == whole.samples


def test_samples_kept_for_figures():
    out = run_trial(make_spec(steps=4, eval_steps=[2, 4]))
    assert len(out.samples) == 2 * 512
    xs = np.array([[s["x"], s["y"]] for s in out.samples])
    assert np.isfinite(xs).all()


def test_an_image_trial_keeps_png_grids_of_generated_component_and_real_images():
    from bench import imagegrid

    out = run_trial(make_spec(method="mgan", dataset="digits", steps=2, eval_steps=[1, 2], metrics=[],
                              params={"n_generators": 3, "batch_size": 8, "fake_batch_size": 4,
                                      "g_channels": 8, "d_channels": 8, "z_dim": 16}))
    assert out.status == "completed", out.trial["error"]
    kinds = [(r["step"], r["kind"], r["component"], r["n_images"]) for r in out.images]
    # each evaluation: 64 generated and 8 per generator; the 64 real training images once, at the first
    assert kinds == [(1, "generated", None, 64), (1, "component", 0, 8), (1, "component", 1, 8),
                     (1, "component", 2, 8), (1, "real", None, 64),
                     (2, "generated", None, 64), (2, "component", 0, 8), (2, "component", 1, 8),
                     (2, "component", 2, 8)]
    grid = imagegrid.decode(out.images[0]["png"])
    assert grid.shape == (8 * 18 + 2, 8 * 18 + 2, 3)  # 8 × 8 tiles of 16 px with 2-px padding
    # the grids are drawn under their own RNG: re-running gives the same bytes
    again = run_trial(make_spec(method="mgan", dataset="digits", steps=2, eval_steps=[1, 2], metrics=[],
                                params={"n_generators": 3, "batch_size": 8, "fake_batch_size": 4,
                                        "g_channels": 8, "d_channels": 8, "z_dim": 16}))
    assert [r["png"] for r in again.images] == [r["png"] for r in out.images]


def test_a_profile_sets_metric_sample_counts_by_name_and_for_the_rest_and_records_them():
    import json

    from bench.metrics import get_metric
    from bench.trial import with_samples

    out = run_trial(make_spec(steps=2, metrics=["modes", "hq", "nll"], metric_samples={"*": 300, "nll": 600}))
    hp = json.loads(out.trial["hparams"])["metrics"]
    assert hp["modes"]["n_samples"] == 300 and hp["modes"]["n_samples_protocol"] == 2500
    assert hp["hq"]["n_samples"] == 300 and hp["hq"]["n_samples_set_by_profile"] == 300
    assert hp["nll"]["n_samples"] == 600 and hp["nll"]["n_samples_protocol"] == 10_000
    m = get_metric("modes")
    assert with_samples(m, None) is m and with_samples(m, 2500) is m  # nothing set, or the protocol's own count
