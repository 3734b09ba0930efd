"""GM-GAN (Ben-Yosef & Weinshall 2018, §2, Algorithm 1): a GAN whose latent is a uniform mixture of K Gaussians,
z ~ Σ_k (1/K)·N(μ_k, Σ_k).

- `gmgan_static`: μ_k ~ U[−c, c]^d and Σ_k = σ·I fixed before training (σ is a variance: std √σ).
- `gmgan_dynamic`: z = A_k ε + μ_k with μ_k and A_k learned by G's loss, initialised as in the static case.
- `gmgan_supervised`: D outputs N independent sigmoids (one real-vs-fake head per class, not a softmax) and
  Gaussian k is asked to produce class f(k) (§2 "Supervised GM-GAN"; Alg. 1 lines 11–12, 23).

On 2-D data every variant uses the shared networks and optimiser (`methods.nets.NetParams`: MGAN App. C.1
Table 3), so it differs from `gan` only by what GM-GAN changes. Its latent is
its own on every dataset (d = 100, §4; `own_fields`); GM-GAN's training protocol (§4: batch D 64 / G 128 with
Alg. 1's batching, lr 2e-4) is a `paper`-profile override of batch_size, fake_batch_size and alg1_batches; the
shared defaults keep `gan`'s batching (like for like).
"""
from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import model_validator

from bench.registry import register_method
from methods.base import Method, inference
from methods.latent import MixtureLatent
from methods.losses import d_loss, g_loss_nonsaturating
from methods.nets import NetParams, adam, discriminator, generator


class GMGANParams(NetParams):
    # The latent (d, K, c, σ, its normal ε) is GM-GAN's own design, kept on every dataset: c and σ were chosen
    # for d = 100 (at d = 2 the K Gaussians overlap almost completely), so a dataset protocol that sets z_dim or
    # z_dist for every method leaves GM-GAN's alone (bench.suites build_plan; an override naming it still wins).
    own_fields: ClassVar[frozenset[str]] = frozenset({"z_dim", "z_dist", "n_gaussians", "c", "sigma"})
    k_field: ClassVar[str] = "n_gaussians"  # K = the dataset's classes unless set; resolved and recorded per trial
    z_dim: int = 100  # d: §4 "d = 100" (every experiment); `gan`'s shared 256 is not GM-GAN's latent
    # K. None: the dataset's number of classes, as every K the paper ties to data: toy K = 9 for its 9 Gaussians
    # (§4.1), K = 10 on 10-class sets (Table 2's first row), K = number of clusters (§5, Alg. 2).
    n_gaussians: int | None = None
    c: float = 0.1  # §4 default; μ_k ~ U[−c, c]^d (§2 "Static GM-GAN", Alg. 1 line 2)
    sigma: float = 0.15  # §4 default; Σ_k = σ·I (Alg. 1 line 3): a VARIANCE, std √0.15 ≈ 0.387 (seed-review G2)
    # False (shared default): `gan`'s batching (D: batch_size reals vs fake_batch_size fakes; G's step reuses
    # those fakes). True: Alg. 1 lines 5–9, 18–21: D sees batch_size (b_D) reals and b_D fakes, G draws
    # fake_batch_size (b_G) fresh fakes. The paper profile sets True with b_D 64, b_G 128 (§4).
    alg1_batches: bool = False

    @model_validator(mode="after")
    def _checks(self):
        if self.z_dist != "normal":
            raise ValueError("z_dist does not apply to GM-GAN: z|k ~ N(μ_k, Σ_k) (§2); remove z_dist from its params")
        if self.n_gaussians is not None and self.n_gaussians < 1:
            raise ValueError(f"n_gaussians must be >= 1 (or None for the dataset's classes); got {self.n_gaussians}")
        return self


class GMGANDynamicParams(GMGANParams):
    # A_k: §2 defines A_k ∈ R^{d×d} and allows a diagonal one (2·K·d parameters instead of K·(d² + d)). "diag":
    # a full A_k at d = 256 costs a (n, d, d) gather per step, many times `gan`'s step on CPU; "full" is there.
    cov: Literal["diag", "full"] = "diag"


class GMGANSupervisedParams(GMGANDynamicParams):
    # §2 defines the supervised loss for both latents; §4 "for the most part we used the Static GM-GAN".
    latent: Literal["static", "dynamic"] = "static"


def supervised_d_loss(real_logits: torch.Tensor, y: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """real_logits (B, N), y (B,) class labels, fake_logits (n, N): per-class sigmoid heads D(·)_m = σ(logit_m)."""
    n_classes = real_logits.shape[1]
    target = F.one_hot(y, n_classes).to(real_logits.dtype)  # (B, N): 1 at y(x), 0 elsewhere
    real = F.binary_cross_entropy_with_logits(real_logits, target, reduction="none").sum(1)  # (B,)
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits), reduction="none").sum(1)
    # GM-GAN Alg. 1 lines 11–12, 16: ½[mean(−log D(x)_y − Σ_{m≠y} log(1 − D(x)_m)) + mean(−Σ_m log(1 − D(x̂)_m))]
    return 0.5 * (real.mean() + fake.mean())


def supervised_g_loss(fake_logits: torch.Tensor, target_class: torch.Tensor) -> torch.Tensor:
    """fake_logits (n, N); target_class (n,) = f(k) of each fake's Gaussian."""
    target = F.one_hot(target_class, fake_logits.shape[1]).to(fake_logits.dtype)  # (n, N)
    # GM-GAN Alg. 1 lines 23, 26: mean(−log D(x̂)_{f(k)} − Σ_{m≠f(k)} log(1 − D(x̂)_m))
    return F.binary_cross_entropy_with_logits(fake_logits, target, reduction="none").sum(1).mean()


class _GMGAN(Method):
    """Shared body of the three variants: the mixture latent, G, D and Algorithm 1's step."""

    learned_latent: ClassVar[bool] = False

    def __init__(self, spec, params: GMGANParams, device="cpu"):
        super().__init__(spec, params, device)
        p = params
        k = p.n_gaussians or spec.n_classes
        learn = self._learns_latent()
        # Alg. 1 lines 1–3: μ_k ~ U[−c, c]^d, Σ_k = σ·I, i.e. A_k = √σ·I (dynamic: the same start, §2).
        # Drawn on the CPU so CPU and CUDA agree.
        means = (torch.rand(k, p.z_dim) * 2 - 1) * p.c  # (K, d)
        cov = getattr(p, "cov", "diag") if learn else "diag"  # a fixed √σ·I needs no full factor
        self.latent = MixtureLatent(means, math.sqrt(p.sigma), cov=cov, learn_means=learn,
                                    learn_scales=learn).to(self.device)
        self.G = generator(p, spec).to(self.device)
        self.D = discriminator(p, spec, self._d_outputs()).to(self.device)
        g_params = [*self.G.parameters(), *(self.latent.parameters() if learn else [])]
        self.set_optimizers(G=adam(g_params, p), D=adam(self.D.parameters(), p, p.d_lr))

    def _learns_latent(self) -> bool:
        return self.learned_latent

    def _d_outputs(self) -> int:
        return 1

    @property
    def n_components(self) -> int:
        return self.latent.K

    # -- losses (overridden by the supervised variant) ----------------------------------------------------
    def d_objective(self, x, y, fake, k) -> torch.Tensor:
        # GM-GAN Eq. 3 averaged as Alg. 1 line 16: ½[mean −log D(x) + mean −log(1 − D(G(z)))].
        return 0.5 * d_loss(self.D(x), self.D(fake))

    def g_objective(self, fake, k) -> torch.Tensor:
        # GM-GAN Eq. 2 (Alg. 1 lines 25–26): L(G) = −mean log D(G(z)).
        return g_loss_nonsaturating(self.D(fake))

    # -- Algorithm 1 --------------------------------------------------------------------------------------
    def d_step(self, x, y, fake, k) -> torch.Tensor:
        """Alg. 1 line 17: one Adam step of D; fakes are detached, so neither G nor the latent moves."""
        loss = self.d_objective(x, y, fake.detach(), k)
        self.descend("D", loss)
        return loss

    def g_step(self, fake, k) -> torch.Tensor:
        """Alg. 1 line 27: one Adam step of G (and, dynamic, of μ_k, A_k through z = A_k ε + μ_k)."""
        loss = self.g_objective(fake, k)
        self.descend("G", loss)
        return loss

    def train_step(self, x, y=None):
        p = self.params
        n_d = p.batch_size if p.alg1_batches else p.fake_batch_size
        z, k = self.latent.sample(n_d)  # Alg. 1 lines 7–8: k ~ Categ(1/K), z ~ N(μ_k, Σ_k)
        fake = self.G(z)
        loss_d = self.d_step(x, y, fake, k)
        if p.alg1_batches:  # Alg. 1 lines 19–21: b_G fresh fakes for G's step
            z, k = self.latent.sample(p.fake_batch_size)
            fake = self.G(z)
        loss_g = self.g_step(fake, k)
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        z, _ = self.latent.sample(n, scale, component)  # §4.3: z|k ~ N(μ_k, scale·Σ_k)
        return self.G(z)


@register_method("gmgan_static")
class GMGANStatic(_GMGAN):
    Params = GMGANParams
    learned_latent = False


@register_method("gmgan_dynamic")
class GMGANDynamic(_GMGAN):
    Params = GMGANDynamicParams
    learned_latent = True


@register_method("gmgan_supervised")
class GMGANSupervised(_GMGAN):
    """D has one sigmoid head per class; Gaussian k maps to class f(k) = k mod N (the paper gives no f; k mod N
    is a bijection for K = N and spreads K > N Gaussians evenly over the classes, seed-review G6)."""

    Params = GMGANSupervisedParams
    needs_labels = True

    def _learns_latent(self) -> bool:
        return self.params.latent == "dynamic"

    def _d_outputs(self) -> int:
        return self.spec.n_classes  # N heads (§2: "a vector o ∈ R^N where N is the number of classes")

    def class_of(self, k: torch.Tensor) -> torch.Tensor:
        """f: [K] -> [N], f(k) = k mod N."""
        return k % self.spec.n_classes

    def train_step(self, x, y=None):
        if y is None:
            raise ValueError("gmgan_supervised needs the class label y of every real sample in train_step(x, y) "
                             "(needs_labels = True); use a labelled dataset")
        return super().train_step(x, y)

    def d_objective(self, x, y, fake, k):
        # GM-GAN §2 L(D), Alg. 1 lines 11–12, 16 (per-class sigmoids; real term indexed by y(x)).
        return supervised_d_loss(self.D(x), y.to(self.device).long(), self.D(fake))

    def g_objective(self, fake, k):
        # GM-GAN §2 L(G), Alg. 1 lines 23, 26: fakes of Gaussian k are pushed to be real of class f(k) only.
        return supervised_g_loss(self.D(fake), self.class_of(k))
