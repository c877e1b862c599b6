"""Sampling from a trained generator: a small pipeline object over the EMA generator of a checkpoint.

    pipe = GeneratorPipeline.from_checkpoint(path)
    out = pipe(class_labels=7, n=100, seed=0)   # out.images: uint8 (100, C, H, W), out.seeds, out.class_labels

Per-sample seeds: sample i of a call with seed s gets its own seed `sample_seed(s, i)` =
splitmix64(splitmix64(s) + i) masked to 63 bits (it fits a signed database integer); its latent is
`latents([seed], z_dim)`, a counter-based draw: b_j = splitmix64(splitmix64(seed) + j), whose high and low
32 bits give two uniforms u, v in (0, 1], and z_j = sqrt(-2 ln u) cos(2π v) (Box–Muller). Both are vectorised numpy integer arithmetic, so 10,000
latents cost milliseconds, and `pipe.from_seeds(classes, seeds)` regenerates any single sample from its seed.
Batch norm runs in eval mode and every forward pass has the same fixed chunk size, so a sample's pixels do not
depend on which other samples shared its batch: the same (checkpoint, class, seed) gives the same bytes (on the
same device type and torch build).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch

from ganaug_core.errors import GanaugError
from ganaug_core.progress import Progress, ProgressCallback, no_progress
from ganaug_core.training.checkpoint import load_checkpoint
from ganaug_core.training.config import TrainConfig
from ganaug_core.training.networks import Generator

CHUNK = 256  # every forward pass runs on exactly this many latents (padded), for batch-independent pixels


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_MASK63 = np.uint64(2**63 - 1)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 arrays (a bijection: distinct inputs give distinct outputs)."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def sample_seeds(seed: int, n: int) -> list[int]:
    """The own seeds of samples 0..n-1 of a call with batch seed `seed`."""
    with np.errstate(over="ignore"):
        base = splitmix64(np.array([int(seed) % 2**64], dtype=np.uint64))
        return (splitmix64(base + np.arange(n, dtype=np.uint64)) & _MASK63).tolist()


def sample_seed(seed: int, index: int) -> int:
    return sample_seeds(seed, index + 1)[index]


def latents(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    """(len(seeds), z_dim) standard normal latents, each row a function of its seed alone."""
    with np.errstate(over="ignore"):
        base = splitmix64(np.asarray([int(s) for s in seeds], dtype=np.uint64))[:, None]
        bits = splitmix64(base + np.arange(z_dim, dtype=np.uint64)[None, :])
    # One 64-bit draw per coordinate: its high and low 32 bits are Box–Muller's two uniforms, each in (0, 1].
    hi = torch.from_numpy((bits >> np.uint64(32)).astype(np.float64))
    lo = torch.from_numpy((bits & np.uint64(0xFFFFFFFF)).astype(np.float64))
    u1, u2 = (hi + 1.0) * 2.0**-32, (lo + 1.0) * 2.0**-32
    return (torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * torch.pi * u2)).float()


def _pad(t: torch.Tensor, size: int) -> torch.Tensor:
    if len(t) == size:
        return t
    pad = t[:1].expand(size - len(t), *t.shape[1:]) if len(t) else torch.zeros(size, *t.shape[1:], dtype=t.dtype)
    return torch.cat([t, pad])
