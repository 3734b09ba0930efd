"""`mdgan`: Mixture Density GAN (Eghbal-zadeh et al., CVPR 2019, §4) on the shared 2-D networks.

What changes vs `gan`: D's head outputs an embedding e ∈ R^d instead of a logit, and "real" is scored by a
Simplex Gaussian Mixture Model (SGMM) likelihood lk(e) (Eq. 2) whose d + 1 means are the vertices of a regular
simplex. D maximises E log lk(D(x)) + E log(λ − lk(D(G(z)))), G minimises E log(λ − lk(D(G(z)))) (Eq. 3, the
saturating minimax form; the paper states no other), one D and one G update per step (§2 "equal updates").
λ is the GLOBAL maximum of lk (§4.3), computed once at construction. For the paper's settings (d = 9, edge 1,
variance 0.25) it sits at the simplex centroid (λ ≈ 0.0533), not at a vertex (lk ≈ 0.0291): a vertex λ would
make log(λ − lk) NaN (seed-review finding 5, M3).
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import nn

from bench.registry import register_method
from methods.base import Method, inference
from methods.nets import NetParams, adam, discriminator_body, generator, head, latent


class MDGANParams(NetParams):
    # Shared-network profile: MGAN App. C.1 Table 3 (NetParams) with a d-dim D head. MD-GAN's 2-D lr was "tuned
    # for each method separately" (md-gan §6.3.2; values in the lost appendix): NetParams' defaults are kept.
    embed_dim: int = 9  # md-gan §6.3.2 "a 9D simplex (with 10 Gaussian components)"; Fig. 3: 2-D runs "9D" too
    simplex_edge: float = 1.0  # md-gan §6.3.2 "a distance of one from one another" (authors' code: ≈ 1.41)
    # md-gan §6.3.2 states diagonal variance 0.25 (Σ = 0.25·I) for its real-image runs only; on the 2-D sets we follow
    # the authors' 2-D code [eghbalz/mdgan], which uses the same 0.25 (the paper gives no 2-D value)
    sgmm_var: float = 0.25
    # Stabiliser in the fake term only, log(λ − lk + ε): λ − lk reaches 0 where an embedding sits at the argmax
    # of lk (the paper has none; the authors' code adds 1e-8 to both logs [code]). The real term log lk is an
    # exact log-sum-exp, finite everywhere, so it needs none (an ε there would also zero its gradient far out).
    log_eps: float = 1e-8
    # D's embedding output: "linear" (a plain head, like every shared network) or "sigmoid_box":
    # 2w·sigmoid(h) − w ∈ (−w, w)^d, the authors' 2-D network (5·sigmoid − 2.5, w = 2.5) [code]; paper: silent.
    embed_out: Literal["linear", "sigmoid_box"] = "linear"
    embed_box: float = 2.5  # w of "sigmoid_box" (authors' code: 5·sigmoid − 2.5)
    lambda_starts: int = 64  # random starts (inside the simplex) of the λ search, beside centroid and vertices


# -- the SGMM (md-gan §4.2) --------------------------------------------------------------------------------
def simplex_vertices(d: int, edge: float) -> np.ndarray:
    """(d + 1, d) float64: vertices of a regular d-simplex with every pairwise distance `edge`, centred at 0.

    Construction: the unit vectors e_0..e_d of R^{d+1} form a regular simplex of edge √2 in the hyperplane
    Σx = 1. The rows h_k = (1, …, 1, −k, 0, …, 0)/√(k(k+1)) (k ones, k = 1..d) of the Helmert matrix H (d × (d+1))
    are an orthonormal basis of 1^⊥, so x ↦ Hx is an isometry on differences e_i − e_j ∈ 1^⊥ and maps 1 to 0:
    v_i = (edge/√2)·H e_i are d + 1 points of R^d, pairwise `edge` apart, with centroid H·1/(d+1) = 0."""
    H = np.zeros((d, d + 1))
    for k in range(1, d + 1):
        H[k - 1, :k] = 1.0
        H[k - 1, k] = -k
        H[k - 1] /= math.sqrt(k * (k + 1))
    return (edge / math.sqrt(2.0)) * H.T  # row i = H e_i, scaled


def sgmm_log_lk(e: torch.Tensor, mu: torch.Tensor, var: float) -> torch.Tensor:
    """(N,): log lk(e) for embeddings e (N, d), means mu (C, d), spherical variance var.
    md-gan Eq. 2: lk(e) = Σ_i 1/C · N(e; μ_i, var·I), C = d + 1; as a log-sum-exp (no underflow far out)."""
    d = e.shape[1]
    sq = ((e[:, None, :] - mu[None, :, :]) ** 2).sum(-1)  # (N, C): ‖e − μ_i‖²
    log_comp = -0.5 * d * math.log(2 * math.pi * var) - sq / (2 * var)  # (N, C): log N(e; μ_i, var·I)
    return torch.logsumexp(log_comp, dim=1) - math.log(mu.shape[0])


def sgmm_global_max(mu: np.ndarray, var: float, n_random: int = 64, seed: int = 0) -> tuple[float, np.ndarray]:
    """(λ, argmax): the global maximum of lk over R^d (md-gan §4.3 "the maximum value of the likelihood").

    Every mode of a mixture of equal spherical Gaussians lies in the convex hull of its means
    (Carreira-Perpiñán & Williams 2003), so L-BFGS on −log lk starts from points covering the simplex: its
    centroid, each vertex, and `n_random` Dirichlet(1) points (fixed seed: λ is deterministic). The best value
    over the local optima and the starts themselves is returned (float64)."""
    from scipy.optimize import minimize  # heavy import late (STYLE 12)

    mu = np.asarray(mu, dtype=np.float64)
    C, d = mu.shape

    def neg_log_lk(e: np.ndarray) -> tuple[float, np.ndarray]:
        diff = e[None, :] - mu  # (C, d)
        a = -(diff**2).sum(1) / (2 * var)  # (C,): log component densities up to a constant
        m = a.max()
        w = np.exp(a - m)
        log_lk = m + math.log(w.sum()) - 0.5 * d * math.log(2 * math.pi * var) - math.log(C)
        r = w / w.sum()  # (C,): posterior over components
        return -log_lk, (r[:, None] * diff).sum(0) / var  # gradient of −log lk

    rng = np.random.default_rng(seed)
    starts = np.concatenate([mu.mean(0, keepdims=True), mu, rng.dirichlet(np.ones(C), n_random) @ mu])
    best_val, best_e = -math.inf, starts[0]
    for s in starts:
        for e in (s, minimize(neg_log_lk, s, jac=True, method="L-BFGS-B",
                              options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000}).x):
            v = -neg_log_lk(e)[0]
            if v > best_val:
                best_val, best_e = v, e
    return math.exp(best_val), best_e


class SGMM(nn.Module):
    """The fixed Simplex GMM of md-gan §4.2 with its global maximum λ (§4.3); buffers only, nothing trains.

    λ − lk(e) is computed in a form that stays accurate near the maximum. Embeddings start there: with zero
    biases and small weights D maps every input to ≈ 0, the simplex centroid, where λ − lk(e) ≈ 1.6·λ·‖e‖² is
    far below float32's resolution of lk (≈ 4e-9) when computed as a difference. With a* the argmax,
    π_i = N(a*; μ_i)/C (Σ π_i = λ) and δ = e − a*:  lk(e) = Σ π_i exp(−a_i), a_i = (2δ·(a* − μ_i) + ‖δ‖²)/(2v),
    so λ − lk(e) = −Σ π_i expm1(−a_i), exact for any a*, and no a_i is below −‖a* − μ_i‖²/(2v) (no overflow)."""

    def __init__(self, d: int, edge: float, var: float, n_starts: int):
        super().__init__()
        self.var = var
        mu = simplex_vertices(d, edge)  # (C, d), C = d + 1
        lam, argmax = sgmm_global_max(mu, var, n_starts)
        log_pi = (-0.5 * d * math.log(2 * math.pi * var) - ((argmax - mu) ** 2).sum(1) / (2 * var)
                  - math.log(d + 1))  # (C,): log N(a*; μ_i, v·I)/C
        self.register_buffer("mu", torch.as_tensor(mu, dtype=torch.float32))
        self.register_buffer("argmax", torch.as_tensor(argmax, dtype=torch.float32))  # (d,)
        self.register_buffer("pi", torch.as_tensor(np.exp(log_pi), dtype=torch.float32))  # (C,)
        self.register_buffer("lam", torch.tensor(lam, dtype=torch.float64))  # λ, recorded in checkpoints
        self.lam_value = lam  # float64 λ
        self.lam_at_centroid = bool(np.linalg.norm(argmax - mu.mean(0)) < 1e-4)  # where the maximum sits

    def log_lk(self, e: torch.Tensor) -> torch.Tensor:
        """(N,): log lk(e) (md-gan Eq. 2)."""
        return sgmm_log_lk(e, self.mu, self.var)

    def gap(self, e: torch.Tensor) -> torch.Tensor:
        """(N,): λ − lk(e) ≥ 0, accurate to float32's relative precision also next to the maximum."""
        delta = e - self.argmax  # (N, d)
        a = (2 * delta @ (self.argmax - self.mu).T + (delta**2).sum(1, keepdim=True)) / (2 * self.var)  # (N, C)
        return -(torch.expm1(-a) * self.pi).sum(1)


class BoxSigmoid(nn.Module):
    """2w·sigmoid(x) − w: a smooth box (−w, w) (the authors' 2-D D output, 5·sigmoid − 2.5 [code])."""

    def __init__(self, half_width: float):
        super().__init__()
        self.half_width = half_width

    def forward(self, x):
        return 2 * self.half_width * torch.sigmoid(x) - self.half_width


# -- Eq. 3 ---------------------------------------------------------------------------------------------------
def log_gap(gap: torch.Tensor, eps: float) -> torch.Tensor:
    """(N,): log(λ − lk + ε) from gap = λ − lk (clamped at 0 against rounding: mathematically λ ≥ lk)."""
    return torch.log(gap.clamp_min(0.0) + eps)


def d_loss_mdgan(log_lk_real: torch.Tensor, gap_fake: torch.Tensor, eps: float) -> torch.Tensor:
    # md-gan Eq. 3, D side: maximise E log lk(D(x)) + E log(λ − lk(D(G(z)))), i.e. minimise the negative.
    return -(log_lk_real.mean() + log_gap(gap_fake, eps).mean())


def g_loss_mdgan(gap_fake: torch.Tensor, eps: float) -> torch.Tensor:
    # md-gan Eq. 3, G side (saturating minimax, seed-review M2): minimise E log(λ − lk(D(G(z)))).
    return log_gap(gap_fake, eps).mean()


@register_method("mdgan")
class MDGAN(Method):
    Params = MDGANParams

    def __init__(self, spec, params: MDGANParams, device="cpu"):
        super().__init__(spec, params, device)
        p = params
        self.G = generator(p, spec).to(self.device)
        body, width = discriminator_body(p, spec, head_outputs=p.embed_dim)  # D's size counts the embedding head
        out = [BoxSigmoid(p.embed_box)] if p.embed_out == "sigmoid_box" else []
        self.D = nn.Sequential(*body, head(p, width, p.embed_dim), *out).to(self.device)  # x (N, *spec.shape) -> e (N, d)
        # md-gan §4.3: λ = the global max of lk, found once at construction (see SGMM, sgmm_global_max).
        self.sgmm = SGMM(p.embed_dim, p.simplex_edge, p.sgmm_var, p.lambda_starts).to(self.device)
        self.last: dict[str, torch.Tensor] = {}  # detached per-sample values of the last step (diagnostics)
        self.set_optimizers(G=adam(self.G.parameters(), p), D=adam(self.D.parameters(), p, p.d_lr))

    def train_step(self, x, y=None):
        p = self.params
        fake = self.G(latent(p.fake_batch_size, p, 1.0, self.device))  # (B_fake, 2)
        # One D step, then one G step on the same fakes (as `gan`; md-gan §2 "equal updates").
        log_lk_real, gap_d = self.sgmm.log_lk(self.D(x)), self.sgmm.gap(self.D(fake.detach()))
        loss_d = d_loss_mdgan(log_lk_real, gap_d, p.log_eps)
        self.descend("D", loss_d)
        gap_g = self.sgmm.gap(self.D(fake))
        loss_g = g_loss_mdgan(gap_g, p.log_eps)
        self.descend("G", loss_g)
        self.step_schedulers()
        # (N,) each: log lk(D(x)); λ − lk(D(G(z))) as the D step and the G step saw it
        self.last = {"log_lk_real": log_lk_real.detach(), "gap_fake_d": gap_d.detach(), "gap_fake_g": gap_g.detach()}
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self.G(latent(n, self.params, scale, self.device))
