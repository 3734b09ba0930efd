"""The domain classifiers' networks, built from a JSON-able architecture dict (the dict is part of the cache
key, so a changed architecture retrains). Inputs are float images in [-1, 1] at the dataset's native size.

- `cnn`: blocks of (conv 3x3 [+ BN] + ReLU) x convs_per_block + 2x2 max-pool, then a hidden fully-connected
  layer + ReLU (the FEATURES: FID/KID/PR and GM-GAN's quality layer) and a linear head (the LOGITS).
- `stacked`: Stacked MNIST / stacked digits (md-gan §6.1: "a CNN is trained on 1000 classes"). One shared
  1-channel `cnn` reads each channel; the 1,000-way logits are log p(a) + log p(b) + log p(c) at index
  100a + 10b + c (a = channel 0), i.e. softmax over the 1,000 classes = the product of the three per-channel
  softmaxes. Trained end to end with cross-entropy on the 1,000-class labels. Features: the three channels'
  hidden features concatenated (3 x hidden).
"""
from __future__ import annotations

import torch
from torch import nn


class DomainCNN(nn.Module):
    def __init__(self, in_channels: int, size: list[int], widths: list[int], hidden: int, n_classes: int,
                 batchnorm: bool = False, convs_per_block: int = 1):
        super().__init__()
        layers: list[nn.Module] = []
        c, h, w = in_channels, size[0], size[1]
        for width in widths:
            for _ in range(convs_per_block):
                layers += [nn.Conv2d(c, width, 3, padding=1, bias=not batchnorm)]
                layers += [nn.BatchNorm2d(width)] if batchnorm else []
                layers += [nn.ReLU(inplace=True)]
                c = width
            layers += [nn.MaxPool2d(2)]
            h, w = h // 2, w // 2
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ReLU(inplace=True))
        self.head = nn.Linear(hidden, n_classes)
        self.feature_width = hidden

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, C, H, W) in [-1, 1] -> (features (n, hidden), logits (n, n_classes))."""
        f = self.body(x)
        return f, self.head(f)


class StackedCNN(nn.Module):
    def __init__(self, digit: dict):
        super().__init__()
        self.digit = build_net(digit)
        self.n_digits = digit["n_classes"]  # 10
        self.feature_width = 3 * self.digit.feature_width

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, 3, H, W) -> (features (n, 3 * hidden), logits (n, 1000) at index 100a + 10b + c)."""
        n, ch, h, w = x.shape
        f, logit = self.digit(x.reshape(n * ch, 1, h, w))  # (3n, hidden), (3n, 10)
        lp = logit.reshape(n, ch, self.n_digits).log_softmax(-1)
        # log p(a, b, c) = log p(a) + log p(b) + log p(c): (n, 10, 10, 10), flattened a-major
        joint = lp[:, 0, :, None, None] + lp[:, 1, None, :, None] + lp[:, 2, None, None, :]
        return f.reshape(n, ch * f.shape[1]), joint.reshape(n, -1)


def build_net(arch: dict) -> nn.Module:
    kind = arch["type"]
    if kind == "cnn":
        return DomainCNN(arch["in_channels"], arch["size"], arch["widths"], arch["hidden"], arch["n_classes"],
                         arch.get("batchnorm", False), arch.get("convs_per_block", 1))
    if kind == "stacked":
        return StackedCNN(arch["digit"])
    raise ValueError(f"unknown classifier architecture type {kind!r}")
