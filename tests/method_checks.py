"""Checks every method's tests share (import as `from method_checks import …`; tests/ is on sys.path)."""
from __future__ import annotations

import torch

from bench.data import build_dataset


def build(method_name: str, dataset: str = "ring8_mgan", seed: int = 0, **params):
    """(method, data) on CPU with the method's defaults overridden by `params`."""
    from bench.registry import METHODS

    torch.manual_seed(seed)
    data = build_dataset(dataset, seed)
    cls = METHODS.get(method_name)
    return cls(data.spec, cls.Params(**params), "cpu"), data


def changed_groups(method, groups: dict[str, list[torch.nn.Parameter]], x, y=None) -> set[str]:
    """Names of the parameter groups that one train_step changed. The groups must cover every parameter of
    the method exactly once, so "moves these and no other" is a complete statement."""
    all_params = {id(p) for p in method.parameters()}
    listed = [id(p) for ps in groups.values() for p in ps]
    assert len(listed) == len(set(listed)), "a parameter is listed in two groups"
    assert set(listed) == all_params, "the groups must cover every parameter of the method"
    before = {name: [p.detach().clone() for p in ps] for name, ps in groups.items()}
    method.train_step(x, y)
    return {name for name, ps in groups.items() if any(not torch.equal(b, p) for b, p in zip(before[name], ps))}


def assert_round_trip(method_name: str, *, train: int = 3, after: int = 1, sample_kwargs=({},), **params):
    """Train `train` steps, save the state through bytes (as a checkpoint: an in-memory state_dict would share
    Adam's moment tensors), load it into a method built with another seed, and assert that samples (for each
    of `sample_kwargs`) and the next `after` train steps' losses are identical — so parameters, buffers and
    optimiser state all travelled. Returns (method, restored) for method-specific checks."""
    import io

    m, data = build(method_name, seed=0, **params)
    g = torch.Generator().manual_seed(0)
    for _ in range(train):
        m.train_step(*data.batch(m.batch_size, g))
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    fresh, _ = build(method_name, seed=1, **params)
    fresh.load_state_dict(torch.load(buf, weights_only=False))
    for kw in sample_kwargs:
        torch.manual_seed(4)
        a = m.sample(100, **kw)
        torch.manual_seed(4)
        assert torch.equal(a, fresh.sample(100, **kw)), kw
    for _ in range(after):
        x, y = data.batch(m.batch_size, g)
        torch.manual_seed(5)
        la = m.train_step(x, y)
        torch.manual_seed(5)
        assert fresh.train_step(x, y) == la
    return m, fresh


def assert_short_trial(method_name: str, metrics: list[str], params: dict | None = None, steps: int = 30):
    """A `steps`-step trial through bench.trial.run_trial completes and reports exactly `metrics`."""
    from bench.trial import run_trial
    from specs import make_spec

    out = run_trial(make_spec(method=method_name, steps=steps, params=params, metrics=metrics))
    assert out.status == "completed", out.trial["error"]
    assert {r["metric"] for r in out.metrics} == set(metrics)
    return out


def assert_plain_latent_sampling(method_name: str, **params):
    """For a method with one plain generator G(z): sample(scale=s) is G(√s·z) (the latent covariance ×s, here ×4 =
    std ×2, and not G(z)), there is one component, and component 1 is out of range."""
    import pytest

    from methods.nets import latent

    m, _ = build(method_name, **params)
    torch.manual_seed(1)
    scaled = m.sample(10, scale=4.0)
    torch.manual_seed(1)
    z = latent(10, m.params, 1.0, "cpu")
    with torch.no_grad():
        assert scaled.shape == (10, 2)
        assert torch.allclose(scaled, m.G(2 * z))
        assert not torch.allclose(scaled, m.G(z))
    assert m.n_components == 1 and m.sample(3, component=0).shape == (3, 2)
    with pytest.raises(ValueError, match="out of range"):
        m.sample(3, component=1)
