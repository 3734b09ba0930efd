"""Gaussian-mixture latent spaces: z = μ_k + A_k ε, ε ~ N(0, I), k uniform over K components.

Shared by DeLiGAN (Eq. 7–8: learned μ_i, diagonal σ_i), GM-GAN (§2: static μ_k ~ U[−c, c]^d with fixed
covariance σI, or dynamic learned A_k) and PCM-GAN (§II-D: learned μ_k and full Σ_k factors). The sampling
`scale` multiplies every component's covariance (GM-GAN §4.3): z|k ~ N(μ_k, scale·A_k A_kᵀ).
"""
from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn


class MixtureLatent(nn.Module):
    def __init__(self, means: torch.Tensor, scale_init: float, *, cov: Literal["diag", "full"] = "diag",
                 learn_means: bool = True, learn_scales: bool = True):
        """means: (K, d) initial means. scale_init: initial A_k = scale_init·I (a standard deviation)."""
        super().__init__()
        k, d = means.shape
        self.K, self.d, self.cov = k, d, cov
        self.means = nn.Parameter(means.clone().float(), requires_grad=learn_means)
        if cov == "diag":
            a = torch.full((k, d), float(scale_init))  # (K, d): diagonal of A_k
        else:
            a = float(scale_init) * torch.eye(d).repeat(k, 1, 1)  # (K, d, d)
        self.scales = nn.Parameter(a, requires_grad=learn_scales)

    def components(self, n: int, component: int | None = None) -> torch.Tensor:
        """(n,) component indices: uniform over K (DeLiGAN Eq. 7, GM-GAN §2), or all `component`."""
        dev = self.means.device
        if component is not None:
            return torch.full((n,), int(component), dtype=torch.long, device=dev)
        return torch.randint(0, self.K, (n,), device=dev)

    def forward(self, k: torch.Tensor, scale: float = 1.0, eps: torch.Tensor | None = None) -> torch.Tensor:
        """z (n, d) for the components k (n,): z = μ_k + sqrt(scale)·A_k ε (reparameterised)."""
        if eps is None:
            eps = torch.randn(k.shape[0], self.d, device=self.means.device)
        eps = eps * scale**0.5
        if self.cov == "diag":
            return self.means[k] + self.scales[k] * eps
        # Full factors per component present: gathering (n, d, d) factors would need n·d² memory (2.6 GB at
        # n = 10⁴, d = 256).
        z = self.means[k].clone()
        for c in torch.unique(k).tolist():
            rows = (k == c).nonzero()[:, 0]
            z[rows] = z[rows] + eps[rows] @ self.scales[c].t()
        return z

    def blocks(self, eps: torch.Tensor) -> torch.Tensor:
        """(K, m, d): z_k = μ_k + A_k ε for m draws ε (K, m, d) of every component (one batched product)."""
        if self.cov == "diag":
            return self.means[:, None] + self.scales[:, None] * eps
        return self.means[:, None] + eps @ self.scales.transpose(1, 2)

    def sample(self, n: int, scale: float = 1.0, component: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.components(n, component)
        return self(k, scale), k

    def covariances(self) -> torch.Tensor:
        """(K, d, d): A_k A_kᵀ."""
        if self.cov == "diag":
            return torch.diag_embed(self.scales**2)
        return self.scales @ self.scales.transpose(1, 2)

    def log_prob_components(self, z: torch.Tensor) -> torch.Tensor:
        """(n, K): log N(z; μ_k, A_k A_kᵀ) = −½(‖A_k⁻¹(z − μ_k)‖² + log det A_k A_kᵀ + d log 2π).

        Full factors are solved with A_k itself (LU), not with a Cholesky of A Aᵀ, whose condition number is
        cond(A)²: trained with Adam the smallest singular values of A_k fall ~100× in a few thousand steps and
        that Cholesky fails in float32; here a singular A_k gives non-finite values (a "diverged" trial).
        Diagonal: the quadratic expanded into matrix products, ≈ 20× faster than an (n, K, d) broadcast."""
        if self.cov == "full":
            diff = (z[None] - self.means[:, None]).transpose(1, 2)  # (K, d, n)
            u = torch.linalg.solve_ex(self.scales, diff)[0]  # A_k⁻¹(z − μ_k); NaN/inf where A_k is singular
            quad = u.pow(2).sum(1).t()  # (n, K)
            logdet = 2 * torch.linalg.slogdet(self.scales).logabsdet  # (K,): log det A_k A_kᵀ
        else:
            iv = self.scales.pow(-2)  # (K, d): 1/σ²
            # Σ_i (z_i − μ_i)²/σ_i² = z²·(1/σ²) − 2 z·(μ/σ²) + μ²·(1/σ²): (n, d)·(d, K) products
            quad = z.pow(2) @ iv.t() - 2 * z @ (self.means * iv).t() + (self.means.pow(2) * iv).sum(1)
            logdet = 2 * self.scales.abs().log().sum(1)  # (K,): log det diag(σ²)
        return -0.5 * (quad + logdet + self.d * math.log(2 * math.pi))

    def posterior(self, z: torch.Tensor) -> torch.Tensor:
        """(n, K): p(k|z) with uniform weights (PCM-GAN Eq. 3); rows sum to 1."""
        return torch.softmax(self.log_prob_components(z), dim=1)

