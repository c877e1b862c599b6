"""Classic augmentation on batches of float images in [0, 1]: rotation, scale, translation, brightness/contrast.

Plain torch (`affine_grid` + `grid_sample`) with every random draw from a caller's `torch.Generator`, so a
training run with a given seed sees the same augmented batches every time.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ClassicAugmentation:
    rotation_deg: float = 15.0  # uniform in ±rotation_deg
    scale: float = 0.1  # zoom factor uniform in 1 ± scale
    translate: float = 0.1  # shift uniform in ± translate × image side, per axis
    brightness: float = 0.15  # added offset uniform in ± brightness
    contrast: float = 0.2  # factor around the image mean uniform in 1 ± contrast

    def to_dict(self) -> dict:
        return asdict(self)


def _uniform(n: int, half_width: float, gen: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=gen) * 2 - 1) * half_width


def affine(x: torch.Tensor, angle_rad: torch.Tensor, scale: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    """Rotate/scale/translate each image of (N, C, H, W) about its centre; outside pixels are black (0)."""
    cos, sin = torch.cos(angle_rad) / scale, torch.sin(angle_rad) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def augment_batch(x: torch.Tensor, config: ClassicAugmentation, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    angle = _uniform(n, math.radians(config.rotation_deg), gen)
    scale = 1 + _uniform(n, config.scale, gen)
    # affine_grid works in [-1, 1] coordinates, so a shift of t × side is 2t there.
    tx, ty = _uniform(n, 2 * config.translate, gen), _uniform(n, 2 * config.translate, gen)
    x = affine(x, angle, scale, tx, ty)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = (1 + _uniform(n, config.contrast, gen)).view(n, 1, 1, 1)
    brightness = _uniform(n, config.brightness, gen).view(n, 1, 1, 1)
    return ((x - mean) * contrast + mean + brightness).clamp(0, 1)
