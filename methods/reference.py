"""Calibration references that implement the method interface without training (DESIGN.md):

- `oracle`: samples the dataset's true distribution — the best any method can score;
- `collapsed`: every sample from one mode — total mode collapse.
Every leaderboard shows both, and every metric is tested on them.
"""
from __future__ import annotations

import torch

from bench.registry import register_method
from methods.base import Method, Params


class ReferenceParams(Params):
    mode: int = 0  # collapsed: the component every sample comes from


class _Reference(Method):
    Params = ReferenceParams
    trainable = False

    def __init__(self, spec, params: ReferenceParams, device="cpu"):
        super().__init__(spec, params, device)
        if spec.mixture is None:
            raise ValueError(f"{self.name} on {spec.name!r} needs a known mixture")
        self.mixture = spec.mixture
        if not 0 <= params.mode < self.mixture.n_components:
            raise ValueError(f"mode {params.mode} out of range: {spec.name} has {self.mixture.n_components}")

    @property
    def n_components(self) -> int:
        return self.mixture.n_components

    def train_step(self, x, y=None):
        raise RuntimeError(f"{self.name} is a calibration reference and does not train")

    def _draw(self, n: int, scale: float, components: torch.Tensor | None) -> torch.Tensor:
        # Scaling the covariance by `scale` moves each point away from its mean by sqrt(scale).
        x, y = self.mixture.sample(n, torch.default_generator, components=components)
        mu = torch.as_tensor(self.mixture.means, dtype=x.dtype)[y]
        return (mu + (x - mu) * scale**0.5).to(self.device)


@register_method("oracle")
class Oracle(_Reference):
    @torch.no_grad()
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        comps = None if component is None else torch.full((n,), component, dtype=torch.long)
        return self._draw(n, scale, comps)


@register_method("collapsed")
class Collapsed(_Reference):
    @torch.no_grad()
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self._draw(n, scale, torch.full((n,), self.params.mode, dtype=torch.long))
