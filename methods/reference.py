"""Calibration references that implement the method interface without training (DESIGN.md):

- `oracle`: samples the dataset's true distribution — the best any method can score;
- `collapsed`: every sample from one mode — total mode collapse.
Every leaderboard shows both, and every metric is tested on them.

On 2-D mixtures they draw from the known mixture. On images the true distribution is the real data: `oracle`
draws real held-out images (the DataSpec's `heldout`: the test split, never trained on) uniformly with
replacement, `component=k` from class k; `collapsed` repeats one real held-out image (the first of class `mode`).
`scale` (the latent covariance factor) has no meaning for real images and is ignored there.
"""
from __future__ import annotations

import torch

from bench.registry import register_method
from methods.base import Method, Params


class ReferenceParams(Params):
    mode: int = 0  # collapsed: the component (2-D) / class (images) every sample comes from


class _Reference(Method):
    Params = ReferenceParams
    trainable = False
    kinds = ("points", "image")

    def __init__(self, spec, params: ReferenceParams, device="cpu"):
        super().__init__(spec, params, device)
        self.mixture = spec.mixture
        if spec.kind == "image":
            if spec.heldout is None:
                raise ValueError(f"{self.name} on {spec.name!r} needs held-out real images (DataSpec.heldout)")
            images, labels = spec.heldout()
            self._images = images.to(self.device)  # uint8 (N, C, H, W)
            self._labels = labels.to(self.device)
            self._k = int(spec.n_classes)
        elif self.mixture is None:
            raise ValueError(f"{self.name} on {spec.name!r} needs a known mixture")
        else:
            self._k = self.mixture.n_components
        if not 0 <= params.mode < self._k:
            raise ValueError(f"mode {params.mode} out of range: {spec.name} has {self._k}")

    @property
    def n_components(self) -> int:
        return self._k

    def train_step(self, x, y=None):
        raise RuntimeError(f"{self.name} is a calibration reference and does not train")

    def _draw(self, n: int, scale: float, components: torch.Tensor | None) -> torch.Tensor:
        # Scaling the covariance by `scale` moves each point away from its mean by sqrt(scale).
        x, y = self.mixture.sample(n, torch.default_generator, components=components)
        mu = torch.as_tensor(self.mixture.means, dtype=x.dtype)[y]
        return (mu + (x - mu) * scale**0.5).to(self.device)

    def _class_pool(self, component: int | None) -> torch.Tensor:
        """Indices of the held-out images to draw from (all, or those of one class)."""
        if component is None:
            return torch.arange(len(self._labels), device=self.device)
        pool = torch.nonzero(self._labels == component).flatten()
        if len(pool) == 0:
            raise ValueError(f"{self.spec.name}: no held-out image of class {component}")
        return pool

    def _images_at(self, idx: torch.Tensor) -> torch.Tensor:
        from bench.data.images import to_float

        return to_float(self._images[idx])


@register_method("oracle")
class Oracle(_Reference):
    @torch.no_grad()
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        if self.spec.kind == "image":
            pool = self._class_pool(component)
            pick = torch.randint(0, len(pool), (n,), generator=torch.default_generator).to(self.device)
            return self._images_at(pool[pick])
        comps = None if component is None else torch.full((n,), component, dtype=torch.long)
        return self._draw(n, scale, comps)


@register_method("collapsed")
class Collapsed(_Reference):
    @torch.no_grad()
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        if self.spec.kind == "image":
            first = self._class_pool(self.params.mode)[:1]
            return self._images_at(first.expand(n))
        return self._draw(n, scale, torch.full((n,), self.params.mode, dtype=torch.long))
