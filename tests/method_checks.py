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
