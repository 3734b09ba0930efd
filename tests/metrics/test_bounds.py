"""Each metric's declared range (`Metric.bounds`): the values it can take on a dataset, recorded in the trial's
hparams for the report to clip intervals to."""
import json
import math

import numpy as np
import pytest

from bench.data import get_spec
from bench.metrics import get_metric
POINT_SETS = ["ring8_mgan", "ring8_mdgan", "grid25", "gm9", "deligan_uni", "deligan_bimodal"]

# 2-D metrics with a known range on every dataset they apply to: name -> (lo, hi) or a function of K
EXPECTED = {"modes": lambda k: (0.0, float(k)), "hq": lambda k: (0.0, 100.0),
            "mode_kl": lambda k: (0.0, math.log(k)),  # equal weights: −log min w = log K
            "sym_kl": lambda k: (0.0, None), "w1": lambda k: (0.0, None), "nll": lambda k: (None, None)}


@pytest.mark.parametrize("name", POINT_SETS)
def test_declared_ranges_on_each_dataset(name):
    spec = get_spec(name)
    for metric, want in EXPECTED.items():
        m = get_metric(metric)
        if m.not_applicable(spec):
            continue
        got, exp = m.value_range(spec), want(spec.mixture.n_components)
        for g, e in zip(got, exp):  # None = an open end; numbers to float rounding (log K)
            assert g == e if e is None else g == pytest.approx(e, rel=1e-12), (metric, got, exp)
        assert m.describe(spec)["value_range"] == list(m.value_range(spec))
        assert "value_range" not in m.describe()  # without a dataset, no range to state


@pytest.mark.parametrize("name", ["ring8_mgan", "grid25", "deligan_bimodal"])
def test_oracle_and_collapsed_values_lie_in_the_range_and_reach_its_ends(name, oracle_samples, collapsed_samples):
    spec = get_spec(name)
    k = spec.mixture.n_components
    for metric in ("modes", "hq", "mode_kl", "sym_kl", "w1", "latent_purity", "latent_nmi"):
        m = get_metric(metric)
        lo, hi = m.value_range(spec)
        for x in (oracle_samples(name, 10_000), collapsed_samples(name, 10_000)):
            comps = np.arange(len(x)) % 2 if m.needs_components else None
            v = m(x, spec, comps) if m.needs_components else m(x, spec)
            assert (lo is None or v >= lo) and (hi is None or v <= hi), (metric, v, lo, hi)
    # the ends are reached: the oracle covers all K modes, the collapsed generator's mode_kl is log K
    assert get_metric("modes")(oracle_samples(name, 10_000), spec) == get_metric("modes").value_range(spec)[1]
    kl = get_metric("mode_kl")(collapsed_samples(name, 10_000), spec)
    assert kl == pytest.approx(get_metric("mode_kl").value_range(spec)[1], rel=1e-12)  # log K exactly
    assert k >= 2


def test_a_trial_records_each_metrics_range_in_its_hparams():
    from bench.trial import run_trial
    from specs import make_spec

    out = run_trial(make_spec(method="oracle", dataset="grid25", steps=0, eval_steps=[0],
                              metrics=["modes", "hq", "nll", "w1"]))
    assert out.status == "completed"
    recorded = json.loads(out.trial["hparams"])["metrics"]
    assert recorded["modes"]["value_range"] == [0.0, 25.0]
    assert recorded["hq"]["value_range"] == [0.0, 100.0]
    assert recorded["w1"]["value_range"] == [0.0, None] and recorded["nll"]["value_range"] == [None, None]
