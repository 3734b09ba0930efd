"""Stacked-MNIST modes / KL (md-gan §6.1) and the modified Inception Score (deligan §5.1)."""
import math

import numpy as np
import pytest
from scipy.special import log_softmax

from bench.metrics.mis import m_is, m_is_group, overall
from bench.metrics.stacked import kl_to_uniform, label_histogram, modes_hit


def one_hot_logits(labels, n=1000, scale=50.0):
    return scale * np.eye(n)[np.asarray(labels)]


def test_stacked_kl_is_zero_for_uniform_and_log_1000_for_one_class():
    uniform = label_histogram(one_hot_logits(np.arange(5_000) % 1000))
    assert modes_hit(uniform) == 1000 and kl_to_uniform(uniform) == pytest.approx(0.0, abs=1e-12)
    one = label_histogram(one_hot_logits(np.full(5_000, 7)))
    assert modes_hit(one) == 1 and kl_to_uniform(one) == pytest.approx(math.log(1000), rel=1e-12)
    half = label_histogram(one_hot_logits(np.arange(5_000) % 500))  # 500 classes, each 1/500
    assert modes_hit(half) == 500 and kl_to_uniform(half) == pytest.approx(math.log(2), rel=1e-12)


def test_m_is_group_equals_the_pairwise_kl_definition():
    rng = np.random.default_rng(0)
    log_p = log_softmax(rng.standard_normal((40, 6)) * 2, axis=1)
    p = np.exp(log_p)
    kl = (p[:, None, :] * (log_p[:, None, :] - log_p[None, :, :])).sum(-1)  # (i, j): KL(p_i ‖ p_j), i = j included
    assert m_is_group(log_p) == pytest.approx(math.exp(kl.mean()), rel=1e-12)


def test_m_is_of_identical_predictions_is_one_per_class_and_overall():
    rng = np.random.default_rng(1)
    logits = np.repeat(rng.standard_normal((3, 10)) * 3, 200, axis=0)  # three distinct predictions, 200 each
    out = m_is(logits)
    assert out["all"] == pytest.approx(1.0, abs=1e-12) and out["all:std"] == pytest.approx(0.0, abs=1e-12)
    assert len([k for k in out if ":" not in k and k != "all"]) == len(np.unique(logits.argmax(1)))


# deligan Table 1 per-class means (paper-tables.md) and the printed "Overall" (mean ± population std).
TABLE1 = {"DeLiGAN": ([2.78, 2.36, 2.44, 2.17, 2.31, 1.27, 2.31, 3.63, 1.51, 2.00], (2.28, 0.62)),
          "MoE-GAN": ([2.69, 2.08, 2.01, 2.19, 2.16, 1.85, 1.84, 2.14, 1.60, 1.85], (2.04, 0.28)),
          "GAN++": ([2.44, 1.73, 1.68, 2.27, 2.23, 1.73, 1.56, 1.21, 1.25, 1.53], (1.76, 0.40))}


@pytest.mark.parametrize("row", list(TABLE1))
def test_overall_reproduces_deligan_table_1(row):
    cells, (mean, std) = TABLE1[row]
    got = overall(np.array(cells))
    assert got[0] == pytest.approx(mean, abs=0.005) and got[1] == pytest.approx(std, abs=0.005)  # 2-decimal cells
    assert np.std(cells, ddof=1) != pytest.approx(std, abs=0.005)  # the sample std would not reproduce it
