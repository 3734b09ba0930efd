import io
import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from scipy.spatial.distance import pdist
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from method_checks import build, changed_groups
from specs import make_spec

from methods.mdgan import (SGMM, BoxSigmoid, d_loss_mdgan, g_loss_mdgan, sgmm_global_max, sgmm_log_lk,
                           simplex_vertices)

# The authors' 2-D networks (seed-review M4 [code]); the paper-protocol override block uses these values.
PAPER_2D = dict(z_dim=2, z_dist="uniform", g_out_scale=6.0, d_hidden=(128, 128), embed_out="sigmoid_box",
                embed_box=2.5, batch_size=500, fake_batch_size=500, lr=1e-3, lr_halve_every=10_000)


def scipy_lk(e: np.ndarray, mu: np.ndarray, var: float) -> np.ndarray:
    """(N,): md-gan Eq. 2 from scipy's multivariate normal, independently of the method's code."""
    d = mu.shape[1]
    comps = [multivariate_normal(mean=m, cov=var * np.eye(d)) for m in mu]
    return np.mean([np.atleast_1d(c.pdf(e)) for c in comps], axis=0)


def numpy_lk(e: np.ndarray, mu: np.ndarray, var: float) -> float:
    """lk at one point e (d,) by the plain density formula (fast enough for a derivative-free optimiser)."""
    d = mu.shape[1]
    return float(np.mean(np.exp(-((e - mu) ** 2).sum(1) / (2 * var))) / (2 * np.pi * var) ** (d / 2))


def scipy_log_lk(e: np.ndarray, mu: np.ndarray, var: float) -> np.ndarray:
    d = mu.shape[1]
    logs = np.stack([multivariate_normal(mean=m, cov=var * np.eye(d)).logpdf(e) for m in mu])  # (C, N)
    return logsumexp(logs, axis=0) - math.log(len(mu))


# -- the simplex and λ (md-gan §4.2–4.3, §6.3.2) -------------------------------------------------------------
@pytest.mark.parametrize("d, edge", [(9, 1.0), (2, 1.0), (5, 3.0), (1, 1.0)])
def test_simplex_vertices_are_pairwise_edge_apart_and_centred(d, edge):
    mu = simplex_vertices(d, edge)
    assert mu.shape == (d + 1, d)
    np.testing.assert_allclose(pdist(mu), edge, rtol=1e-12)  # float64 rounding only
    np.testing.assert_allclose(mu.mean(0), 0.0, atol=1e-12)
    # the vertices span R^d (a non-degenerate simplex): rank of the differences is d
    assert np.linalg.matrix_rank(mu[1:] - mu[0]) == d


def test_lk_at_vertex_and_centroid_match_scipy_and_hand_values():
    mu = simplex_vertices(9, 1.0)
    vertex, centroid = mu[0], mu.mean(0)
    lk_v, lk_c = scipy_lk(np.stack([vertex, centroid]), mu, 0.25)
    # Hand values: (2π·0.25)^(−4.5) = (π/2)^(−4.5); centroid: every vertex at the circumradius² = d/(2(d+1)) = 0.45
    # → (π/2)^(−4.5)·e^(−0.9); vertex: (π/2)^(−4.5)·(1 + 9e^(−2))/10. Issue's rounded values 0.0533 and 0.0291.
    norm = (math.pi / 2) ** -4.5
    assert lk_c == pytest.approx(norm * math.exp(-0.9), rel=1e-12)
    assert lk_v == pytest.approx(norm * (1 + 9 * math.exp(-2)) / 10, rel=1e-12)
    assert lk_c == pytest.approx(0.0533, abs=5e-5)  # the 3 significant digits
    assert lk_v == pytest.approx(0.0291, abs=5e-5)
    # the method's log-sum-exp form gives the same numbers (float64 embeddings: rounding only)
    ll = sgmm_log_lk(torch.tensor(np.stack([vertex, centroid])), torch.tensor(mu), 0.25).exp().numpy()
    np.testing.assert_allclose(ll, [lk_v, lk_c], rtol=1e-12)


def test_lambda_is_the_global_max_at_the_centroid_for_the_paper_settings():
    mdgan, _ = build("mdgan")
    mu = simplex_vertices(9, 1.0)
    lam = mdgan.sgmm.lam_value
    assert float(mdgan.sgmm.lam) == lam
    assert mdgan.sgmm.lam_at_centroid
    # Independent search with scipy's lk: the centroid→vertex segment densely, 20k random points in the simplex,
    # 5k in a box around it, and derivative-free Nelder–Mead (on the plain density formula) from 8 random starts.
    rng = np.random.default_rng(1)
    t = np.linspace(0, 1, 2001)[:, None]
    centroid = mu.mean(0)
    pts = [centroid + t * (v - centroid) for v in mu[:3]]
    pts += [rng.dirichlet(np.ones(10), 20_000) @ mu, rng.uniform(-1, 1, (5_000, 9))]
    dense = scipy_lk(np.concatenate(pts), mu, 0.25)
    opt = [-minimize(lambda e: -numpy_lk(e, mu, 0.25), rng.dirichlet(np.ones(10)) @ mu,
                     method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20_000}).fun
           for _ in range(8)]
    # λ is the max: nothing found is higher (beyond float64 rounding, 1e-12 relative); every Nelder–Mead run
    # reaches it (1e-9 relative: its fatol is 1e-14 absolute on lk ≈ 0.05; observed ~1e-15), and so does the
    # dense set (its segments start at the centroid itself: rounding only).
    assert max(dense.max(), max(opt)) <= lam * (1 + 1e-12)
    assert min(opt) == pytest.approx(lam, rel=1e-9)
    assert dense.max() == pytest.approx(lam, rel=1e-12)
    assert lam == pytest.approx((math.pi / 2) ** -4.5 * math.exp(-0.9), rel=1e-9)  # the centroid value
    # a λ taken at a vertex (≈ 0.0291) would be exceeded: log(λ_vertex − lk) is NaN near the centroid
    assert scipy_lk(mu[:1], mu, 0.25)[0] < 0.6 * lam


def test_lambda_search_finds_off_centroid_maxima():
    # Well-separated components (d = 2, edge 3, var 0.25): the maxima sit near the vertices, not at the centroid,
    # so the search must not assume the centroid. Reference: scipy Nelder–Mead from each vertex.
    mu = simplex_vertices(2, 3.0)
    lam, argmax = sgmm_global_max(mu, 0.25)
    ref = max(-minimize(lambda e: -numpy_lk(e, mu, 0.25), v, method="Nelder-Mead",
                        options={"xatol": 1e-10, "fatol": 1e-14}).fun for v in mu)
    assert lam == pytest.approx(ref, rel=1e-7)  # Nelder–Mead's tolerance
    assert min(np.linalg.norm(argmax - v) for v in mu) < 0.05  # at a vertex, pulled in slightly by the others
    assert lam == pytest.approx(1 / 3 / (2 * math.pi * 0.25), rel=2e-3)  # one component's peak / 3 (+ e^{-18} tails)


def test_log_lk_matches_scipy_on_hand_made_embeddings_including_far_ones():
    mu = simplex_vertices(9, 1.0)
    rng = np.random.default_rng(0)
    e = np.concatenate([mu, mu.mean(0, keepdims=True), rng.normal(0, 1, (20, 9)),
                        np.full((1, 9), 10.0), np.full((1, 9), -30.0)])  # far points: lk underflows in float64
    ref = scipy_log_lk(e, mu, 0.25)
    assert ref[-1] < -5000  # exp(ref) == 0: only a log-sum-exp can give this
    got64 = sgmm_log_lk(torch.tensor(e), torch.tensor(mu), 0.25).numpy()
    np.testing.assert_allclose(got64, ref, rtol=1e-12)  # float64: rounding only
    got32 = sgmm_log_lk(torch.tensor(e, dtype=torch.float32), torch.tensor(mu, dtype=torch.float32), 0.25).numpy()
    np.testing.assert_allclose(got32, ref, rtol=1e-5, atol=1e-5)  # float32 rounding of squared distances


def test_gap_equals_lambda_minus_lk_and_stays_accurate_next_to_the_maximum():
    sgmm = SGMM(9, 1.0, 0.25, n_starts=16)
    mu, lam = simplex_vertices(9, 1.0), sgmm.lam_value
    rng = np.random.default_rng(2)
    e = np.concatenate([mu, rng.normal(0, 0.7, (30, 9)), np.full((1, 9), 20.0)])
    got = sgmm.gap(torch.tensor(e, dtype=torch.float32)).double().numpy()
    # float32: relative precision of λ (≈ 1e-7·λ) in absolute terms; the far point gives exactly λ
    np.testing.assert_allclose(got, lam - scipy_lk(e, mu, 0.25), rtol=1e-5, atol=2e-8)
    # Next to the centroid λ − lk(c + δ) = 1.6·λ·‖δ‖² + O(‖δ‖³): Hessian of lk there = λ(R²/(d·v²) − 1/v)·I with
    # R²/d = 0.05 (vertex covariance of the regular simplex), v = 0.25 → −3.2λ·I. At ‖δ‖ = 1e-4 the gap
    # (≈ 8.5e-10) is below float32's resolution of lk (≈ 4e-9), so the naive difference is pure rounding.
    delta = rng.normal(0, 1, (20, 9))
    delta *= 1e-4 / np.linalg.norm(delta, axis=1, keepdims=True)
    gap = sgmm.gap(torch.tensor(delta, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(gap, 1.6 * lam * 1e-8, rtol=2e-3)  # O(‖δ‖) relative from the cubic term + float32
    naive = lam - sgmm_log_lk(torch.tensor(delta, dtype=torch.float32), sgmm.mu, 0.25).exp().double().numpy()
    assert np.abs(naive - 1.6 * lam * 1e-8).max() > 1e-9  # the difference form is off by more than the gap itself


def test_losses_equal_eq3_computed_by_hand():
    lam, eps = 0.05, 1e-8
    lk_real = np.array([0.04, 0.01, 1e-30])
    lk_fake = np.array([0.049, 0.02, 0.05])  # the last sits at λ: only ε keeps the log finite
    lr, gap = torch.tensor(np.log(lk_real)), torch.tensor(lam - lk_fake)
    want_d = -(np.log(lk_real).mean() + np.log(lam - lk_fake + eps).mean())
    want_g = np.log(lam - lk_fake + eps).mean()
    assert d_loss_mdgan(lr, gap, eps).item() == pytest.approx(want_d, rel=1e-12)  # float64 rounding
    assert g_loss_mdgan(gap, eps).item() == pytest.approx(want_g, rel=1e-12)
    assert math.isinf(g_loss_mdgan(gap, 0.0).item())  # ε = 0: the paper's exact form diverges at λ


def test_sigmoid_box_output_is_the_authors_5_sigmoid_minus_2_5():
    h = torch.tensor([-100.0, -1.0, 0.0, 2.0, 100.0])
    np.testing.assert_allclose(BoxSigmoid(2.5)(h).numpy(), (5 * torch.sigmoid(h) - 2.5).numpy(), rtol=1e-6)
    mdgan, data = build("mdgan", **PAPER_2D)
    assert isinstance(mdgan.D[-1], BoxSigmoid)
    assert [m.out_features for m in mdgan.D if isinstance(m, torch.nn.Linear)] == [128, 128, 9]
    e = mdgan.D(torch.randn(100, 2) * 100)
    assert e.shape == (100, 9) and float(e.detach().abs().max()) <= 2.5


# -- training ------------------------------------------------------------------------------------------------
def test_training_keeps_every_loss_finite_and_fake_lk_below_lambda():
    mdgan, data = build("mdgan", "ring8_mgan")
    g = torch.Generator().manual_seed(0)
    lam = mdgan.sgmm.lam_value
    for step in range(300):
        losses = mdgan.train_step(*data.batch(mdgan.batch_size, g))
        assert all(math.isfinite(v) for v in losses.values()), (step, losses)
        for k in ("gap_fake_d", "gap_fake_g"):
            gap = mdgan.last[k]  # λ − lk(D(G(z))) per sample, as that update saw it
            assert gap.shape == (mdgan.params.fake_batch_size,)
            assert bool((gap > 0).all()), (step, k, float(gap.min()))  # lk(D(G(z))) < λ for every sample
        assert bool((mdgan.last["log_lk_real"] <= math.log(lam) + 1e-6).all())  # 1e-6: float32 log rounding
    # Eq. 3's own bounds (a sign error breaks them): log(λ − lk + ε) ≤ log(λ + ε) and −log lk ≥ −log λ
    log_lam_eps = math.log(lam + mdgan.params.log_eps)
    assert losses["loss_g"] <= log_lam_eps
    assert losses["loss_d"] >= -math.log(lam) - log_lam_eps - 1e-6  # 1e-6: float32 rounding of log lk


def test_one_step_moves_g_and_d_and_not_the_sgmm():
    mdgan, data = build("mdgan")
    x, y = data.batch(mdgan.batch_size, torch.Generator().manual_seed(0))
    buffers = [b.clone() for b in mdgan.buffers()]
    assert len(buffers) == 4  # the SGMM's μ, argmax, π, λ
    groups = {"G": list(mdgan.G.parameters()), "D": list(mdgan.D.parameters())}
    assert changed_groups(mdgan, groups, x, y) == {"G", "D"}
    assert all(torch.equal(a, b) for a, b in zip(buffers, mdgan.buffers()))  # fixed buffers, not parameters


def test_sample_shapes_scale_and_component():
    from methods.nets import latent

    mdgan, _ = build("mdgan")
    assert mdgan.n_components == 1
    assert mdgan.sample(7).shape == (7, 2)
    assert mdgan.sample(3, component=0).shape == (3, 2)
    with pytest.raises(ValueError, match="out of range"):
        mdgan.sample(3, component=1)
    torch.manual_seed(1)
    scaled = mdgan.sample(10, scale=4.0)
    torch.manual_seed(1)
    z = latent(10, mdgan.params, 1.0, "cpu")
    with torch.no_grad():
        assert torch.allclose(scaled, mdgan.G(2 * z))  # covariance ×4 = std ×2


def test_state_dict_round_trip_restores_samples():
    mdgan, data = build("mdgan", lr_halve_every=3)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        mdgan.train_step(*data.batch(mdgan.batch_size, g))
    fresh, _ = build("mdgan", seed=1, lr_halve_every=3)
    # Through bytes, as the trial's checkpoints: torch's Optimizer.load_state_dict aliases (does not copy) the
    # state tensors, so an in-memory hand-over would make both methods share one Adam state.
    buf = io.BytesIO()
    torch.save(mdgan.state_dict(), buf)
    buf.seek(0)
    fresh.load_state_dict(torch.load(buf, weights_only=False))
    assert float(fresh.sgmm.lam) == mdgan.sgmm.lam_value
    torch.manual_seed(3)
    a = mdgan.sample(50)
    torch.manual_seed(3)
    assert torch.equal(a, fresh.sample(50))
    assert fresh.optimizers["D"].param_groups[0]["lr"] == mdgan.optimizers["D"].param_groups[0]["lr"] == 1e-4
    # the optimiser state travelled too: one more identical step gives identical samples
    x, y = data.batch(mdgan.batch_size, g)
    torch.manual_seed(4)
    mdgan.train_step(x, y)
    torch.manual_seed(4)
    fresh.train_step(x, y)
    torch.manual_seed(5)
    a = mdgan.sample(50)
    torch.manual_seed(5)
    assert torch.equal(a, fresh.sample(50))


@pytest.mark.parametrize("params", [{}, PAPER_2D], ids=["shared", "paper_2d"])
def test_short_trial_completes(params):
    from bench.trial import run_trial

    out = run_trial(make_spec(method="mdgan", dataset="grid25", steps=30, params=params))
    assert out.status == "completed", out.trial["error"]
    assert {r["metric"] for r in out.metrics} >= {"modes", "hq"}
