"""FID, IS, KID, precision/recall on extractor features, through torch-fidelity's OWN functions
(`fid_features_to_statistics` / `fid_statistics_to_metric`, `isc_features_to_metric`, `kid_features_to_metric`,
`prc_features_to_metric`), never re-implemented: the numbers are torch-fidelity's on the same features.

Names: no suffix = Inception (torch-fidelity's inception-v3-compat: pool3 features, logits), `_dom` = the
dataset's domain classifier (bench/evaluators.py). Stages: features of the streamed pass (generated) and the
evaluators' cached real features -> statistics -> torch-fidelity's metric -> a float or {"all", "all:std"}.

Protocol (recorded with every value):
- FID: 10,000 generated vs 10,000 real training images (md-gan §6.2, following TTUR/Heusel et al.); the real
  10k are a fixed subset (permutation seed 0) of the training split; statistics cached per process.
- IS (Inception): 50,000 samples in 10 splits (mgan §5.2, Salimans et al.'s protocol), torch-fidelity's shuffle
  with rng_seed 2020; "all" = mean over splits, "all:std" = std over splits.
- KID: 100 subsets of 1,000, cubic polynomial kernel k(x,y) = (x·y/D + 1)^3 (Bińkowski et al.; torch-fidelity's
  defaults), rng_seed 2020; 10,000 vs 10,000 as FID.
- Precision/recall (Kynkäänniemi et al. 2019): k = 3 neighbours, 10,000 vs 10,000 (the balls' radii depend on
  the set sizes, so both sides are equal); computed in row blocks of 1,000 (`save_cpu_ram`): the same numbers,
  bounded memory.
- `_dom` variants: the same, at 10,000 generated samples for every metric (IS in 10 splits of 1,000): the domain
  metrics are this harness's family (no paper's count applies), sized so one evaluation stays in seconds.
TF-Inception values (TTUR, Salimans) differ slightly from torch-fidelity's port: compare to the papers only
within the port's documented tolerance (seed-review K4).
"""
from __future__ import annotations

import numpy as np
import torch

from bench.metrics import Metric, register

N_FID = 10_000  # md-gan §6.2: 10k real vs 10k generated
N_IS = 50_000  # mgan §5.2: 10 partitions of 50,000 samples
N_DOM = 10_000  # every _dom metric
IS_SPLITS = 10
KID = {"kid_subsets": 100, "kid_subset_size": 1000, "kid_kernel": "poly", "kid_kernel_poly_degree": 3,
       "kid_kernel_poly_gamma": None, "kid_kernel_poly_coef0": 1}
PR_K = 3  # torch-fidelity's default neighbourhood, as Kynkäänniemi et al.
PR_BLOCK = 1_000  # rows per distance block: memory ~ 2 · PR_BLOCK · N · 4 bytes
RNG_SEED = 2020  # torch-fidelity's default rng_seed (IS shuffle, KID subsets)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


# -- pure stages on feature arrays ------------------------------------------------------------------------------
def fid_from_features(gen: np.ndarray, real: np.ndarray | None = None, real_stats: dict | None = None) -> float:
    # Heusel et al. 2017: ‖μ_g − μ_r‖² + Tr(Σ_g + Σ_r − 2(Σ_g Σ_r)^½), torch-fidelity's TTUR port.
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    stats_r = real_stats if real_stats is not None else fid_features_to_statistics(_t(real))
    stats_g = fid_features_to_statistics(_t(gen))
    return float(fid_statistics_to_metric(stats_g, stats_r, verbose=False)["frechet_inception_distance"])


def is_from_logits(logits: np.ndarray, splits: int = IS_SPLITS) -> dict:
    # Salimans et al. 2016: exp(E_x KL(p(y|x) ‖ p(y))) per split; mean and std over splits.
    from torch_fidelity.metric_isc import isc_features_to_metric

    out = isc_features_to_metric(_t(logits), splits=splits, shuffle=True, rng_seed=RNG_SEED)
    return {"all": out["inception_score_mean"], "all:std": out["inception_score_std"]}


def kid_from_features(gen: np.ndarray, real: np.ndarray, **overrides) -> dict:
    # Bińkowski et al. 2018: unbiased MMD² with a cubic polynomial kernel, averaged over random subsets.
    from torch_fidelity.metric_kid import kid_features_to_metric

    kw = {**KID, **overrides}
    kw["kid_subset_size"] = min(kw["kid_subset_size"], len(gen), len(real))
    out = kid_features_to_metric(_t(gen), _t(real), rng_seed=RNG_SEED, verbose=False, **kw)
    return {"all": out["kernel_inception_distance_mean"], "all:std": out["kernel_inception_distance_std"]}


def pr_from_features(gen: np.ndarray, real: np.ndarray, k: int = PR_K, block: int = PR_BLOCK) -> dict:
    # Kynkäänniemi et al. 2019: precision = share of generated inside some real k-NN ball; recall the converse.
    from torch_fidelity.metric_prc import prc_features_to_metric

    out = prc_features_to_metric(_t(gen), _t(real), prc_neighborhood=k, prc_batch_size=block, save_cpu_ram=True,
                                 verbose=False)
    return {"precision": out["precision"], "recall": out["recall"]}


# -- readers of the evaluation pass ----------------------------------------------------------------------------
def _fid(ext: str):
    def fn(feats, ctx) -> float:
        from torch_fidelity.metric_fid import fid_features_to_statistics

        real_stats = ctx.memo(ext, "train", f"fid_stats_{N_FID}", lambda: fid_features_to_statistics(
            _t(ctx.real_subset(ext, "train", N_FID))))
        return fid_from_features(feats.get(ext), real_stats=real_stats)
    return fn


def _is(ext: str):
    return lambda feats, ctx: is_from_logits(feats.get(ext, "logits"))


def _kid(ext: str, n_real: int):
    return lambda feats, ctx: kid_from_features(feats.get(ext), ctx.real_subset(ext, "train", n_real))


def _pr(ext: str, which: str, n_real: int):
    def fn(feats, ctx) -> float:
        key = ("pr", ext, feats.n)
        if key not in feats.cache:  # precision and recall come from one computation
            # the balls' radii depend on the set sizes: both sides equal (n_real unless a profile capped the samples)
            feats.cache[key] = pr_from_features(feats.get(ext), ctx.real_subset(ext, "train", min(n_real, feats.n)))
        return feats.cache[key][which]
    return fn


_EXTRACTOR = {"": "inception", "_dom": "dom"}
_SOURCE = {"fid": "Heusel et al. 2017; md-gan §6.2 (10k vs 10k)", "is": "Salimans et al. 2016; mgan §5.2",
           "kid": "Bińkowski et al. 2018", "precision": "Kynkäänniemi et al. 2019",
           "recall": "Kynkäänniemi et al. 2019"}
for _suffix, _ext in _EXTRACTOR.items():
    _n = N_DOM if _ext == "dom" else N_FID
    _n_is = N_DOM if _ext == "dom" else N_IS
    _common = {"extractor": _ext, "real_split": "train", "via": "torch-fidelity 0.4.0"}
    register(Metric(f"fid{_suffix}", None, higher_is_better=False, kind="image", n_samples=_n,
                    source=_SOURCE["fid"], from_features=_fid(_ext), extractors=(_ext,),
                    protocol={**_common, "n_real": N_FID, "real_subset": "fixed permutation, seed 0"}))
    register(Metric(f"is{_suffix}", None, higher_is_better=True, kind="image", n_samples=_n_is,
                    source=_SOURCE["is"], from_features=_is(_ext), extractors=(_ext,),
                    protocol={**_common, "splits": IS_SPLITS, "shuffle_seed": RNG_SEED, "std": "over splits",
                              "real_split": None}))
    register(Metric(f"kid{_suffix}", None, higher_is_better=False, kind="image", n_samples=_n,
                    source=_SOURCE["kid"], from_features=_kid(_ext, _n), extractors=(_ext,),
                    protocol={**_common, **KID, "n_real": _n, "rng_seed": RNG_SEED,
                              "subset_size": "min(1000, n_generated, n_real)", "std": "over subsets"}))
    for _which in ("precision", "recall"):
        register(Metric(f"{_which}{_suffix}", None, higher_is_better=True, kind="image", n_samples=_n,
                        source=_SOURCE[_which], from_features=_pr(_ext, _which, _n), extractors=(_ext,),
                        protocol={**_common, "k": PR_K, "n_real": _n}))
