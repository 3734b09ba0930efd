"""Where does MD-GAN's SGMM likelihood (md-gan Eq. 2; 9-D simplex, variance 0.25) have its maxima, for a given
simplex edge? Checks docs/reproductions.md's account of the missing grid modes (issue 15).

For each edge: L-BFGS on −log lk (methods/mdgan.py's objective) from the centroid, from every vertex and from
random points of the simplex; each end point is classified by the Hessian of log lk there (negative definite =
a local maximum), and local maxima are grouped by position. Prints, per edge, the local maxima found (distance to
the centroid and to the nearest vertex, lk there) and λ = the global maximum (sgmm_global_max); then the edge
at which maxima near the vertices first appear (bisection on "a start at a vertex ends away from the centroid at a
local maximum"). Run: PYTHONPATH=. python docs/sgmm_peaks.py  (a few seconds, CPU).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

from methods.mdgan import sgmm_global_max, simplex_vertices

D, VAR = 9, 0.25


def log_lk_grad_hess(e: np.ndarray, mu: np.ndarray, var: float):
    diff = mu - e[None, :]  # (C, d): μ_i − e
    a = -(diff**2).sum(1) / (2 * var)
    m = a.max()
    w = np.exp(a - m)
    log_lk = m + math.log(w.sum()) - 0.5 * len(e) * math.log(2 * math.pi * var) - math.log(len(mu))
    r = w / w.sum()
    g = (r[:, None] * diff).sum(0) / var  # ∇ log lk
    second = (r[:, None, None] * diff[:, :, None] * diff[:, None, :]).sum(0) / var**2
    hess = -np.eye(len(e)) / var + second - np.outer(g, g)  # ∇² log lk
    return log_lk, g, hess


def local_maxima(edge: float, n_random: int = 200, seed: int = 0) -> list[tuple[float, float, float]]:
    """[(distance to centroid, distance to nearest vertex, lk)] of the distinct local maxima found."""
    mu = simplex_vertices(D, edge)
    rng = np.random.default_rng(seed)
    starts = np.concatenate([mu.mean(0, keepdims=True), mu, rng.dirichlet(np.ones(D + 1), n_random) @ mu])
    found: list[np.ndarray] = []
    out = []
    for s in starts:
        x = minimize(lambda e: tuple(-v for v in log_lk_grad_hess(e, mu, VAR)[:2]), s, jac=True, method="L-BFGS-B",
                     options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 2000}).x
        log_lk, g, h = log_lk_grad_hess(x, mu, VAR)
        if np.linalg.norm(g) > 1e-6 or np.linalg.eigvalsh(h).max() >= 0:
            continue  # not a (strict) local maximum
        if any(np.linalg.norm(x - y) < 1e-4 for y in found):
            continue
        found.append(x)
        out.append((float(np.linalg.norm(x)), float(np.linalg.norm(mu - x, axis=1).min()), math.exp(log_lk)))
    return sorted(out)


def ray_peak(edge: float, n: int = 4001) -> tuple[float, float, bool] | None:
    """The maximum of log lk along the ray from the centroid through vertex 0 (where, by the simplex's symmetry,
    any maximum near a vertex lies), away from the centroid: (distance to centroid, lk, whether the full 9-D
    Hessian there is negative definite, i.e. a true local maximum), or None when lk only falls along the ray."""
    mu = simplex_vertices(D, edge)
    u = mu[0] / np.linalg.norm(mu[0])
    ts = np.linspace(0.0, 1.5 * np.linalg.norm(mu[0]), n)
    f = np.array([log_lk_grad_hess(t * u, mu, VAR)[0] for t in ts])
    inner = [i for i in range(1, n - 1) if f[i] > f[i - 1] and f[i] >= f[i + 1]]
    if not inner:
        return None
    i = inner[-1]
    # refine along the ray (by symmetry the gradient at a point of the ray lies along it: a stationary point of
    # the 1-D profile is one of lk)
    from scipy.optimize import minimize_scalar

    t = minimize_scalar(lambda t: -log_lk_grad_hess(t * u, mu, VAR)[0], bounds=(ts[i - 1], ts[i + 1]),
                        method="bounded", options={"xatol": 1e-12}).x
    x = t * u
    log_lk, g, h = log_lk_grad_hess(x, mu, VAR)
    return float(np.linalg.norm(x)), math.exp(log_lk), bool(np.linalg.eigvalsh(h).max() < 0 and np.linalg.norm(x) > 1e-3)


def main() -> None:
    for edge in (1.0, math.sqrt(2), 1.5, 1.55, 1.6, 1.65, 1.7, 2.0):
        mu = simplex_vertices(D, edge)
        lam, arg = sgmm_global_max(mu, VAR)
        c_log, _, c_h = log_lk_grad_hess(np.zeros(D), mu, VAR)
        peak = ray_peak(edge)
        near = "none" if peak is None or not peak[2] else \
            f"at |e| = {peak[0]:.3f} ({np.linalg.norm(mu[0]) - peak[0]:.3f} from the vertex), lk = {peak[1]:.4g}"
        print(f"edge {edge:.4f}: centroid lk = {math.exp(c_log):.4g} (local max: {np.linalg.eigvalsh(c_h).max() < 0}); "
              f"vertex at |e| = {np.linalg.norm(mu[0]):.3f}, lk = {math.exp(log_lk_grad_hess(mu[0], mu, VAR)[0]):.4g}; "
              f"maxima near the vertices: {near}; {len(local_maxima(edge))} distinct local maxima from the "
              f"multi-start; λ = {lam:.4g} at |e| = {np.linalg.norm(arg):.3f}")

    def has(edge):
        p = ray_peak(edge)
        return p is not None and p[2]
    lo, hi = math.sqrt(2), 2.0
    assert not has(lo) and has(hi)
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if has(mid) else (mid, hi)
    print(f"local maxima near the vertices exist from edge ≈ {hi:.4f} on (none at {lo:.4f}; bisection)")
    lo, hi = 1.5, 2.0
    for _ in range(30):  # where a vertex maximum overtakes the centroid (λ moves off the centroid)
        mid = (lo + hi) / 2
        lam_arg = sgmm_global_max(simplex_vertices(D, mid), VAR)[1]
        lo, hi = (lo, mid) if np.linalg.norm(lam_arg) > 1e-3 else (mid, hi)
    print(f"the global maximum leaves the centroid for the vertex maxima at edge ≈ {hi:.4f}")


if __name__ == "__main__":
    main()
