"""How far apart two colours look, to a reader with normal vision and to one with red-green colour blindness: the
figures' and the app's palettes are checked with it (tests/core/test_benchmark_palette.py,
tests/app/test_colour_distance.py), so they are measured one way."""

from __future__ import annotations

import itertools

import numpy as np

# Machado, Oliveira & Fernandes (2009), severity 1, on linear RGB: what a dichromat sees of a colour.
SIMULATIONS = {
    "normal vision": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}


def lab(hex_colour: str, simulation: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour as `simulation` sees it."""
    srgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(
        simulation @ linear, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def distances(colours: dict[str, str], vision: str) -> dict[tuple[str, str], float]:
    """Every pair of `colours` (name → hex) and its CIE76 ΔE as a reader with `vision` sees them."""
    seen = {name: lab(colour, SIMULATIONS[vision]) for name, colour in colours.items()}
    return {(a, b): float(np.linalg.norm(seen[a] - seen[b])) for a, b in itertools.combinations(seen, 2)}
