"""paper_numbers.yaml names -> ours (bench/report/paper_mapping.py): every row maps to a registered dataset and
metric or is listed as not runnable with its reason; unknown names raise instead of silently missing."""
import pytest

from bench.registry import DATASETS, METRICS
from bench.report.paper_mapping import NotRunnable, Target, resolve
from bench.report.paper_numbers import PaperNumber, load_paper_numbers


@pytest.fixture(scope="module")
def resolved():
    return {n.id: (n, resolve(n)) for n in load_paper_numbers()}


def test_every_row_maps_to_registered_names_or_says_why_not(resolved):
    for n, r in resolved.values():
        if isinstance(r, Target):
            assert r.dataset in DATASETS and r.metric in METRICS, n.id
        else:
            assert isinstance(r, NotRunnable) and len(r.reason) > 20, n.id
    # the not-runnable datasets the papers use and we do not have
    gone = {n.dataset for n, r in resolved.values() if isinstance(r, NotRunnable)}
    assert {"imagenet32", "oxford102_10", "traffic_signs", "tu_berlin_similar", "tu_berlin_dissimilar"} <= gone


@pytest.mark.parametrize("row_id, target", [
    ("mdgan-t4-mdgan-fid-fmnist", Target("fashion_mnist", "fid")),
    ("gmgan-t3-gmgan_static-acc-fmnist", Target("fashion_mnist", "cluster_acc")),
    ("gmgan-t3-gmgan_static-nmi-mnist", Target("mnist", "cluster_nmi")),
    ("deligan-t1-deligan-m_is-plane", Target("limited_cifar10", "m_is", "0")),  # CIFAR-10 class 0 = airplane
    ("deligan-t1-deligan-m_is-truck", Target("limited_cifar10", "m_is", "9")),
    ("deligan-t1-gan-m_is-overall", Target("limited_cifar10", "m_is", "all")),
    ("gmgan-t2-gmgan_static-is-cifar10-k20", Target("cifar10", "is", k=20)),
    ("gmgan-t2-gmgan_supervised-is-stl10-k30", Target("stl10", "is", k=30)),
    ("gmgan-t2-gan-is-cifar10", Target("cifar10", "is")),  # the baselines have no K
    ("mgan-t1-mgan-is-cifar10", Target("cifar10", "is")),
    ("mgan-t1-mgan-is-stl10_48", Target("stl10_48", "is")),
])
def test_known_mappings(resolved, row_id, target):
    assert resolved[row_id][1] == target


@pytest.mark.parametrize("row_id, why", [
    ("mgan-t1-mgan-is-imagenet32", "ImageNet"), ("pcmgan-t3-pcmgan-is-unshared", "Oxford"),
    ("mgan-text-mgan-is-cifar10-noshare", "ablation"), ("mgan-text-mgan-is-stl10_96", "96×96"),
])
def test_not_runnable_rows_say_why(resolved, row_id, why):
    r = resolved[row_id][1]
    assert isinstance(r, NotRunnable) and why in r.reason


def test_an_unknown_name_raises_instead_of_missing_silently():
    common = dict(paper="mgan", source="Table 1", method="mgan", value=1.0, pm_meaning="-", protocol="p",
                  origin="measured")
    with pytest.raises(KeyError, match="dataset 'cifar100'"):
        resolve(PaperNumber(id="x", dataset="cifar100", metric="is", **common))
    with pytest.raises(KeyError, match="metric 'fidd'"):
        resolve(PaperNumber(id="y", dataset="cifar10", metric="fidd", **common))
