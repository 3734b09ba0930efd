"""`pcmgan`: PCM-GAN (Huang et al., "GAN-based Gaussian Mixture Model Responsibility Learning", §II, Alg. 1)
on the shared 2-D networks (MGAN App. C.1 Table 3, `methods.nets`).

Players: a learned K-component Gaussian-mixture latent z = Σ_k ε + μ_k (§II-B, §II-D; `MixtureLatent`),
the generator G, the discriminator D and the classifier C_PCM(x) ≈ p(k|x) (K-way softmax, §II-A). By
default C is a K-way head on D's hidden body (the "encoding shared" design of Table I / Table III); with
`classifier="separate"` it is its own MLP of the same shape as D.

Alg. 1 is written per real sample x_i (its updates sit inside "for i = 1..M"); we read it PER BATCH: the
losses of lines 9–11 are computed once on the batch, at the current parameters, and then every player
takes ONE Adam step on the sum of the gradients of the losses Alg. 1 assigns to it (lines 12–15):

  line 12  D   ← L_adv (D ascends Eq. 6)                         moves D (shared: body + D head)
  line 13  G   ← L_adv (G's side, `g_loss`), through x̂ = G(z)    moves G and the latent μ, Σ (§II-D)
           C   ← L_adv through the weights p(k|x_i) (`c_adv`)      moves C (shared: body + C head)
  line 14  C   ← L_{x̂,x}                                          moves C
  line 15  C, latent ← L_{x̂,z} (C(x̂^k), p(k|z_k) and x̂ = G(z))   moves C and the latent, not G
Each gradient is taken only along its player's own path (torch.autograd.grad with that player's
parameters): D's step never moves G, G's step never moves D's body, C's adversarial step reaches C only
through the weights (the D(x̂) factors are constants for it). The shared body belongs to two players and so
has two Adam states: D's (line 12) and C's (lines 13–15).
"""
from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import model_validator
from torch import nn

from bench.registry import register_method
from methods.base import Method, inference
from methods.latent import MixtureLatent
from methods.nets import NetParams, adam, discriminator, discriminator_body, generator, head

Line = Literal[12, 13, 14, 15]


class PCMGANParams(NetParams):
    # The latent (D_z, K, its initial μ and Σ, Σ's form, its normal ε) is PCM-GAN's own design, kept on every
    # dataset: an override that does not name pcmgan leaves these alone (bench.suites build_plan).
    own_fields: ClassVar[frozenset[str]] = frozenset({"z_dim", "z_dist", "n_gaussians", "cov", "mu_init",
                                                      "sigma_init"})
    k_field: ClassVar[str] = "n_gaussians"  # K = the dataset's classes unless set; resolved and recorded per trial
    z_dim: int = 100  # D_z: unstated; 100 inferred from Table III's parameter counts (seed-review P3)
    # lr 2e-4: PCM-GAN Table II (= NetParams').
    n_gaussians: int | None = None  # K; None: the dataset's number of classes (§III-B: "equal to the total
    #                                 number of classes of the dataset in all experiments")
    cov: Literal["full", "diag"] = "diag"  # §II-D: σ ∈ R^{K×D_z×D_z}, a full factor Σ_k (cov Σ_kΣ_kᵀ): "full"
    #   (paper profile). Default diag: at d = 256 the full Eq. 3 costs O(K·d³) a step (LU, log-det and their
    #   backward); one idle core: ring8 42 vs 3.2 ms/step, grid25 127 vs 3.8 (gan 1.7, 2.0)
    mu_init: float = 1.0  # μ_k ~ U(−c, c)^d. Unstated in the paper (P3); c = 1 as DeLiGAN §4.1's μ_i ~ U(−1, 1)
    sigma_init: float = 1.0  # Σ_k = s·I at start. Unstated (P3); s = 1: each component has the N(0, I)
    #                          spread the shared G is initialised for (gan's prior)
    classifier: Literal["shared", "separate"] = "shared"  # Table I offers both; Table III: shared is better
    g_loss: Literal["nonsaturating", "minimax"] = "nonsaturating"  # G's side of Eq. 6 (unstated; see g_side)
    c_adv: Literal["with_g", "with_d", "off"] = "with_g"  # Alg. 1 line 13 "update both the generator and the
    #   C_PCM with L_adv": C descends G's side of Eq. 6 through the weights p(k|x_i) ("with_g"); "with_d": C
    #   ascends it, as D does; "off": the weights are constants for C (it learns from Eq. 4 and L_{x̂,x} only)
    xz_loss: Literal["ce", "kl", "js"] = "ce"  # "I(·,·)" of Eq. 4 between p(k|z_k) and C(x̂^k) (see xz_consistency)
    xx_loss: Literal["kl", "js", "none"] = "kl"  # "I(·,·)" of L_{x̂,x} (see xx_consistency)
    lambda_xz: float = 1.0  # Alg. 1 updates with each loss unweighted: weight 1 in C's and the latent's sums
    lambda_xx: float = 1.0
    fakes_per_component: int | Literal["paired"] | None = None  # fakes per Gaussian per step. "paired": Alg. 1
    #   as written, one fake per real per Gaussian (batch_size·K fakes; x̂_i^k weighted by p(k|x_i)). An int m,
    #   or None = ceil(fake_batch_size / K) (default: about the 128 fakes `gan` draws, like for like): the fakes
    #   are drawn independently of the reals and Gaussian k is weighted by the batch mean of p(k|x_i), an
    #   unbiased estimate of the same Eq. 6 expectation (x̂^k is independent of x_i), at a cost CPU can run
    alg1_lines: tuple[Line, ...] = (12, 13, 14, 15)  # which updates of Alg. 1 run (ablations; paper: all)

    @model_validator(mode="after")
    def _check(self):
        if self.z_dist != "normal":
            raise ValueError(f"pcmgan draws ε ~ N(0, I) (PCM-GAN §II-B); z_dist={self.z_dist!r} is not used by "
                             f"it: leave z_dist at 'normal'")
        if isinstance(self.fakes_per_component, int) and self.fakes_per_component < 1:
            raise ValueError(f"fakes_per_component must be ≥ 1, 'paired' or None; got {self.fakes_per_component}")
        return self


# -- the losses (pure functions, tested against numpy) -------------------------------------------------------
def eq6_adversarial(real_logits: torch.Tensor, fake_logits: torch.Tensor, resp: torch.Tensor,
                    paired: bool) -> torch.Tensor:
    """L_adv of Eq. 6 (a scalar D ascends). real_logits (N,); fake_logits (K, m) with x̂^k in row k; resp (N, K)
    = p(k|x_i). paired (m == N): fake (k, i) is x̂_i^k, weighted by p(k|x_i) as written; otherwise component k's
    fakes are weighted by the batch mean of p(k|x_i)."""
    k = fake_logits.shape[0]
    w = resp.t() if paired else resp.mean(0)[:, None].expand_as(fake_logits)  # (K, m)
    log_d_real = -F.softplus(-real_logits)  # log D(x_i)
    log_1m_d_fake = -F.softplus(fake_logits)  # log(1 − D(x̂^k))
    # PCM-GAN Eq. 6: L_adv = E_{x_i}[(1/K) Σ_k p(k|x_i)(log D(x_i) + log(1 − D(x̂^k)))]
    real = (resp * log_d_real[:, None]).sum(1).mean() / k
    fake = (w * log_1m_d_fake).mean(1).sum() / k
    return real + fake


def g_side(fake_logits: torch.Tensor, weights: torch.Tensor, kind: str) -> torch.Tensor:
    """G's side of Eq. 6, which G descends; weights (K, m) as in eq6_adversarial. "minimax": the paper's
    min_G of Eq. 6 (Eq. 2 form), (1/K) Σ_k E w log(1 − D(x̂^k)); "nonsaturating" (our default: the paper
    states only the minimax objective, and the non-saturating swap of Goodfellow et al. 2014 §3 is what the
    `gan` baseline uses, so the two differ only by PCM-GAN): −(1/K) Σ_k E w log D(x̂^k)."""
    k = fake_logits.shape[0]
    if kind == "minimax":
        return (weights * -F.softplus(fake_logits)).mean(1).sum() / k
    return (weights * F.softplus(-fake_logits)).mean(1).sum() / k


def xz_consistency(log_p_z: torch.Tensor, log_c: torch.Tensor, kind: str) -> torch.Tensor:
    """L_{x̂,z} (Eq. 4): mean over the K·m fakes of a divergence between p(·|z) (log_p_z, rows (n, K)) and
    C(x̂) (log_c). The paper calls it "mutual information" without defining it between two probability
    vectors (Eq. 5 defines only I(X;Y)). "ce" (default): the cross-entropy −Σ_j p(j|z) log C_j(G(z)). With
    k' ~ p(·|z) its mean is log K − the Barber–Agakov lower bound on I(k'; x̂) (the InfoGAN bound; the
    marginal of k' is uniform, 1/K, because the mixture weights are), so minimising it maximises a bound on
    the mutual information between the Gaussian and the generated point — the one reading under which the
    paper's "mutual information loss" is a mutual information. "kl": KL(p(·|z) ‖ C(x̂)); "js": Jensen–Shannon
    (the paper: "KL or JS can also be used")."""
    p = log_p_z.exp()
    if kind == "ce":
        return -(p * log_c).sum(1).mean()
    if kind == "kl":
        return (p * (log_p_z - log_c)).sum(1).mean()
    return _js(log_p_z, log_c).mean()


def xx_consistency(log_c_real: torch.Tensor, log_c_fake: torch.Tensor, kind: str) -> torch.Tensor:
    """L_{x̂,x} (unnumbered, §II-A): "the distribution generated [p(k|x̂)] is similar to those generated by
    the real data x [p(k|x)]". Real x_i and generated x̂ are independent draws, so a per-pair distance would
    push C towards one constant output; we compare the batch-mean responsibilities instead, π_real =
    mean_i C(x_i) and π_fake = mean C(x̂) (K,) — the mixture weights each set assigns to the Gaussians (the
    "overall weight of each of the components", §I). "kl": KL(π_real ‖ π_fake), the data-side estimate as
    the reference as in maximum likelihood; "js": Jensen–Shannon; "none": 0."""
    if kind == "none":
        return log_c_real.new_zeros(())
    lr = torch.logsumexp(log_c_real, 0) - math.log(log_c_real.shape[0])  # (K,): log π_real
    lf = torch.logsumexp(log_c_fake, 0) - math.log(log_c_fake.shape[0])  # (K,): log π_fake
    if kind == "kl":
        return (lr.exp() * (lr - lf)).sum()
    return _js(lr[None], lf[None])[0]


def _js(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """(n,): JS(p, q) = ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2, rows of log-probabilities (n, K)."""
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)
    return 0.5 * ((log_p.exp() * (log_p - log_m)).sum(1) + (log_q.exp() * (log_q - log_m)).sum(1))


# -- the method -----------------------------------------------------------------------------------------------
@register_method("pcmgan")
class PCMGAN(Method):
    Params = PCMGANParams

    def __init__(self, spec, params: PCMGANParams, device="cpu"):
        super().__init__(spec, params, device)
        p = params
        self.K = p.n_gaussians or spec.n_classes
        means = (torch.rand(self.K, p.z_dim) * 2 - 1) * p.mu_init  # μ_k ~ U(−c, c)^d
        self.latent = MixtureLatent(means, p.sigma_init, cov=p.cov).to(self.device)
        self.G = generator(p, spec).to(self.device)
        if p.classifier == "shared":
            # Table I "encoding shared": C = linear softmax head on D's encoder (here D's hidden body).
            self.body, width = discriminator_body(p, spec, head_outputs=1 + self.K)  # D's size counts both heads
            self.d_head = head(p, width, 1)
            self.c_head = head(p, width, self.K)
            self.to(self.device)
            d_params = [*self.body.parameters(), *self.d_head.parameters()]
            c_params = [*self.body.parameters(), *self.c_head.parameters()]
        else:
            self.D = discriminator(p, spec).to(self.device)
            # same shape as D (its body at D's width at every d_param_fraction), K-way output
            body, width = discriminator_body(p, spec)
            self.C = nn.Sequential(*body, head(p, width, self.K)).to(self.device)
            d_params, c_params = list(self.D.parameters()), list(self.C.parameters())
        self._players = {"G": list(self.G.parameters()), "Z": list(self.latent.parameters()),
                         "D": d_params, "C": c_params}
        self.set_optimizers(G=adam(self._players["G"], p), Z=adam(self._players["Z"], p),
                            D=adam(d_params, p, p.d_lr), C=adam(c_params, p))

    @property
    def n_components(self) -> int:
        return self.K

    # -- networks -----------------------------------------------------------------------------------------
    def _d_and_c(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(D logits (N,), log C_PCM(x) (N, K)); one pass through the shared body."""
        if self.params.classifier == "shared":
            h = self.body(x)
            return self.d_head(h)[:, 0], F.log_softmax(self.c_head(h), 1)
        return self.D(x)[:, 0], F.log_softmax(self.C(x), 1)

    def log_latent_posterior(self, z: torch.Tensor) -> torch.Tensor:
        """(n, K): log p(k|z), PCM-GAN Eq. 3: p(k|z) = N(z|μ_k, Σ_k) / Σ_j N(z|μ_j, Σ_j) (uniform weights)."""
        return torch.log_softmax(self.latent.log_prob_components(z), 1)

    @inference
    def responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        """(N, K): C_PCM(x) ≈ p(k|x) (§II-A); rows sum to 1."""
        return self._d_and_c(x.to(self.device))[1].exp()

    # -- Alg. 1 ---------------------------------------------------------------------------------------------
    def train_step(self, x, y=None):
        p, K = self.params, self.K
        n = x.shape[0]
        paired = p.fakes_per_component == "paired"
        m = n if paired else (p.fakes_per_component or -(-p.fake_batch_size // K))
        # Alg. 1 lines 3–6: one z per Gaussian per real (paired) or m per Gaussian; x̂ row k·m + j is x̂_j^k.
        z = self.latent.blocks(torch.randn(K, m, p.z_dim, device=self.device)).reshape(K * m, p.z_dim)
        fake = self.G(z)
        d_real, log_c_real = self._d_and_c(x)  # line 2: classify x_i
        d_fake, log_c_fake = self._d_and_c(fake)  # line 7: classify x̂_i^k
        d_fake = d_fake.view(K, m)
        resp = log_c_real.exp()  # (N, K): p(k|x_i) = C_PCM(x_i)
        w = resp.t() if paired else resp.mean(0)[:, None].expand(K, m)  # (K, m): Eq. 6's weight of x̂^k

        # Line 9, PCM-GAN Eq. 6: L_adv = E_{x_i}[(1/K) Σ_k p(k|x_i)(log D(x_i) + log(1 − D(x̂^k)))]; D ascends it
        # with the weights as constants (they are C's output).
        l_adv = eq6_adversarial(d_real, d_fake, resp.detach(), paired)
        # Line 13, G's side of Eq. 6 (`g_loss`); G and the latent descend it through x̂ = G(z).
        l_g = g_side(d_fake, w.detach(), p.g_loss)
        # Line 13, C_PCM's side: the same loss through the weights p(k|x_i) only (D(x̂) constant). "with_g":
        # C descends it with G (Alg. 1 groups them); "with_d": C ascends it, as D does; "off": no adversarial
        # gradient reaches C. Its gradient does not depend on x_i's content, only on which Gaussian's fakes D
        # rates most real: "with_g" pulls every p(k|x) towards that (changing) Gaussian. Observed (ring8,
        # grid25, 6k steps): no collapse of the mean responsibility, but flatter p(k|x) on real data.
        l_c_adv = g_side(d_fake.detach(), w, p.g_loss)
        # Line 10, PCM-GAN Eq. 4: L_{x̂,z} = E[(1/K) Σ_k I(p(k|z_k), C_PCM(x̂^k))] (I: `xz_loss`, minimised).
        log_p_z = self.log_latent_posterior(z)  # Eq. 3, (K·m, K)
        l_xz = xz_consistency(log_p_z, log_c_fake, p.xz_loss)
        # Line 11, L_{x̂,x} (§II-A, unnumbered): E_{x_i} Σ_k I(C_PCM(x_i), C_PCM(x̂)) (I: `xx_loss`, minimised).
        l_xx = xx_consistency(log_c_real, log_c_fake, p.xx_loss)

        # Lines 12–15: each player's loss, differentiated only w.r.t. its own parameters.
        on = set(p.alg1_lines)
        c_sign = {"with_g": 1.0, "with_d": -1.0, "off": 0.0}[p.c_adv]
        objectives: dict[str, list[torch.Tensor]] = {"D": [], "G": [], "Z": [], "C": []}
        if 12 in on:
            objectives["D"].append(-l_adv)
        if 13 in on:
            objectives["G"].append(l_g)
            objectives["Z"].append(l_g)
            if c_sign:
                objectives["C"].append(c_sign * l_c_adv)
        if 14 in on and p.xx_loss != "none":
            objectives["C"].append(p.lambda_xx * l_xx)
        if 15 in on:
            objectives["C"].append(p.lambda_xz * l_xz)
            objectives["Z"].append(p.lambda_xz * l_xz)
        grads = {}
        for name, terms in objectives.items():
            if terms:
                params = [q for q in self._players[name] if q.requires_grad]
                grads[name] = (params, torch.autograd.grad(sum(terms), params, retain_graph=True,
                                                           allow_unused=True))
        for name, (params, gs) in grads.items():  # all gradients taken at the same parameters (lines 9–11)
            opt = self.optimizers[name]
            opt.zero_grad(set_to_none=True)
            for q, g in zip(params, gs):
                q.grad = g
            opt.step()
            opt.zero_grad(set_to_none=True)
        self.step_schedulers()
        return {"loss_d": -l_adv.item(), "loss_g": l_g.item(), "loss_c_adv": l_c_adv.item(),
                "loss_xz": l_xz.item(), "loss_xx": l_xx.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        k = self.latent.components(n, component)
        eps = torch.randn(n, self.params.z_dim, device=self.device) * scale**0.5  # covariance × scale
        return self.G(self.latent(k, 1.0, eps))
