"""Helpers shared by tests (import as `from specs import make_spec`; tests/ is on sys.path)."""
from __future__ import annotations

from bench.suites import TrialSpec


def make_spec(method="gan", dataset="ring8_mgan", seed=0, steps=20, eval_steps=None, metrics=None, params=None,
              **kw) -> TrialSpec:
    """A resolved TrialSpec for tests (defaults: a short gan trial, all 2-D metrics)."""
    from bench.suites import resolve_method_params

    return TrialSpec(suite="test", profile="smoke", method=method, dataset=dataset, seed=seed, steps=steps,
                     eval_steps=eval_steps or [steps], params=resolve_method_params(method, params or {}, where="test"),
                     metrics=metrics if metrics is not None else ["modes", "hq", "mode_kl", "nll", "sym_kl", "w1"],
                     **kw)
