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
        return self.means[k] + torch.einsum("nij,nj->ni", self.scales[k], eps)

    def sample(self, n: int, scale: float = 1.0, component: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.components(n, component)
        return self(k, scale), k

    def covariances(self) -> torch.Tensor:
        """(K, d, d): A_k A_kᵀ."""
        if self.cov == "diag":
            return torch.diag_embed(self.scales**2)
        return self.scales @ self.scales.transpose(1, 2)

    def log_prob_components(self, z: torch.Tensor) -> torch.Tensor:
        """(n, K): log N(z; μ_k, A_k A_kᵀ) for every sample and component."""
        if self.cov == "diag":
            var = self.scales**2  # (K, d)
            diff = z[:, None, :] - self.means[None]  # (n, K, d)
            return -0.5 * ((diff**2 / var).sum(-1) + torch.log(var).sum(-1) + self.d * math.log(2 * math.pi))
        dist = torch.distributions.MultivariateNormal(self.means, scale_tril=_tril(self.scales))
        return dist.log_prob(z[:, None, :])

    def posterior(self, z: torch.Tensor) -> torch.Tensor:
        """(n, K): p(k|z) with uniform weights (PCM-GAN Eq. 3); rows sum to 1."""
        return torch.softmax(self.log_prob_components(z), dim=1)


def _tril(a: torch.Tensor) -> torch.Tensor:
    """A lower-triangular factor with the same covariance A Aᵀ (Cholesky of A Aᵀ), for MultivariateNormal."""
    return torch.linalg.cholesky(a @ a.transpose(-1, -2))
