"""paper_numbers.yaml: loads under the schema, and known answers copied by hand from shared/papers/paper-tables.md."""
import re
from collections import Counter

import pytest

from bench.registry import DATASETS, METRICS
from bench.report.paper_numbers import load_paper_numbers

# Our method names (the brief's list; METHODS may lag while baselines are being written).
OUR_METHODS = {"gan", "deligan", "gmgan_static", "gmgan_dynamic", "gmgan_supervised", "mdgan", "pcmgan", "mgan",
               "gan_pp", "ensemble_gan", "nx_gan", "moe_gan", "acgan", "unrolled_gan", "wgan_gp", "sngan", "d2gan",
               "pacgan", "veegan", "infogan", "oracle", "collapsed"}
# Paper labels that are our methods under another name: an entry must never use these.
ALIASES = {"vanilla", "vanilla_gan", "standard_gan", "specnorm", "spectralnorm", "spectral_norm_gan", "gan_plus_plus",
           "moe", "unrolled", "unrl_gan", "deli", "gm_gan", "real_data", "real_images", "pcm"}


def norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


@pytest.fixture(scope="module")
def numbers():
    return load_paper_numbers()


@pytest.fixture(scope="module")
def by_id(numbers):
    return {n.id: n for n in numbers}


def test_loads_with_unique_lowercase_ids(numbers):
    ids = [n.id for n in numbers]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and " " not in i for i in ids)
    assert len(numbers) == 244


def test_counts_per_paper_table(numbers):
    got = Counter((n.paper, n.source) for n in numbers)
    assert got == {
        ("deligan", "Table 1"): 44, ("deligan", "Table 2"): 10, ("deligan", "Table 3"): 12,
        ("gm-gan", "Table 2"): 16, ("gm-gan", "Table 3"): 29,
        ("md-gan", "Table 1"): 16, ("md-gan", "Table 2"): 16, ("md-gan", "Table 3"): 30, ("md-gan", "Table 4"): 28,
        ("pcm-gan", "Table III"): 12,
        ("mgan", "Table 1"): 22, ("mgan", "Table 2"): 5, ("mgan", "§5.2 text"): 3,
        ("mgan", "App. C.2 text (Parameter sharing)"): 1,
    }


@pytest.mark.parametrize("id_, value, pm", [
    # MD-GAN
    ("mdgan-t1-mdgan-hq", 99.36, 2.28),
    ("mdgan-t1-mdgan-modes", 25, None),
    ("mdgan-t1-deligan-modes", 21, 2),
    ("mdgan-t1-infogan-hq", 75.12, 30.64),
    ("mdgan-t2-deligan-modes", 6.4, 1.85),
    ("mdgan-t2-gan-hq", 99.3, None),
    ("mdgan-t2-sngan-hq", 86.64, 9.76),
    ("mdgan-t3-mdgan-stacked_kl-b", 0.046, 0.001),
    ("mdgan-t3-sngan-stacked_kl-s1_2", 1.45, 0.81),  # printed "±.81"
    ("mdgan-t3-mdgan-stacked_kl-s1_4", 1.32, 0.015),
    ("mdgan-t3-unrolled_gan-stacked_modes-s1_2", 817.4, 37.91),
    ("mdgan-t4-mdgan-fid-celeba64", 24.51, None),
    ("mdgan-t4-wgan_gp-fid-cifar10", 52.9, None),
    ("mdgan-t4-oracle-fid-mnist", 1.2, None),
    # DeLiGAN
    ("deligan-t1-deligan-m_is-overall", 2.28, 0.62),
    ("deligan-t1-gan-m_is-overall", 2.15, 0.25),
    ("deligan-t1-gan_pp-m_is-horse", 1.21, 0.04),
    ("deligan-t1-moe_gan-m_is-ship", 1.60, 0.04),
    ("deligan-t2-deligan-m_is-tomato", 1.9, 0.00),
    ("deligan-t3-gan-m_is-wineglass", 1.80, 0.01),
    ("deligan-t3-deligan-m_is-overall", 1.79, 0.18),
    # GM-GAN
    ("gmgan-t2-gmgan_supervised-is-stl10-k10", 8.32, 0.06),
    ("gmgan-t2-gmgan_static-is-stl10-k20", 6.58, 0.16),
    ("gmgan-t2-gan-is-cifar10", 5.71, 0.06),
    ("gmgan-t2-acgan-is-cifar10", 6.23, 0.07),
    ("gmgan-t3-gmgan_static-acc-mnist", 0.9924, None),
    ("gmgan-t3-gmgan_static-nmi-mnist", 0.9618, None),
    ("gmgan-t3-kmeans-nmi-mnist", 0.500, None),
    ("gmgan-t3-ae_kmeans-acc-fmnist", 0.5353, None),
    # PCM-GAN
    ("pcmgan-t3-pcmgan-n_params-shared", 8794835, None),
    ("pcmgan-t3-pcmgan-is-shared", 3.1368, 0.1596),
    ("pcmgan-t3-pcmgan-fid-unshared", 231.0577, 7.5371),
    ("pcmgan-t3-gmgan_dynamic-fid", 239.3936, 6.7672),
    ("pcmgan-t3-gan-n_params", 8366145, None),
    # MGAN
    ("mgan-t1-mgan-is-cifar10", 8.33, 0.10),
    ("mgan-t1-mgan-is-stl10_48", 9.22, 0.11),
    ("mgan-t1-dcgan-is-stl10_32", 7.54, None),
    ("mgan-t1-d2gan-is-imagenet32", 8.25, None),
    ("mgan-t1-oracle-is-cifar10", 11.24, 0.16),
    ("mgan-text-mgan-is-stl10_96", 9.79, 0.08),
    ("mgan-t2-dcgan-fid", 377, None),
    ("mgan-t2-mgan-fid", 26.7, None),
])
def test_spot_values(by_id, id_, value, pm):
    n = by_id[id_]
    assert n.value == pytest.approx(value, abs=1e-12)
    assert n.pm == (None if pm is None else pytest.approx(pm, abs=1e-12))


def test_spot_metadata(by_id):
    md = by_id["mdgan-t1-mdgan-hq"]
    assert (md.paper, md.source, md.dataset, md.method, md.metric) == ("md-gan", "Table 1", "grid25", "mdgan", "hq")
    assert (md.origin, md.protocol, md.runs, md.quoted_from) == ("measured", "mdgan-2d", 5, None)
    assert "5 runs" in md.pm_meaning
    d = by_id["mdgan-t2-deligan-modes"]
    assert (d.dataset, d.protocol, d.runs) == ("ring8_mdgan", "mdgan-2d", 5)
    # the rows MD-GAN quotes from VEEGAN
    for t in (1, 2):
        for m in ("gan", "ali", "unrolled_gan", "veegan"):
            for metric in ("modes", "hq"):
                q = by_id[f"mdgan-t{t}-{m}-{metric}"]
                assert q.origin == "quoted" and q.protocol == "veegan-2d" and "VEEGAN" in q.quoted_from
    # MGAN Table 2's DCGAN FID keeps the printed 377, with the reason
    dc = by_id["mgan-t2-dcgan-fid"]
    assert dc.value == 377 and "[sic]" in dc.note and "37.7" in dc.note and dc.origin == "quoted"
    # DeLiGAN: per-class ± vs Overall ±, and the two rows that do not reproduce
    ov = by_id["deligan-t1-deligan-m_is-overall"]
    assert ov.note == "overall" and "population std" in ov.pm_meaning and ov.dataset == "cifar10"
    pl = by_id["deligan-t1-deligan-m_is-plane"]
    assert pl.note == "class: Plane" and "10 splits" in pl.pm_meaning
    assert "[sic?]" in by_id["deligan-t1-gan-m_is-overall"].note
    assert "[sic?]" in by_id["deligan-t2-deligan-m_is-tomato"].note
    # GM-GAN: standard error over 10 trainings; unsupervised rows read as static, and say so
    g = by_id["gmgan-t2-gmgan_static-is-cifar10-k30"]
    assert (g.runs, g.pm_meaning, g.protocol) == (10, "standard error over 10 trainings", "gmgan-is")
    assert "Static" in g.note
    assert by_id["gmgan-t3-infogan-acc-mnist"].origin == "quoted"
    assert by_id["gmgan-t3-kmeans-acc-fmnist"].origin == "measured"
    # PCM-GAN ± is undefined
    assert by_id["pcmgan-t3-pcmgan-is-shared"].pm_meaning.startswith("unspecified")
    # MGAN's own IS: 10 splits of 50,000
    assert by_id["mgan-t1-mgan-is-imagenet32"].pm_meaning == "std over 10 splits of 50,000 samples"
    assert by_id["mdgan-t4-gan-fid-cifar10"].quoted_from == "Lucic et al. [21]"


def test_dashes_are_not_entries(numbers):
    # GM-GAN Table 3 prints "-" for 7 MNIST NMIs; MGAN Table 1 prints "—" for 14 STL/ImageNet cells
    mnist = [n for n in numbers if n.source == "Table 3" and n.paper == "gm-gan" and n.dataset == "mnist"]
    assert Counter(n.metric for n in mnist) == {"acc": 12, "nmi": 5}
    assert not any(n.id == "mgan-t1-wgan-is-stl10_48" for n in numbers)


def test_quoted_entries_name_their_source(numbers):
    for n in numbers:
        if n.origin == "quoted":
            assert n.quoted_from, n.id
        else:
            assert n.quoted_from is None, n.id


def test_pm_meaning_matches_pm(numbers):
    for n in numbers:
        if n.pm is None:
            assert n.pm_meaning == "none printed", n.id
        else:
            assert n.pm_meaning != "none printed", n.id


def test_our_names_spelled_exactly(numbers):
    ours = {"method": OUR_METHODS, "dataset": set(DATASETS.names()), "metric": set(METRICS.names())}
    assert {"grid25", "ring8_mdgan"} <= ours["dataset"] and {"modes", "hq"} <= ours["metric"]
    for field, names in ours.items():
        by_norm = {norm(x): x for x in names}
        for n in numbers:
            v = getattr(n, field)
            assert v == v.lower() and re.fullmatch(r"[a-z0-9_]+", v), (n.id, field, v)
            if norm(v) in by_norm:
                assert v == by_norm[norm(v)], (n.id, field, v)
    assert not {norm(a) for a in ALIASES} & {norm(m) for m in OUR_METHODS}
    for n in numbers:
        assert norm(n.method) not in {norm(a) for a in ALIASES}, (n.id, n.method)
    used = {n.method for n in numbers}
    assert {"gan", "deligan", "mdgan", "sngan", "infogan", "unrolled_gan", "veegan", "moe_gan", "gan_pp", "acgan",
            "gmgan_static", "gmgan_supervised", "gmgan_dynamic", "pcmgan", "mgan", "d2gan", "wgan_gp",
            "oracle"} <= used


def test_protocol_tags_consistent_within_an_experiment(numbers):
    tags = Counter((n.paper, n.source, n.protocol) for n in numbers)
    expected = {
        ("md-gan", "Table 1"): {"mdgan-2d", "veegan-2d"}, ("md-gan", "Table 2"): {"mdgan-2d", "veegan-2d"},
        ("md-gan", "Table 3"): {"mdgan-stacked-B", "mdgan-stacked-S1/2", "mdgan-stacked-S1/4"},
        ("md-gan", "Table 4"): {"mdgan-fid"},
        ("deligan", "Table 1"): {"deligan-cifar-mis"}, ("deligan", "Table 2"): {"deligan-sketch-mis"},
        ("deligan", "Table 3"): {"deligan-sketch-mis"},
        ("gm-gan", "Table 2"): {"gmgan-is"}, ("gm-gan", "Table 3"): {"gmgan-clustering"},
        ("pcm-gan", "Table III"): {"pcmgan-oxford102"},
        ("mgan", "Table 1"): {"mgan-cifar-is", "mgan-stl-is", "mgan-imagenet-is"}, ("mgan", "Table 2"): {"mgan-fid"},
    }
    for key, want in expected.items():
        assert {p for (pa, s, p) in tags if (pa, s) == key} == want, key
    for n in numbers:
        if n.paper == "md-gan" and n.source in ("Table 1", "Table 2"):
            assert (n.protocol == "veegan-2d") == (n.origin == "quoted"), n.id
        if n.paper == "md-gan" and n.source in ("Table 1", "Table 2", "Table 3") and n.origin == "measured":
            assert n.runs == 5, n.id
        if n.paper == "gm-gan" and n.source == "Table 2":
            assert n.runs == 10, n.id
