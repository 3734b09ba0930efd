"""Shared test fixtures. `make test` runs `pytest -n 2 --dist loadfile`: every module's tests run on one worker, so a
module-scoped fixture (the smoke sweeps, the loopback cluster) is built once. (`--dist loadgroup` with `xdist_group`
markers did not group anything under this pytest-xdist 3.8.0: CI built each of those fixtures twice, once per worker.)
Ray-starting modules are marked `ray`."""
from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config):
    # Two xdist workers on two cores: one thread each (OpenMP spinning across oversubscribed cores is
    # many times slower than one thread for these small networks).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def ray_env():
    """One local Ray instance for the session, its files inside a temp dir, no auth token written."""
    tmp = tempfile.mkdtemp(prefix="mbray")
    os.environ["RAY_TMPDIR"] = tmp
    os.environ["RAY_AUTH_MODE"] = "disabled"
    yield tmp
    import ray

    if ray.is_initialized():
        ray.shutdown()
