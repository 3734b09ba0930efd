"""Sweeps through Ray Tune (local Ray, one session for all tests in this file): the full smoke sweep of
mode_collapse, resume, and a failing trial."""
import json
import math
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bench.cli import main
from bench.results import METRICS_SCHEMA, SAMPLES_SCHEMA, TRIALS_SCHEMA

pytestmark = pytest.mark.ray
MANY = ["deligan", "ensemble_gan", "moe_gan"]  # N = 50 latent Gaussians / generators / codes on every dataset
# K = the dataset's classes (the K rule; MGAN too since issue 15), or one component per class (references, AC-GAN)
CLASSES = ["gmgan_static", "gmgan_dynamic", "gmgan_supervised", "pcmgan", "mgan", "acgan", "infogan", "oracle",
           "collapsed"]
SINGLE = ["gan", "mdgan", "gan_pp", "nx_gan", "unrolled_gan", "wgan_gp", "sngan", "d2gan", "pacgan", "veegan"]
ALL_METHODS = MANY + CLASSES + SINGLE


def only_run_dir(root: Path, suite: str) -> Path:
    runs = sorted((root / suite).iterdir())
    assert len(runs) == 1, runs
    return runs[0]


@pytest.fixture(scope="module")
def smoke_run(ray_env, tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["run", "--suite", "mode_collapse", "--profile", "smoke", "--out", str(out)])
    return rc, out, only_run_dir(out, "mode_collapse"), buf.getvalue()


def test_smoke_sweep_exits_0_and_prints_where_results_are(smoke_run):
    rc, _, run_dir, stdout = smoke_run
    assert rc == 0
    assert f"run folder: {run_dir}" in stdout and str(run_dir / "trials.parquet") in stdout
    assert f"report: {run_dir / 'report' / 'index.html'}" in stdout
    assert "132/132 done" in stdout  # progress lines


def test_smoke_sweep_tables_have_the_schema_and_row_counts(smoke_run):
    _, _, run_dir, _ = smoke_run
    trials = pq.read_table(run_dir / "trials.parquet")
    metrics = pq.read_table(run_dir / "metrics.parquet")
    samples = pq.read_table(run_dir / "samples.parquet")
    assert trials.schema.equals(TRIALS_SCHEMA) and metrics.schema.equals(METRICS_SCHEMA)
    assert samples.schema.equals(SAMPLES_SCHEMA)
    t = trials.to_pandas()
    assert len(t) == 22 * 6 and set(t.status) == {"completed"} and t.trial_id.is_unique
    assert set(t.method) == set(ALL_METHODS) and len(set(t.dataset)) == 6
    refs = t.method.isin(["oracle", "collapsed"])
    assert (t[~refs].n_params > 0).all() and (t[refs].n_params == 0).all()
    m = metrics.to_pandas()
    # smoke: 2 evaluations. Every method: 6 sample metrics on 5 datasets, 3 on gm9 (3σ metrics do not apply).
    # The 2 latent metrics need >= 2 latent components: always for MANY (N = 50), for CLASSES
    # (K = the dataset's classes) on the 5 datasets with more than one class, never for single-latent methods.
    latent = 2 * (len(MANY) * 6 + len(CLASSES) * 5)
    # qd_quality/qd_diversity: 16 latent scales, final step only, on the 4 datasets with separated modes (not gm9,
    # not the one-mode deligan_uni)
    qd = 22 * 4 * 2 * 16
    assert len(m) == 2 * (22 * (5 * 6 + 3) + latent) + qd
    assert set(m[m.sigma.notna()].step) == {20}
    assert not m.duplicated(["trial_id", "step", "metric", "sigma", "subset"]).any()
    assert set(m.subset) == {"all"}
    s = samples.to_pandas()
    assert (s.component.isna()).sum() == 132 * 2 * 512  # the mixture's 512 points per evaluation
    # per-component points (≈ 512 spread over the components) for every method with several components
    multi = s[s.component.notna()]
    assert set(multi.method) == set(MANY) | set(CLASSES)
    # MGAN's K = the dataset's classes (one generator on the one-mode deligan_uni: no per-component draws there)
    k = {"ring8_mgan": 8, "ring8_mdgan": 8, "grid25": 25, "gm9": 9, "deligan_bimodal": 2}
    per = multi[multi.method == "mgan"].groupby(["dataset", "trial_id", "step"]).component.nunique()
    assert set(per.index.get_level_values("dataset")) == set(k)
    assert all(n == k[ds] for (ds, _, _), n in per.items())


def test_calibration_rows_in_the_sweeps_own_parquet(smoke_run):
    _, _, run_dir, _ = smoke_run
    m = pq.read_table(run_dir / "metrics.parquet").to_pandas()
    final = m[m.step == m.step.max()]
    g = final[final.dataset == "grid25"].pivot_table(index="method", columns="metric", values="value")
    assert g.loc["oracle", "modes"] == 25 and g.loc["collapsed", "modes"] == 1
    # 1 − e^{−4.5}; binomial std at n = 2,500 is 0.21 %, so ±0.6 is ~3 std
    assert g.loc["oracle", "hq"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.6)
    assert g.loc["collapsed", "mode_kl"] == pytest.approx(math.log(25), rel=1e-12)


def test_run_json_records_provenance(smoke_run):
    _, _, run_dir, _ = smoke_run
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "finished" and run["profile"] == "smoke" and run["counts"]["completed"] == 132
    assert run["suite_config"]["name"] == "mode_collapse" and run["seeds"] == [0]
    assert "torch" in run["packages"] and run["machine"]["cpu_count"] >= 1
    assert run["git"]["commit"] is None or len(run["git"]["commit"]) == 40
    assert run["cli"] == ["bench", "run", "--suite", "mode_collapse", "--profile", "smoke", "--out",
                          str(run_dir.parent.parent)]


def test_resume_of_a_finished_run_runs_nothing_and_exits_0(smoke_run, capsys):
    _, out, run_dir, _ = smoke_run
    before = pq.read_table(run_dir / "metrics.parquet").to_pandas()
    rc = main(["run", "--suite", "mode_collapse", "--profile", "smoke", "--out", str(out), "--resume",
               "--no-report"])
    stdout = capsys.readouterr().out
    assert rc == 0 and "(0 run, 132 skipped)" in stdout and f"run folder: {run_dir}" in stdout
    assert only_run_dir(out, "mode_collapse") == run_dir
    after = pq.read_table(run_dir / "metrics.parquet").to_pandas()
    assert after.equals(before)
    assert "warning" not in stdout  # same code: nothing to say


def test_resume_says_when_it_keeps_trials_that_older_code_made(smoke_run, capsys, monkeypatch):
    """A trial id covers method, dataset, seed and params, not the code: after a code change --resume keeps the old
    results (exactly-once), and says so with the fix."""
    import bench.provenance

    _, out, run_dir, _ = smoke_run
    recorded = pq.read_table(run_dir / "trials.parquet", columns=["code_version"]).column(0)[0].as_py()
    monkeypatch.setattr(bench.provenance, "code_version", lambda: "0.0.0+gnewer")
    rc = main(["run", "--suite", "mode_collapse", "--profile", "smoke", "--out", str(out), "--resume",
               "--no-report"])
    stdout = capsys.readouterr().out
    assert rc == 0 and "(0 run, 132 skipped)" in stdout
    assert (f"warning: 132 finished trial(s) kept from code {recorded}, not this code (0.0.0+gnewer); --force re-runs "
            "them, or start a new run (no --resume)") in stdout


def test_failed_and_diverged_trials(ray_env, tmp_path, capsys):
    """A trial that raises is `failed` (exit 1, the others finish, the report builds); a NaN trial is
    `diverged` (a result: exit 0, counted in the report, never averaged in)."""
    suite = tmp_path / "faulty.yaml"
    suite.write_text(textwrap.dedent("""
        name: faulty
        datasets: [grid25]
        methods: [gan, oracle, collapsed]
        metrics: [modes]
        params:
          collapsed: {mode: 99}   # grid25 has 25 modes: construction raises in the worker
          gan: {lr: 1.0e+30}      # the first steps overflow: a non-finite loss
        profiles:
          smoke: {steps: 5, seeds: 1}
          default: {steps: 5, seeds: 1}
          paper: {steps: 5, seeds: 1}
        """))
    rc = main(["run", "--suite", str(suite), "--profile", "smoke", "--out", str(tmp_path / "f")])
    captured = capsys.readouterr()
    assert rc == 1 and "1 trial(s) failed" in captured.err
    run_dir = only_run_dir(tmp_path / "f", "faulty")
    t = pq.read_table(run_dir / "trials.parquet").to_pandas().set_index("method")
    assert t.loc["collapsed", "status"] == "failed" and "mode 99 out of range" in t.loc["collapsed", "error"]
    assert t.loc["gan", "status"] == "diverged" and "non-finite" in t.loc["gan", "error"]
    assert t.loc["oracle", "status"] == "completed"
    md = (run_dir / "report" / "leaderboard.md").read_text()
    assert "| gan | 0 (1 diverged) |" in md and "*collapsed (reference)* | 0 (1 failed) |" in md

    no_fail = tmp_path / "diverging.yaml"
    no_fail.write_text(suite.read_text().replace("name: faulty", "name: diverging")
                       .replace("methods: [gan, oracle, collapsed]", "methods: [gan, oracle]"))
    assert main(["run", "--suite", str(no_fail), "--profile", "smoke", "--out", str(tmp_path / "f")]) == 0
    capsys.readouterr()


def test_a_failing_only_run_has_no_report_and_from_replays_a_run(ray_env, tmp_path, capsys):
    suite = tmp_path / "failing.yaml"
    suite.write_text(textwrap.dedent("""
        name: failing
        datasets: [grid25]
        methods: [oracle]
        metrics: [modes]
        params:
          oracle: {mode: 99}
        profiles:
          smoke: {steps: 2, seeds: 1}
          default: {steps: 2, seeds: 1}
          paper: {steps: 2, seeds: 1}
        """))
    ok_suite = tmp_path / "ok.yaml"
    ok_suite.write_text(suite.read_text().replace("{mode: 99}", "{mode: 0}").replace("name: failing", "name: ok"))
    rc = main(["run", "--suite", str(suite), "--profile", "smoke", "--out", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert rc == 1
    run_dir = only_run_dir(tmp_path / "r", "failing")
    # no completed trial: the report says so (exit 1) and writes nothing
    assert "no completed trial" in captured.err and not (run_dir / "report").exists()
    rc = main(["run", "--suite", str(ok_suite), "--profile", "smoke", "--out", str(tmp_path / "r")])
    assert rc == 0
    ok_run = only_run_dir(tmp_path / "r", "ok")
    # --from replays the recorded run (resolved suite + selection) into a new folder: the same rows
    ok_suite.unlink()  # the replay must not need the suite file
    rc = main(["run", "--from", str(ok_run), "--no-report"])
    assert rc == 0
    runs = sorted((tmp_path / "r" / "ok").iterdir())
    assert len(runs) == 2
    a, b = (pq.read_table(r / "metrics.parquet").to_pandas() for r in runs)
    assert a.equals(b)
    replay = json.loads((runs[1] / "run.json").read_text())
    assert replay["config_hash"] == json.loads((ok_run / "run.json").read_text())["config_hash"]
    assert replay["selection"] == {"profile": "smoke", "suite": str(ok_suite), "methods": None, "datasets": None,
                                   "seeds": None}


def test_max_concurrent_is_respected(ray_env, tmp_path):
    rc = main(["run", "--suite", "mode_collapse", "--profile", "smoke", "--methods", "gan", "--datasets",
               "ring8_mgan", "--seeds", "3", "--max-concurrent", "1", "--out", str(tmp_path), "--no-report"])
    assert rc == 0
    t = pq.read_table(only_run_dir(tmp_path, "mode_collapse") / "trials.parquet").to_pandas()
    t = t.sort_values("started_at")
    # one at a time: each trial starts after the previous one finished
    assert (t.started_at.iloc[1:].to_numpy() >= t.finished_at.iloc[:-1].to_numpy()).all()


def test_ctrl_c_leaves_unstarted_trials_unfinished_not_failed(ray_env, tmp_path):
    """SIGINT to the driver: Tune stops; trials that never ran are *unfinished* (exit 130), not failed, and
    --resume runs exactly those."""
    import signal
    import subprocess
    import sys
    import time

    args = [sys.executable, "-m", "bench", "run", "--suite", "mode_collapse", "--profile", "smoke", "--methods",
            "gan", "--datasets", "ring8_mgan", "--seeds", "8", "--max-concurrent", "1", "--out", str(tmp_path),
            "--no-report"]
    env = dict(__import__("os").environ, RAY_AUTH_MODE="disabled", OMP_NUM_THREADS="1")
    driver = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    end = time.time() + 120
    while time.time() < end and not list(tmp_path.glob("mode_collapse/*/parts/*/trial.parquet")):
        time.sleep(0.1)
    driver.send_signal(signal.SIGINT)
    out, err = driver.communicate(timeout=120)
    assert driver.returncode == 130, out + err
    assert "unfinished (the sweep was interrupted)" in err
    run_dir = only_run_dir(tmp_path, "mode_collapse")
    t = pq.read_table(run_dir / "trials.parquet").to_pandas()
    assert 1 <= len(t) < 8 and "failed" not in set(t.status)
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    r = subprocess.run(args + ["--resume"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"({8 - len(t)} run, {len(t)} skipped)" in r.stdout
    assert len(pq.read_table(run_dir / "trials.parquet")) == 8


def test_progress_line_does_not_count_the_trial_that_just_reported_as_running(capsys):
    """A trial reports once, at its end, while Tune still lists it RUNNING: the last line must say 0 running."""
    from types import SimpleNamespace

    from bench.sweep import SweepOptions, _progress_callback

    cb = _progress_callback(2, SweepOptions(), 0.0)
    spec = {"method": "gan", "dataset": "grid25", "seed": 0}
    a = SimpleNamespace(status="RUNNING", config={"spec": spec})
    b = SimpleNamespace(status="RUNNING", config={"spec": {**spec, "seed": 1}})
    cb.on_trial_result(0, [a, b], a, {"status": "completed", "wall_s": 1.0})
    a.status = "TERMINATED"
    cb.on_trial_result(0, [a, b], b, {"status": "diverged", "wall_s": 2.0})
    first, last = capsys.readouterr().out.strip().splitlines()
    assert "1/2 done · 1 running · 0 failed · 0 diverged" in first
    assert "2/2 done · 0 running · 0 failed · 1 diverged" in last
