"""The images suite's paper profiles (issue 14): every trial carries a protocol tag, each tag sits on the
(method, dataset) pairs of its source experiment, the tags are the ones paper-vs-ours matches, and every
trial's params validate against its method's Params."""
from collections import defaultdict

import pytest

from bench.errors import UserError
from bench.registry import METHODS
from bench.report.paper_numbers import load_paper_numbers
from bench.suites import build_plan, load_suite

MDGAN_FID = {(m, d) for m in ("gan", "mdgan", "wgan_gp", "oracle") for d in ("mnist", "fashion_mnist", "cifar10", "celeba64")}
EXPECTED = {
    "mdgan-fid": MDGAN_FID,
    "deligan-cifar-mis": {(m, "limited_cifar10") for m in ("deligan", "gan", "gan_pp", "moe_gan")},
    "gmgan-is": {(m, d) for m in ("gan", "gmgan_static", "gmgan_supervised", "acgan") for d in ("cifar10", "stl10")},
    "gmgan-qd": {(m, d) for m in ("gan", "gmgan_static", "gmgan_dynamic", "gmgan_supervised", "acgan")
                 for d in ("mnist", "fashion_mnist", "cifar10", "stl10")},
    "mgan-cifar-is": {("mgan", "cifar10"), ("d2gan", "cifar10"), ("oracle", "cifar10")},
    "mgan-fid": {("mgan", "cifar10"), ("oracle", "cifar10")},
    "mgan-stl-is": {("mgan", "stl10_48"), ("d2gan", "stl10_48"), ("oracle", "stl10_48")},
    "pcmgan-images": {(m, d) for m in ("pcmgan", "gmgan_dynamic", "gan") for d in ("mnist", "fashion_mnist")},
    "pcmgan-imbalanced": {(m, "imbalanced_mnist") for m in ("pcmgan", "gmgan_dynamic", "gan")},
}
NO_PAPER_TABLE = {"gmgan-qd", "pcmgan-images", "pcmgan-imbalanced"}  # figure-only / qualitative / Oxford-102 only


@pytest.fixture(scope="module")
def suite():
    return load_suite("images")


@pytest.fixture(scope="module")
def paper(suite):
    return build_plan(suite, "paper")


def test_every_trial_is_tagged_and_each_tag_sits_on_its_experiments_pairs(paper):
    assert paper.trials and all(t.protocols for t in paper.trials)
    pairs = defaultdict(set)
    for t in paper.trials:
        for tag in t.protocols:
            pairs[tag].add((t.method, t.dataset))
    assert dict(pairs) == EXPECTED
    # nothing outside the experiments: the plan is exactly the union of the protocols' pairs, 5 seeds each
    assert {(t.method, t.dataset) for t in paper.trials} == set().union(*EXPECTED.values())
    assert len(paper.trials) == 5 * len(set().union(*EXPECTED.values()))


def test_tags_are_paper_numbers_protocols_where_a_table_exists():
    known = {n.protocol for n in load_paper_numbers()}
    assert set(EXPECTED) - NO_PAPER_TABLE <= known
    assert not NO_PAPER_TABLE & known


def test_every_trials_params_validate_and_carry_the_protocols_settings(paper):
    for t in paper.trials:
        METHODS.get(t.method).Params(**t.params)  # raises on an unknown or invalid value
    by = {(t.method, t.dataset): t for t in paper.trials}
    mgan = by[("mgan", "cifar10")]
    assert (mgan.params["image_arch"], mgan.params["n_generators"], mgan.params["fake_batch_size"],
            mgan.params["beta"], mgan.params["z_dist"], mgan.steps) == ("mgan", 10, 12, 0.01, "uniform", 195313)
    assert by[("mgan", "stl10_48")].params["beta"] == 1.0
    assert by[("d2gan", "cifar10")].params["image_arch"] == "mgan"
    assert by[("gan", "cifar10")].params["image_arch"] == "dcgan"  # its tags (MD-GAN, GM-GAN) use the DCGAN nets
    assert by[("gmgan_static", "cifar10")].params["n_gaussians"] == 10
    assert by[("gmgan_static", "cifar10")].params["fake_batch_size"] == 128
    assert by[("pcmgan", "mnist")].params["cov"] == "full"
    assert by[("wgan_gp", "mnist")].params["lr"] == 1e-4
    # MNIST / F-MNIST: one length for every method (PCM-GAN Table II's 200 epochs), so each protocol is like for like
    assert {t.steps for t in paper.trials if t.dataset in ("mnist", "fashion_mnist")} == {187500}
    assert all(t.metric_samples == {"m_is": 50000} for t in paper.trials)
    assert "class_share" in by[("pcmgan", "imbalanced_mnist")].metrics


@pytest.mark.parametrize("k", [20, 30])
def test_gmgan_k_profiles(suite, k):
    plan = build_plan(suite, f"paper_gmgan_k{k}")
    assert {(t.method, t.dataset) for t in plan.trials} == {(m, d) for m in ("gmgan_static", "gmgan_supervised")
                                                           for d in ("cifar10", "stl10")}
    assert all(t.protocols == ["gmgan-is"] and t.params["n_gaussians"] == k for t in plan.trials)


def test_a_selection_outside_every_protocol_is_refused(suite):
    with pytest.raises(UserError, match="protocol"):
        build_plan(suite, "paper", methods="mgan", datasets="mnist")
