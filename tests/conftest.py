"""Shared test fixtures. Ray-starting test modules are marked `ray` and carry an explicit `xdist_group` (`ray`: the
session's local instance, `ray_env`; `cluster`: tests that start their own loopback clusters), so each group runs on
one worker under `--dist loadgroup` and the two groups run side by side. (A marker added in
pytest_collection_modifyitems comes too late: xdist's own hook has already named the groups.)"""
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
