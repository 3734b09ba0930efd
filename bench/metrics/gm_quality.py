"""GM-GAN's quality and diversity scores on images (gm-gan §3.2, Eq. 6–11), at the training scale and at every
latent scale σ ∈ {0.5, 0.6, …, 2.0} (§4.3; σ multiplies the latent covariance; final step only): Fig. 7 plots
q (Eq. 7) against d (Eq. 10).

Choices the paper leaves open (seed-review finding 7, K6), recorded in the protocol:
- classifier c and layer l: the dataset's domain classifier (bench/evaluators.py) and its `layer_features`;
- the constant a: log a = the median distance from a real training point to its nearest OTHER training point
  (2,000 fixed training points, in c_l space), so q = a/(e^d + a) = sigmoid(log a − d) is ½ for a sample as far
  from the training set as a typical training image is from its neighbour; log a is in the evaluation protocol;
- |X| = 5,000 samples for q and d_inter; d_intra from 2,000 random ordered pairs (i, j independent and uniform,
  self-pairs included as Eq. 8's |X|² sum includes them: an unbiased estimate of Eq. 8's mean) over a pool of
  the first 1,000 generated images (kept as uint8);
- MS-SSIM: torchmetrics, data range 2 ([-1, 1]), gaussian window σ 1.5, relu-normalised contrast terms; the
  standard 5 scales with an 11-px window need ≥ 176 px, so smaller images use a 7-px window and the most scales s
  with side / 2^(s−1) ≥ 7 (16 px: 2, 28/32 px: 3, 64/96 px: 4), the first s standard betas renormalised.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from bench.metrics import Metric, register
from bench.metrics.quality_diversity import QD_SIGMAS

N_SAMPLES = 5_000
N_POOL = 1_000
N_PAIRS = 2_000
N_A_REF = 2_000  # training points that calibrate the constant a
BLOCK = 512
BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, the standard 5-scale MS-SSIM


def msssim_settings(h: int, w: int) -> tuple[int, tuple[float, ...]]:
    """(window size, betas) for an h × w image (see the module's note)."""
    side = min(h, w)
    if side >= 11 * 16:
        return 11, BETAS
    s = max(1, max(t for t in range(1, 6) if side / 2 ** (t - 1) >= 7))
    b = np.asarray(BETAS[:s])
    return 7, tuple(float(v) for v in b / b.sum())


def nn_distance(x: np.ndarray, ref: np.ndarray, k: int = 1, block: int = BLOCK) -> np.ndarray:
    """(n,): L2 distance from each row of x to its k-th nearest row of ref (blocked)."""
    r = torch.from_numpy(np.ascontiguousarray(ref))
    xt = torch.from_numpy(np.ascontiguousarray(x))
    return torch.cat([torch.cdist(xt[i:i + block], r).topk(k, dim=1, largest=False).values[:, -1]
                      for i in range(0, len(xt), block)]).numpy()


def log_a_from_train(train_layer: np.ndarray, n_ref: int = N_A_REF) -> float:
    """log a = the median distance of fixed training points to their nearest other training point."""
    idx = np.sort(np.random.default_rng(0).permutation(len(train_layer))[:n_ref])
    return float(np.median(nn_distance(train_layer[idx], train_layer, k=2)))  # k = 2: the first is itself


def quality(gen_layer: np.ndarray, train_layer: np.ndarray, log_a: float) -> float:
    # gm-gan Eq. 6–7: q(x) = 1 − e^{d}/(e^{d} + a) = sigmoid(log a − d), d = ‖c_l(x) − c_l(NN(x))‖₂;
    # q = the mean of q(x) over X.
    d = nn_distance(gen_layer, train_layer).astype(np.float64)
    return float(np.mean(1.0 / (1.0 + np.exp(np.clip(d - log_a, -700, 700)))))


def diversity_intra(pool_u8: torch.Tensor, n_pairs: int, rng: np.random.Generator, batch: int = 500) -> float:
    # gm-gan Eq. 8: d_intra = 1 − (1/|X|²) Σ_{(x,x') ∈ X×X} MS-SSIM(x, x'), estimated from random ordered pairs.
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as ms_ssim

    m = len(pool_u8)
    i, j = rng.integers(0, m, n_pairs), rng.integers(0, m, n_pairs)
    kernel, betas = msssim_settings(*pool_u8.shape[-2:])
    x = pool_u8.float() / 127.5 - 1.0
    vals = []
    for s in range(0, n_pairs, batch):
        a, b = x[i[s:s + batch]], x[j[s:s + batch]]
        vals.append(ms_ssim(a, b, data_range=2.0, kernel_size=kernel, betas=betas, reduction="none",
                            normalize="relu").reshape(-1).double())
    return float(1.0 - torch.cat(vals).mean())


def diversity_inter(logits: np.ndarray) -> float:
    # gm-gan Eq. 9: d_inter = H(mean one-hot prediction) / log N.
    n = logits.shape[1]
    share = np.bincount(logits.argmax(axis=1), minlength=n) / len(logits)
    nz = share[share > 0]
    return float(-(nz * np.log(nz)).sum() / math.log(n)) + 0.0  # + 0.0: one class gives 0.0, not −0.0


def _cached(feats, key, compute):
    if key not in feats.cache:
        feats.cache[key] = compute()
    return feats.cache[key]


def _q(feats, ctx) -> float:
    train = ctx.real_layer("train")
    log_a = ctx.memo("dom", "train", "gm_log_a", lambda: log_a_from_train(train))
    ctx.protocol["gm_quality_log_a"] = log_a
    return _cached(feats, "gm_q", lambda: quality(feats.get("dom", "layer"), train, log_a))


def _intra(feats, ctx) -> float:
    rng = np.random.default_rng([ctx.seed % 2**63, int(round((feats.sigma or 0) * 10))])
    return _cached(feats, "gm_intra", lambda: diversity_intra(feats.images[:N_POOL], N_PAIRS, rng))


def _inter(feats, ctx) -> float:
    return _cached(feats, "gm_inter", lambda: diversity_inter(feats.get("dom", "logits")))


def _d(feats, ctx) -> float:
    # gm-gan Eq. 10: d = sqrt(d_intra · d_inter) (MS-SSIM ≤ 1, so d_intra ≥ 0 up to rounding).
    return math.sqrt(max(_intra(feats, ctx), 0.0) * _inter(feats, ctx))


def _s(feats, ctx) -> float:
    # gm-gan Eq. 11: s = sqrt(q · d).
    return math.sqrt(_q(feats, ctx) * _d(feats, ctx))


_PROTOCOL = {"extractor": "dom", "layer": "dom layer_features (c_l)", "sigmas": list(QD_SIGMAS),
             "scale": "multiplies the latent covariance", "sigma_rows": "final step only",
             "log_a": "median NN distance among training points (value in the evaluation protocol)",
             "n_pool": N_POOL, "n_pairs": N_PAIRS, "pairs": "iid uniform ordered pairs, self-pairs included",
             "ms_ssim": "torchmetrics; window 11 & 5 scales from 176 px, else window 7 & side/2^(s-1) ≥ 7"}
_PARTS = {  # name: (reader, source, needs layer features, needs the image pool)
    "gm_quality": (_q, "gm-gan §3.2 Eq. 6–7", True, False),
    "gm_diversity_intra": (_intra, "gm-gan §3.2 Eq. 8", False, True),
    "gm_diversity_inter": (_inter, "gm-gan §3.2 Eq. 9", False, False),
    "gm_diversity": (_d, "gm-gan §3.2 Eq. 10", False, True),
    "gm_score": (_s, "gm-gan §3.2 Eq. 11", True, True)}
for _name, (_fn, _src, _layer, _pool) in _PARTS.items():
    register(Metric(_name, None, higher_is_better=True, kind="image", n_samples=N_SAMPLES, source=_src,
                    unit="fraction", sigmas=QD_SIGMAS, extractors=("dom",), layer=_layer,
                    n_images=N_POOL if _pool else 0, from_features=_fn, protocol=_PROTOCOL))
