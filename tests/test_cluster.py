"""A real (loopback) Ray cluster: scheduling on two nodes, fractional-GPU packing, and faults — a killed
worker and a killed driver — after which every (trial, step, metric) row exists exactly once and equals an
uninterrupted run's rows. Drivers run as `python -m bench` subprocesses against `ray.cluster_utils.Cluster`,
which the tests start and shut down themselves (only their own processes)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.ray
KEY = ["trial_id", "step", "metric", "sigma", "subset"]

SUITE = """
name: faults
datasets: [ring8_mgan]
methods: [gan, oracle]
metrics: [modes, hq, sym_kl]
profiles:
  smoke: {steps: 600, n_evals: 3, seeds: 3, checkpoint_every: 150}
  default: {steps: 3000, n_evals: 3, seeds: 3, checkpoint_every: 500}
  paper: {steps: 3000, n_evals: 3, seeds: 3, checkpoint_every: 500}
"""


def _env() -> dict:
    env = dict(os.environ, RAY_AUTH_MODE="disabled", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return env


@pytest.fixture(scope="module")
def ray_tmp():
    # Ray's socket paths must stay short: a fresh folder directly under /tmp, not pytest's deep tmp_path.
    d = tempfile.mkdtemp(prefix="mbc", dir="/tmp")
    os.environ["RAY_TMPDIR"] = d
    os.environ["RAY_AUTH_MODE"] = "disabled"
    return d


def start_cluster(*node_args: dict):
    from ray.cluster_utils import Cluster

    head, *rest = node_args
    cluster = Cluster(initialize_head=True, connect=False, head_node_args={"include_dashboard": False, **head})
    for args in rest:
        cluster.add_node(**args)
    cluster.wait_for_nodes()
    return cluster


@pytest.fixture(scope="module")
def two_nodes(ray_tmp):
    cluster = start_cluster({"num_cpus": 1}, {"num_cpus": 1})
    yield cluster
    cluster.shutdown()


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("suite") / "faults.yaml"
    p.write_text(textwrap.dedent(SUITE))
    return p


def bench(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, env=_env(),
                          timeout=300, **kw)


def run_dirs(root: Path, suite: str = "faults") -> list[Path]:
    d = root / suite
    return sorted(d.iterdir()) if d.exists() else []


def rows(run_dir: Path) -> pd.DataFrame:
    m = pq.read_table(run_dir / "metrics.parquet").to_pandas()
    return m.sort_values(KEY).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(two_nodes, suite_file, tmp_path_factory):
    """The uninterrupted sweep on the two-node cluster."""
    out = tmp_path_factory.mktemp("ref")
    r = bench("run", "--suite", str(suite_file), "--profile", "smoke", "--out", str(out), "--address",
              two_nodes.address, "--no-report")
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = run_dirs(out)
    return run


def test_trials_are_scheduled_on_both_nodes(reference, two_nodes):
    t = pq.read_table(reference / "trials.parquet").to_pandas()
    assert len(t) == 6 and set(t.status) == {"completed"}
    cluster_nodes = {n.node_id for n in two_nodes.list_all_nodes()}
    assert set(t.node_id) == cluster_nodes and len(cluster_nodes) == 2
    assert set(t.device) == {"cpu"}


def wait_for(predicate, timeout: float = 120.0, every: float = 0.05):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError("condition not reached")


def assert_same_rows_exactly_once(run_dir: Path, reference: Path) -> None:
    got, want = rows(run_dir), rows(reference)
    assert not got.duplicated(KEY).any()
    assert len(got) == len(want) == 6 * 3 * 3  # 6 trials × 3 evaluations × 3 metrics
    pd.testing.assert_frame_equal(got, want, check_exact=True)  # bit-for-bit on the CPU path


def test_a_killed_worker_is_retried_and_its_rows_equal_an_uninterrupted_run(two_nodes, suite_file, reference,
                                                                            tmp_path):
    out = tmp_path / "kill_worker"
    driver = subprocess.Popen([sys.executable, "-m", "bench", "run", "--suite", str(suite_file), "--profile",
                               "smoke", "--out", str(out), "--address", two_nodes.address, "--no-report"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    try:
        def mid_trial():  # a gan trial that has written a checkpoint and is still running
            for run in run_dirs(out):
                for part in (run / "parts").glob("*"):
                    if (part / "checkpoint.pt").exists() and (part / "worker.pid").exists() \
                            and not (part / "trial.parquet").exists():
                        return part
            return None

        part = wait_for(mid_trial)
        os.kill(int((part / "worker.pid").read_text()), signal.SIGKILL)
        stdout, _ = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, stdout
    (run,) = run_dirs(out)
    t = pq.read_table(run / "trials.parquet").to_pandas()
    assert set(t.status) == {"completed"} and len(t) == 6
    hp = t.set_index("trial_id").loc[part.name, "hparams"]
    assert '"resumed_from_step"' in hp  # the retry continued from the killed trial's checkpoint
    assert_same_rows_exactly_once(run, reference)


def test_a_killed_driver_resumes_skipping_finished_trials(two_nodes, suite_file, reference, tmp_path):
    out = tmp_path / "kill_driver"
    args = ["run", "--suite", str(suite_file), "--profile", "smoke", "--out", str(out), "--address",
            two_nodes.address, "--no-report"]
    driver = subprocess.Popen([sys.executable, "-m", "bench", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=_env())
    try:
        def some_finished_not_all():
            runs = run_dirs(out)
            done = list((runs[0] / "parts").glob("*/trial.parquet")) if runs else []
            return 1 <= len(done) < 6
        wait_for(some_finished_not_all)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    (run,) = run_dirs(out)
    assert not (run / "metrics.parquet").exists()  # the driver died before merging
    time.sleep(2)  # let Ray reap the dead job's workers
    r = bench(*args, "--resume")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"run folder: {run}" in r.stdout and "skipped)" in r.stdout
    ran, skipped = map(int, re.search(r"\((\d+) run, (\d+) skipped\)", r.stdout).groups())
    assert skipped >= 1 and ran + skipped == 6
    assert run_dirs(out) == [run]
    assert_same_rows_exactly_once(run, reference)


def test_fractional_gpus_pack_four_trials_on_one_logical_gpu(ray_tmp, tmp_path):
    cluster = start_cluster({"num_cpus": 4, "num_gpus": 1})
    try:
        suite = tmp_path / "gpu.yaml"
        suite.write_text(textwrap.dedent(SUITE).replace("name: faults", "name: gpu")
                         .replace("methods: [gan, oracle]", "methods: [gan]")
                         .replace("steps: 600", "steps: 1500")  # long enough that all four start before one ends
                         .replace("seeds: 3, checkpoint_every: 150", "seeds: 4"))
        r = bench("run", "--suite", str(suite), "--profile", "smoke", "--out", str(tmp_path / "o"), "--address",
                  cluster.address, "--gpus-per-trial", "0.25", "--cpus-per-trial", "1", "--no-report")
        assert r.returncode == 0, r.stdout + r.stderr
        (run,) = run_dirs(tmp_path / "o", "gpu")
        t = pq.read_table(run / "trials.parquet").to_pandas()
        assert len(t) == 4 and set(t.status) == {"completed"}
        # all four ran at once: every start precedes every finish
        assert t.started_at.max() < t.finished_at.min()
        # no CUDA here: each trial says it was granted a GPU and ran on the CPU
        assert set(t.device) == {"cpu"} and t.hparams.str.contains("granted a GPU but CUDA sees none").all()
        # ... and the progress output says so while the sweep runs
        assert r.stdout.count("granted a GPU but CUDA sees none: ran on CPU") == 4, r.stdout
    finally:
        cluster.shutdown()
