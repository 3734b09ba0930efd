"""Shared test fixtures. Ray-starting tests are marked `ray` and grouped onto an xdist worker per Ray instance."""
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


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group markers
def pytest_collection_modifyitems(config, items):
    # Tests sharing one Ray instance share an xdist worker: `ray` (the session's local instance, ray_env) and
    # `ray(group="cluster")` (tests that start their own loopback clusters), so the two groups run side by side.
    for item in items:
        marker = item.get_closest_marker("ray")
        if marker:
            item.add_marker(pytest.mark.xdist_group(marker.kwargs.get("group", "ray")))


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
