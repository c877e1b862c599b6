"""Simulated distribution shifts applied to the test images: noise, blur, lower contrast, small rotations.

Each shift is deterministic (a fixed seed per shift), so every arm is scored on exactly the same shifted images.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ganaug_core.benchmark.augment import affine

SHIFT_SEED = 12345
NOISE_STD = 0.1  # Gaussian pixel noise, in units of the full 0–1 range
BLUR_SIGMA = 0.8  # Gaussian blur, in pixels of the dataset's resolution
CONTRAST_FACTOR = 0.5  # pixel values pulled halfway towards the image mean
ROTATION_DEG = 15.0  # each image rotated by ±ROTATION_DEG (random sign)


def _to_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).float() / 255.0


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def noise(images: np.ndarray) -> np.ndarray:
    gen = torch.Generator().manual_seed(SHIFT_SEED)
    x = _to_float(images)
    return _to_uint8(x + NOISE_STD * torch.randn(x.shape, generator=gen))


def blur(images: np.ndarray) -> np.ndarray:
    radius = max(1, math.ceil(2 * BLUR_SIGMA))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k1 = torch.exp(-(t**2) / (2 * BLUR_SIGMA**2))
    k1 = k1 / k1.sum()
    x = _to_float(images)
    c = x.shape[1]
    kernel = (k1[:, None] * k1[None, :]).expand(c, 1, -1, -1).contiguous()
    x = F.conv2d(F.pad(x, (radius,) * 4, mode="replicate"), kernel, groups=c)
    return _to_uint8(x)


def contrast(images: np.ndarray) -> np.ndarray:
    x = _to_float(images)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return _to_uint8((x - mean) * CONTRAST_FACTOR + mean)


def rotation(images: np.ndarray) -> np.ndarray:
    gen = torch.Generator().manual_seed(SHIFT_SEED)
    n = len(images)
    sign = torch.randint(0, 2, (n,), generator=gen).float() * 2 - 1
    angle = sign * math.radians(ROTATION_DEG)
    one, zero = torch.ones(n), torch.zeros(n)
    return _to_uint8(affine(_to_float(images), angle, one, zero, zero))


SHIFTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "noise": noise,
    "blur": blur,
    "contrast": contrast,
    "rotation": rotation,
}


def shifted_test_sets(images: np.ndarray) -> dict[str, np.ndarray]:
    return {name: fn(images) for name, fn in SHIFTS.items()}


def describe() -> dict:
    return {
        "noise": f"Gaussian pixel noise, std {NOISE_STD} of the 0–1 range",
        "blur": f"Gaussian blur, sigma {BLUR_SIGMA} px",
        "contrast": f"contrast × {CONTRAST_FACTOR} around each image's mean",
        "rotation": f"rotation by ±{ROTATION_DEG:g}°",
    }
