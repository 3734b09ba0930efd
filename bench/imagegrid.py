"""Image grids as PNG bytes: how a trial keeps the images a reader looks at (64 generated per evaluation step, 8
per latent component, 64 real ones) in `images.parquet`, and how the report reads them back.

One PNG per grid (torchvision's `make_grid`, 2-pixel white padding, 8 images a row), not one array per image:
a 64-image 32×32 RGB grid is ~40 KB, lossless, and opens in any viewer. `decode` returns the grid as
uint8 (H, W, 3) for matplotlib.
"""
from __future__ import annotations

import io

import numpy as np
import torch

N_GRID = 64  # generated images per trial and evaluation step (8 × 8)
N_PER_COMPONENT = 8  # images per latent component / generator (one row each: MGAN Fig. 5, GM-GAN Fig. 8)
MAX_COMPONENTS = 20  # components kept per evaluation: the first 20 (GM-GAN Fig. 8 shows K = 10 and 20; an
#                      image oracle has one component per class, 1,000 on Stacked MNIST)
PER_ROW = 8


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float images in [−1, 1] (n, C, H, W) -> uint8 (n, C, H, W) on the CPU (values outside are clipped)."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def encode(images: torch.Tensor, per_row: int = PER_ROW) -> bytes:
    """uint8 (n, C, H, W), C = 1 or 3 -> PNG bytes of a grid with `per_row` images a row."""
    from PIL import Image
    from torchvision.utils import make_grid

    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"encode wants uint8 (n, 1|3, H, W) images; got {images.dtype} {tuple(images.shape)}")
    grid = make_grid(images, nrow=per_row, padding=2, pad_value=255)  # (3, H', W') uint8
    buf = io.BytesIO()
    Image.fromarray(grid.permute(1, 2, 0).numpy()).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def decode(png: bytes) -> np.ndarray:
    """PNG bytes -> uint8 (H, W, 3)."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
