"""Latent-component alignment (gm-gan §4.1): purity and NMI on hand-made assignments and references."""
import math

import numpy as np
import pytest

from bench.data import get_spec
from bench.metrics import get_metric

PURITY, NMI = get_metric("latent_purity"), get_metric("latent_nmi")


def points_at(spec, gaussians):
    """One point exactly on the mean of each listed data Gaussian (its MAP Gaussian is that one)."""
    return spec.mixture.means[np.asarray(gaussians)].astype(np.float64)


def nmi_by_hand(a, b):
    a, b = np.asarray(a), np.asarray(b)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1)
    p = joint / joint.sum()
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = np.sum(p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz]))
    h = lambda q: -np.sum(q[q > 0] * np.log(q[q > 0]))  # noqa: E731
    return mi / math.sqrt(h(pa) * h(pb))


def test_hand_made_table():
    spec = get_spec("grid25")
    # latent 0 -> Gaussians 3,3,3,4; latent 1 -> 7,7,8,8
    comps = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    gauss = [3, 3, 3, 4, 7, 7, 8, 8]
    x = points_at(spec, gauss)
    assert PURITY(x, spec, comps) == pytest.approx((3 + 2) / 8, abs=1e-12)
    assert NMI(x, spec, comps) == pytest.approx(nmi_by_hand(comps, gauss), rel=1e-9)


def test_perfect_alignment_and_collapse():
    spec = get_spec("grid25")
    comps = np.repeat(np.arange(25), 4)
    aligned = points_at(spec, np.repeat(np.random.default_rng(0).permutation(25), 4))  # any bijection
    assert PURITY(aligned, spec, comps) == 1.0 and NMI(aligned, spec, comps) == pytest.approx(1.0, abs=1e-12)
    collapsed = points_at(spec, np.zeros(100, dtype=int))
    # every component "pure" on one Gaussian, yet no information: purity 1, NMI 0
    assert PURITY(collapsed, spec, comps) == 1.0 and NMI(collapsed, spec, comps) == pytest.approx(0.0, abs=1e-12)


def test_oracle_on_gm9_reaches_the_overlap_ceiling():
    """Oracle components = true Gaussians; gm9's overlap caps purity at P(MAP = own Gaussian) ≈ 0.85."""
    import torch

    from method_checks import build

    oracle, _ = build("oracle", "gm9")
    torch.manual_seed(0)
    k = 9
    xs = np.concatenate([oracle.sample(1200, component=j).double().numpy() for j in range(k)])
    comps = np.repeat(np.arange(k), 1200)
    # MC reference: accuracy of the MAP rule on fresh mixture samples (1e5 points)
    ref_x, ref_y = oracle.mixture.sample(100_000, torch.Generator().manual_seed(1))
    ceiling = float((spec_map(ref_x.double().numpy()) == ref_y.numpy()).mean())
    # binomial std of purity at n = 10,800 is ~0.0035; 0.015 is ~4 std
    assert PURITY(xs, get_spec("gm9"), comps) == pytest.approx(ceiling, abs=0.015)
    assert 0.83 < ceiling < 0.87  # seed-review S3: ≈ 85 % of points lie nearest their own mean


def spec_map(x):
    return get_spec("gm9").mixture.component_log_prob(x).argmax(1)


def test_needs_components_and_multi_component_methods():
    spec = get_spec("grid25")
    with pytest.raises(ValueError, match="needs the latent component"):
        PURITY(points_at(spec, [0, 1]), spec)
    from method_checks import build

    gan, _ = build("gan")
    assert "needs a method with several latent components" in PURITY.not_applicable(spec, gan)
    oracle, _ = build("oracle", "grid25")
    assert PURITY.not_applicable(spec, oracle) is None
