"""2-D quality/diversity over σ (the GM-GAN §3.2/§4.3 analogue): known answers from the true mixture."""
import math

import numpy as np
import pytest
import torch

from bench.data import get_spec
from bench.metrics import get_metric
from bench.metrics.quality_diversity import QD_SIGMAS

Q, D = get_metric("qd_quality"), get_metric("qd_diversity")


def test_sigma_grid_is_gmgan_43():
    assert QD_SIGMAS == (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0)
    assert Q.sigmas == D.sigmas == QD_SIGMAS and Q.higher_is_better and D.higher_is_better


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_oracle_quality_at_scale_sigma_is_the_chi_square_mass(sigma):
    """Covariance × σ: a point is within 3 data-σ iff χ²₂ ≤ 9/σ, so q = 1 − e^{−4.5/σ} for separated modes."""
    from method_checks import build

    oracle, _ = build("oracle", "grid25")
    torch.manual_seed(0)
    x = oracle.sample(2500, scale=sigma).double().numpy()
    want = 1 - math.exp(-4.5 / sigma)
    tol = 4 * math.sqrt(want * (1 - want) / 2500) + 1e-9  # ~4 binomial std at n = 2,500
    assert Q(x, get_spec("grid25")) == pytest.approx(want, abs=tol)
    # diversity of the truth: the HQ shares are multinomial around uniform, entropy ≈ log 25
    assert D(x, get_spec("grid25")) == pytest.approx(1.0, abs=0.01)


def test_diversity_on_hand_made_shares():
    spec = get_spec("grid25")
    m = spec.mixture.means
    x = np.concatenate([np.repeat(m[:1], 6, 0), np.repeat(m[1:2], 2, 0), m[2:4], [[1.0, 1.0]]])  # 6,2,1,1 + 1 off
    p = np.array([6, 2, 1, 1]) / 10
    assert D(x, spec) == pytest.approx(-(p * np.log(p)).sum() / math.log(25), rel=1e-12)
    assert Q(x, spec) == pytest.approx(10 / 11, rel=1e-12)
    assert D(np.repeat(m[:1], 5, 0), spec) == 0.0  # one mode: no diversity (and not −0.0)
    assert D(np.array([[1.0, 1.0]]), spec) == 0.0  # no HQ sample at all


def test_not_applicable_to_overlapping_or_single_mode_data():
    assert "overlap" in Q.not_applicable(get_spec("gm9"))
    assert "one mode" in D.not_applicable(get_spec("deligan_uni"))
    assert Q.not_applicable(get_spec("ring8_mgan")) is None


def test_trial_evaluates_the_sigma_grid_on_the_final_step_only():
    from specs import make_spec

    from bench.trial import run_trial

    out = run_trial(make_spec(method="collapsed", dataset="ring8_mgan", steps=10, eval_steps=[5, 10],
                              metrics=["modes", "qd_quality", "qd_diversity"]))
    rows = [r for r in out.metrics if r["sigma"] is not None]
    assert {r["step"] for r in rows} == {10} and sorted({r["sigma"] for r in rows}) == list(QD_SIGMAS)
    assert all(r["value"] == 0.0 for r in rows if r["metric"] == "qd_diversity")  # collapsed: one mode
    assert {r["metric"] for r in out.metrics if r["sigma"] is None} == {"modes"}
