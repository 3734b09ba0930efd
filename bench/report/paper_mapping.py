"""From a paper number's names (paper_numbers.yaml, the papers' vocabulary) to what our run tables hold: the
registered dataset, metric and subset, and the latent K a row is about; or why the row cannot run here.

Explicit tables, no guessing: a dataset / metric / method name that is neither mapped, registered nor listed as
not runnable is an error (`unmapped`, tested over every row), so a paper row never silently misses our rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# paper dataset name -> ours; (protocol, name) first: the same paper name can mean another set under a protocol.
DATASETS_BY_PROTOCOL = {
    # deligan §5.4: Table 1's models train on 2,000 class-balanced CIFAR-10 images
    ("deligan-cifar-mis", "cifar10"): "limited_cifar10",
}
DATASETS = {"fmnist": "fashion_mnist"}  # everything else: the paper name is our registered name
METRICS = {"acc": "cluster_acc", "nmi": "cluster_nmi"}  # is, fid, m_is, modes, hq, … are our names already
# Datasets / metrics / methods we cannot run, with the reason (a row naming one is "not runnable here").
NOT_RUNNABLE_DATASETS = {
    "imagenet32": "ImageNet 32×32 is not in our registry (MGAN Table 1's ImageNet column)",
    "oxford102_10": "Oxford-102 Flowers (first 10 classes) is not in our registry (PCM-GAN Table III)",
    "traffic_signs": "Synthetic Traffic Signs is not in our registry (GM-GAN Table 3)",
    "tu_berlin_similar": "TU-Berlin sketches are not in our registry (DeLiGAN Table 2)",
    "tu_berlin_dissimilar": "TU-Berlin sketches are not in our registry (DeLiGAN Table 3)",
    "stl10_32": "STL-10 at 32×32 (DCGAN's and D2GAN's runs MGAN Table 1 quotes) is not in our registry",
    "stl10_96": "MGAN's 96×96 STL-10 run (Table 6, §5.2 text) has no protocol here: our stl10 is GM-GAN's "
                "5,000-image labelled split, MGAN's protocol runs stl10_48",
}
NOT_RUNNABLE_METRICS = {"n_params": "a parameter count, not a metric (trials.parquet's n_params column)"}
NOT_RUNNABLE_IDS = {
    "mgan-text-mgan-is-cifar10-noshare": "an MGAN ablation without parameter sharing (4 generators, 32 maps): our "
                                         "mgan always shares; comparing it with our MGAN would mismatch",
}
# deligan Table 1's columns are CIFAR-10's classes: m_is's subset is the predicted class index (torchvision order)
CIFAR10_CLASSES = {"plane": "0", "car": "1", "bird": "2", "cat": "3", "deer": "4", "dog": "5", "frog": "6",
                   "horse": "7", "ship": "8", "truck": "9", "overall": "all"}
SUBSET_CLASSES = {"deligan-cifar-mis": CIFAR10_CLASSES}
K_PROTOCOLS = {"gmgan-is"}  # GM-GAN Table 2 rows are per K ("K = 10" in the note) for the GM-GAN methods


@dataclass(frozen=True)
class Target:
    dataset: str
    metric: str
    subset: str = "all"
    k: int | None = None  # the method's K (its k_field) a trial must have; None: any


@dataclass(frozen=True)
class NotRunnable:
    reason: str


def resolve(n) -> Target | NotRunnable:
    """Where paper number `n` (a PaperNumber) lives in our tables, or why it cannot. Raises KeyError for a name
    none of the tables above (or the registries) knows: add it to a table, with its reason when not runnable.
    Methods: a paper label we do not implement (ALI, BEGAN, DFM, k-means, …) resolves; paper_vs_ours reports it
    "not runnable here" when no trial of it exists."""
    from bench.registry import DATASETS as REG_DATASETS, METHODS as REG_METHODS, METRICS as REG_METRICS

    if n.id in NOT_RUNNABLE_IDS:
        return NotRunnable(NOT_RUNNABLE_IDS[n.id])
    if n.dataset in NOT_RUNNABLE_DATASETS:
        return NotRunnable(NOT_RUNNABLE_DATASETS[n.dataset])
    if n.metric in NOT_RUNNABLE_METRICS:
        return NotRunnable(NOT_RUNNABLE_METRICS[n.metric])
    dataset = DATASETS_BY_PROTOCOL.get((n.protocol, n.dataset), DATASETS.get(n.dataset, n.dataset))
    metric = METRICS.get(n.metric, n.metric)
    if dataset not in REG_DATASETS:
        raise KeyError(f"{n.id}: dataset {n.dataset!r} is neither registered, mapped nor listed as not runnable")
    if metric not in REG_METRICS:
        raise KeyError(f"{n.id}: metric {n.metric!r} is neither registered, mapped nor listed as not runnable")
    subset = "all"
    if n.protocol in SUBSET_CLASSES:
        m = re.match(r"class: (\w+)", n.note)
        name = m.group(1).lower() if m else ("overall" if n.note.startswith("overall") else n.note)
        if name not in SUBSET_CLASSES[n.protocol]:
            raise KeyError(f"{n.id}: class {name!r} of protocol {n.protocol} has no subset mapping")
        subset = SUBSET_CLASSES[n.protocol][name]
    k = None
    if n.protocol in K_PROTOCOLS and n.method in REG_METHODS and getattr(REG_METHODS.get(n.method).Params, "k_field", None):
        m = re.search(r"\bK = (\d+)", n.note)
        if m is None:
            raise KeyError(f"{n.id}: a {n.protocol} row of a mixture method must say its K ('K = 10') in its note")
        k = int(m.group(1))
    return Target(dataset, metric, subset, k)
