"""What a method and a metric may know about a dataset (`DataSpec`), the known true distribution of the
synthetic sets (`GaussianMixture`), and the training data a trial draws batches from."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np
import torch


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    """p(x) = sum_k w_k N(x; mu_k, Sigma_k). Arrays are float64 numpy: means (K, d), covs (K, d, d), weights (K,)."""

    means: np.ndarray
    covs: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        k, d = self.means.shape
        if self.covs.shape != (k, d, d) or self.weights.shape != (k,):
            raise ValueError(f"inconsistent mixture shapes {self.means.shape} {self.covs.shape} {self.weights.shape}")
        if not math.isclose(float(self.weights.sum()), 1.0, rel_tol=1e-9):
            raise ValueError("mixture weights must sum to 1")
        # Sampling tensors, built once (the fresh-draw datasets sample a batch at every training step):
        # weights and means as torch float64; per component either the std σ_k (isotropic Σ_k = σ_k² I: x =
        # μ + σ ε) or the Cholesky factor L_k (x = μ + L ε).
        iso = bool(np.array_equal(self.covs, self.stds[:, None, None] ** 2 * np.eye(d)))
        object.__setattr__(self, "_torch", {
            "weights": torch.as_tensor(self.weights, dtype=torch.float64),
            "means": torch.as_tensor(self.means, dtype=torch.float64),
            "stds": torch.as_tensor(self.stds, dtype=torch.float64)[:, None] if iso else None,  # (K, 1)
            "chol": None if iso else torch.as_tensor(self.chol, dtype=torch.float64)})

    @classmethod
    def isotropic(cls, means, std: float, weights=None) -> "GaussianMixture":
        means = np.asarray(means, dtype=np.float64)
        k, d = means.shape
        w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
        return cls(means, np.tile(np.eye(d) * std**2, (k, 1, 1)), w)

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def stds(self) -> np.ndarray:
        """(K,): per-component std sqrt(tr Sigma_k / d); the sigma of the 3-sigma rule for isotropic components."""
        return np.sqrt(np.trace(self.covs, axis1=1, axis2=2) / self.dim)

    @property
    def chol(self) -> np.ndarray:
        return np.linalg.cholesky(self.covs)  # (K, d, d), Sigma_k = L_k L_k^T

    def mahalanobis_sq(self, x: np.ndarray) -> np.ndarray:
        """(N, K): (x - mu_k)^T Sigma_k^-1 (x - mu_k) for every sample and component."""
        x = np.asarray(x, dtype=np.float64)
        diff = x[:, None, :] - self.means[None, :, :]  # (N, K, d)
        inv = np.linalg.inv(self.covs)  # (K, d, d)
        return np.einsum("nki,kij,nkj->nk", diff, inv, diff)

    def component_log_prob(self, x: np.ndarray) -> np.ndarray:
        """(N, K): log w_k + log N(x; mu_k, Sigma_k)."""
        _, logdet = np.linalg.slogdet(self.covs)  # (K,)
        log_norm = -0.5 * (self.dim * math.log(2 * math.pi) + logdet)
        return np.log(self.weights)[None, :] + log_norm[None, :] - 0.5 * self.mahalanobis_sq(x)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """(N,): log p(x) under the mixture (log-sum-exp over components)."""
        lp = self.component_log_prob(x)
        m = lp.max(axis=1, keepdims=True)
        return (m + np.log(np.exp(lp - m).sum(axis=1, keepdims=True)))[:, 0]

    def sample(self, n: int, generator: torch.Generator, *, components: torch.Tensor | None = None):
        """Draw n points: returns x (n, d) float32 and y (n,) int64, the component of each point.
        `components` fixes y (e.g. a balanced training set); otherwise y ~ Categorical(weights)."""
        t = self._torch
        if components is None:
            components = torch.multinomial(t["weights"], n, replacement=True, generator=generator)
        eps = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        mu = t["means"][components]
        if t["stds"] is not None:
            # Isotropic: μ + σ ε. The same draws as the general path (L = σ I), and the same values bit for bit:
            # cholesky(σ² I) has √(σ²) on its diagonal, as `stds` does, and the off-diagonal terms add 0.
            x = mu + t["stds"][components] * eps
        else:
            x = mu + torch.einsum("nij,nj->ni", t["chol"][components], eps)  # (n, d): μ_k + L_k ε
        return x.float(), components.long()

    def balanced_components(self, n: int) -> torch.Tensor:
        """(n,): component labels in exact proportion to the weights (largest remainder), in block order."""
        raw = self.weights * n
        counts = np.floor(raw).astype(int)
        for k in np.argsort(-(raw - counts))[: n - counts.sum()]:
            counts[k] += 1
        return torch.as_tensor(np.repeat(np.arange(self.n_components), counts))


@dataclass(frozen=True)
class DataSpec:
    """Everything a method or a metric may know about a dataset.

    kind: "points" (2-D synthetic) or "image". shape: one sample's shape. n_classes: number of labels (for
    the mixtures, labels are component indices). mixture: the true distribution where it is known.
    n_train: size of the fixed training set, or None for a fresh draw from the mixture at every step.
    licence: the dataset's licence or terms of use (images). heldout: for images, a function returning
    (uint8 (N, C, H, W) CPU images, int64 (N,) labels) of real images no trial trains on, loaded once per process.
    """

    name: str
    kind: Literal["points", "image"]
    shape: tuple[int, ...]
    n_classes: int
    mixture: GaussianMixture | None = None
    n_train: int | None = None
    source: str = ""
    choices: dict = field(default_factory=dict)  # documented choices the papers leave open (recorded in hparams)
    licence: str = ""
    heldout: Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = field(default=None, compare=False, repr=False)

    def describe(self) -> dict:
        """JSON-able summary recorded in each trial's hparams."""
        out = {"name": self.name, "kind": self.kind, "shape": list(self.shape), "n_classes": self.n_classes,
               "n_train": self.n_train, "source": self.source, "choices": self.choices}
        if self.licence:
            out["licence"] = self.licence
        if self.mixture is not None:
            out["mixture"] = {"means": self.mixture.means.tolist(), "stds": self.mixture.stds.tolist(),
                              "weights": self.mixture.weights.tolist()}
        return out


class PointData:
    """Training data for a 2-D mixture: a fixed labelled set drawn once from the trial's seed, or (n_train None)
    fresh samples from the true mixture at every step. Batches are drawn with the trial's generator."""

    def __init__(self, spec: DataSpec, seed: int, device: torch.device | str = "cpu"):
        if spec.mixture is None:
            raise ValueError(f"dataset {spec.name!r} has no mixture to draw points from")
        self.spec = spec
        self.device = torch.device(device)
        self.x: torch.Tensor | None = None
        self.y: torch.Tensor | None = None
        if spec.n_train is not None:
            g = torch.Generator().manual_seed(int(seed))
            comps = spec.mixture.balanced_components(spec.n_train)
            x, y = spec.mixture.sample(spec.n_train, g, components=comps)
            self.x, self.y = x.to(self.device), y.to(self.device)

    def batch(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(x (n, 2), y (n,)). Fixed set: uniform indices with replacement; otherwise a fresh mixture draw."""
        if self.x is None:
            x, y = self.spec.mixture.sample(n, generator)
            return x.to(self.device), y.to(self.device)
        idx = torch.randint(0, self.x.shape[0], (n,), generator=generator)
        return self.x[idx.to(self.device)], self.y[idx.to(self.device)]
