"""Quality and diversity over the latent scale σ on 2-D mixtures: GM-GAN §3.2 / §4.3's curves, in 2-D terms.

GM-GAN scores images with a classifier (q, Eq. 6–7) and MS-SSIM (d_intra, Eq. 8); neither has a meaning for
2-D points. With the true mixture known we use the closest 2-D analogues, evaluated on the trained model at
each σ ∈ {0.5, 0.6, …, 2.0} (§4.3), σ multiplying the latent covariance (z|k ~ N(μ_k, σ·Σ_k)):
- quality q(σ) = the share of samples within 3σ_data of a mode (the `hq` rule, as a fraction): per-sample
  quality ∈ {0, 1} averaged, like Eq. 7's mean of q(x);
- diversity d(σ) = H(share of those samples nearest each mode) / log K: GM-GAN's inter-class diversity d_inter
  (Eq. 9: the entropy of the mean one-hot class prediction over log N), with the nearest mode as the class.
Our analogue, not GM-GAN's numbers: they are plotted as curves (q against d, as Fig. 7), not compared.
"""
from __future__ import annotations

import numpy as np

from bench.metrics import Metric, fixed_bounds, register
from bench.metrics.modes import hq_mode_shares, separated_modes, within

N_SAMPLES = 2_500  # as the mode metrics (md-gan §6.1)
QD_SIGMAS = tuple(round(0.5 + 0.1 * i, 1) for i in range(16))  # gm-gan §4.3: σ ∈ {0.5, 0.6, …, 2.0}


def qd_quality(samples: np.ndarray, spec) -> float:
    # q = mean over samples of 1[x within 3σ_data of some mode]: the 2-D analogue of gm-gan Eq. 7.
    return float(within(samples, spec.mixture).any(axis=1).mean())


def qd_diversity(samples: np.ndarray, spec) -> float:
    # d = H(q_HQ) / log K over the modes: the 2-D analogue of gm-gan Eq. 9 (d_inter); 0 with no HQ sample.
    k = spec.mixture.n_components
    shares = hq_mode_shares(samples, spec.mixture)
    if shares is None or k < 2:
        return 0.0
    nz = shares[shares > 0]
    return float(-(nz * np.log(nz)).sum() / np.log(k)) + 0.0  # + 0.0: one mode gives 0.0, not −0.0


def _applies(spec) -> str | None:
    reason = separated_modes(spec)
    if reason is None and spec.mixture.n_components < 2:
        return f"{spec.name} has one mode: no diversity to measure"
    return reason


_PROTOCOL = {"sigmas": list(QD_SIGMAS), "scale": "multiplies the latent covariance", "step": "final only",
             "analogue_of": "gm-gan §3.2 q (Eq. 7) and d_inter (Eq. 9)"}
register(Metric("qd_quality", qd_quality, higher_is_better=True, kind="points", n_samples=N_SAMPLES,
                source="gm-gan §3.2, §4.3 (2-D analogue)", unit="fraction", applies=_applies, sigmas=QD_SIGMAS,
                protocol=_PROTOCOL, bounds=fixed_bounds(0.0, 1.0)))  # a share / a normalised entropy
register(Metric("qd_diversity", qd_diversity, higher_is_better=True, kind="points", n_samples=N_SAMPLES,
                source="gm-gan §3.2, §4.3 (2-D analogue)", unit="fraction", applies=_applies, sigmas=QD_SIGMAS,
                protocol=_PROTOCOL, bounds=fixed_bounds(0.0, 1.0)))  # a share / a normalised entropy
