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


def restored_into(m, fresh, sample_kwargs, *, n: int):
    """Save m's state through bytes (as a checkpoint: an in-memory state_dict would share Adam's moment tensors),
    load it into `fresh` (built with another seed) and assert both draw the same n samples for each of
    `sample_kwargs` under the same seed. Returns fresh."""
    import io

    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    fresh.load_state_dict(torch.load(buf, weights_only=False))
    for kw in sample_kwargs:
        torch.manual_seed(4)
        a = m.sample(n, **kw)
        torch.manual_seed(4)
        assert torch.equal(a, fresh.sample(n, **kw)), kw
    return fresh


def assert_round_trip(method_name: str, *, train: int = 3, after: int = 1, sample_kwargs=({},), **params):
    """Train `train` steps, save the state through bytes (as a checkpoint: an in-memory state_dict would share
    Adam's moment tensors), load it into a method built with another seed, and assert that samples (for each
    of `sample_kwargs`) and the next `after` train steps' losses are identical — so parameters, buffers and
    optimiser state all travelled. Returns (method, restored) for method-specific checks."""
    m, data = build(method_name, seed=0, **params)
    g = torch.Generator().manual_seed(0)
    for _ in range(train):
        m.train_step(*data.batch(m.batch_size, g))
    fresh = restored_into(m, build(method_name, seed=1, **params)[0], sample_kwargs, n=100)
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


# -- images ------------------------------------------------------------------------------------------------------
# Honest stand-ins for the image datasets (the real `digits` / `stacked_digits` live in bench.data): scikit-learn's
# real 8×8 digits, upscaled to 16×16 here, under test-only names.
IMAGE_SPECS = {"sk_digits16": ((1, 16, 16), 10), "sk_stacked_digits16": ((3, 16, 16), 1000)}


def image_spec(name: str):
    """DataSpec of a test image set: "sk_digits16" (1×16×16, 10 classes) or "sk_stacked_digits16" (3×16×16,
    1,000 classes: label 100·a + 10·b + c of the three stacked digits)."""
    from bench.data.base import DataSpec

    shape, n_classes = IMAGE_SPECS[name]
    return DataSpec(name=name, kind="image", shape=shape, n_classes=n_classes, source="tests: sklearn digits ×2")


_DIGITS: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}


def image_data(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(x (N, C, 16, 16) float32 in [−1, 1], y (N,) int64) of test set `name`, cached per process. The 1,797
    real sklearn digits (values 0..16) bilinearly upscaled 8 → 16 px; stacked: 1,797 triples drawn with a fixed
    seed, one digit per channel."""
    if name not in _DIGITS:
        import torch.nn.functional as F
        from sklearn.datasets import load_digits

        d = load_digits()
        img = torch.as_tensor(d.images, dtype=torch.float32)[:, None] / 16.0  # (1797, 1, 8, 8) in [0, 1]
        img = F.interpolate(img, size=(16, 16), mode="bilinear", align_corners=False).clamp(0, 1) * 2 - 1
        lab = torch.as_tensor(d.target, dtype=torch.long)
        if IMAGE_SPECS[name][0][0] == 3:
            idx = torch.randint(0, len(lab), (len(lab), 3), generator=torch.Generator().manual_seed(0))
            img = img[idx, 0]  # (N, 3, 16, 16): channel j is digit idx[:, j]
            lab = 100 * lab[idx[:, 0]] + 10 * lab[idx[:, 1]] + lab[idx[:, 2]]
        _DIGITS[name] = (img, lab)
    return _DIGITS[name]


def image_batch(name: str, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = image_data(name)
    i = torch.randint(0, len(y), (n,), generator=generator)
    return x[i], y[i]


def build_image(method_name: str, dataset: str, seed: int = 0, **params):
    """A method on test image set `dataset`, on CPU, built after torch.manual_seed(seed)."""
    from bench.registry import METHODS

    torch.manual_seed(seed)
    cls = METHODS.get(method_name)
    return cls(image_spec(dataset), cls.Params(**params), "cpu")


def assert_image_training(method_name: str, dataset: str, *, steps: int = 2, **params):
    """`steps` training steps on real test images give finite losses; samples have the image shape and lie in
    [−1, 1] (tanh), also per component; then a state round trip through bytes into a method built with another
    seed gives identical samples and identical next losses (parameters, BN buffers and optimisers travelled)."""
    import math

    m = build_image(method_name, dataset, **params)
    shape = m.spec.shape
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        losses = m.train_step(*image_batch(dataset, m.batch_size, g))
        assert losses and all(math.isfinite(v) for v in losses.values()), losses
    torch.manual_seed(3)
    s = m.sample(6)
    assert s.shape == (6, *shape) and s.dtype == torch.float32
    assert s.abs().max() <= 1.0 and torch.isfinite(s).all()
    kwargs: list[dict] = [{}]
    if m.n_components > 1:
        kwargs.append({"component": m.n_components - 1})
        assert m.sample(3, component=m.n_components - 1).shape == (3, *shape)
    fresh = restored_into(m, build_image(method_name, dataset, seed=1, **params), kwargs, n=5)
    x, y = image_batch(dataset, m.batch_size, g)
    torch.manual_seed(5)
    la = m.train_step(x, y)
    torch.manual_seed(5)
    assert fresh.train_step(x, y) == la
    return m
