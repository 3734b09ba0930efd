"""GM-GAN quality / diversity (gm-gan §3.2 Eq. 6–11) and clustering ACC / NMI (Eq. 12–13) on known answers."""
import math

import numpy as np
import pytest
import torch

from bench.metrics.clustering import alg2_clusters, cluster_acc, cluster_nmi
from bench.metrics.gm_quality import diversity_inter, diversity_intra, log_a_from_train, msssim_settings, quality


def test_acc_and_nmi_are_one_for_a_permuted_labelling():
    labels = np.repeat(np.arange(10), 30)
    clusters = np.random.default_rng(0).permutation(10)[labels]
    assert cluster_acc(labels, clusters) == 1.0 and cluster_nmi(labels, clusters) == pytest.approx(1.0, abs=1e-12)


def test_acc_by_hand_and_nmi_against_the_definition():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    clusters = np.array([1, 1, 0, 0, 0, 0, 2, 1])
    # best one-to-one map: 1->0 (2 right), 0->1 (3 right), 2->2 (1 right) = 6/8
    assert cluster_acc(labels, clusters) == pytest.approx(6 / 8, abs=1e-12)
    joint = np.zeros((3, 3))
    np.add.at(joint, (labels, clusters), 1)
    p = joint / joint.sum()
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = (p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum()
    h = lambda q: -(q[q > 0] * np.log(q[q > 0])).sum()  # noqa: E731
    assert cluster_nmi(labels, clusters) == pytest.approx(mi / math.sqrt(h(pa) * h(pb)), rel=1e-9)
    assert cluster_acc(labels, np.zeros(8, dtype=int)) == pytest.approx(3 / 8, abs=1e-12)  # K ≠ N: one cluster


def test_alg2_recovers_separated_components():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((4, 6)) * 6
    comps = np.repeat(np.arange(4), 200)
    gen = centres[comps] + rng.standard_normal((800, 6))
    test_labels = np.repeat([2, 0, 3, 1], 50)  # class c lives at centre perm[c]
    test = centres[np.array([1, 3, 0, 2])[test_labels]] + rng.standard_normal((200, 6))
    clusters = alg2_clusters(gen, comps, test)
    assert cluster_acc(test_labels, clusters) == 1.0 and cluster_nmi(test_labels, clusters) == pytest.approx(1.0)


def test_d_inter_is_zero_for_collapsed_and_one_for_uniform_predictions():
    collapsed = np.tile(np.eye(10)[3] * 5, (100, 1))
    assert diversity_inter(collapsed) == 0.0
    assert diversity_inter(np.eye(10)[np.arange(100) % 10]) == pytest.approx(1.0, abs=1e-12)
    two = np.eye(10)[np.arange(100) % 2]  # two classes, half each: log 2 / log 10
    assert diversity_inter(two) == pytest.approx(math.log(2) / math.log(10), rel=1e-12)


def test_quality_is_the_closed_form_on_hand_made_distances():
    train = np.array([[0.0, 0.0], [10.0, 0.0]], dtype=np.float32)
    gen = np.array([[0.0, 3.0], [10.0, 0.0]], dtype=np.float32)  # NN distances 3 and 0
    log_a = 1.5
    want = np.mean([math.exp(log_a) / (math.exp(d) + math.exp(log_a)) for d in (3.0, 0.0)])  # Eq. 6: a/(e^d + a)
    assert quality(gen, train, log_a) == pytest.approx(want, rel=1e-9)
    grid = np.stack(np.meshgrid(np.arange(5.0), np.arange(5.0)), -1).reshape(-1, 2).astype(np.float32)
    assert log_a_from_train(grid) == pytest.approx(1.0, abs=1e-6)  # unit grid: every NN distance is 1


def test_msssim_settings_fit_the_image_sizes():
    assert msssim_settings(16, 16) == (7, pytest.approx((0.0448 / 0.3304, 0.2856 / 0.3304)))
    assert len(msssim_settings(28, 28)[1]) == 3 and len(msssim_settings(32, 32)[1]) == 3
    assert len(msssim_settings(64, 64)[1]) == 4 and len(msssim_settings(96, 96)[1]) == 4
    assert msssim_settings(256, 256) == (11, (0.0448, 0.2856, 0.3001, 0.2363, 0.1333))
    for side in (16, 28, 32, 64, 96):  # every setting runs in torchmetrics and gives 1 for identical images
        x = torch.randint(0, 256, (2, 3, side, side), dtype=torch.uint8)
        assert diversity_intra(x[:1], 4, np.random.default_rng(0)) == pytest.approx(0.0, abs=1e-5)


def test_d_intra_estimate_is_unbiased_for_the_all_pairs_mean():
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as ms_ssim

    g = torch.Generator().manual_seed(0)
    pool = torch.randint(0, 256, (12, 1, 16, 16), dtype=torch.uint8, generator=g)
    pool[6:] = pool[0]  # half the pool identical: a wide spread of pair similarities
    x = pool.float() / 127.5 - 1
    k, b = msssim_settings(16, 16)
    i, j = np.meshgrid(np.arange(12), np.arange(12))
    exact = 1 - float(ms_ssim(x[i.ravel()], x[j.ravel()], data_range=2.0, kernel_size=k, betas=b,
                              reduction="none", normalize="relu").mean())  # Eq. 8 over all 144 ordered pairs
    est = diversity_intra(pool, 4000, np.random.default_rng(1))
    assert est == pytest.approx(exact, abs=0.02)  # 4,000 pairs: sd of the estimate ~ 0.007
