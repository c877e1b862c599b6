"""Sampling a generator with a wider latent spread: z × scale, so z ~ N(0, scale²) instead of N(0, 1).

The reverse of the truncation trick. Truncation (scale < 1) trades diversity for fidelity; on `demo:digits` the
downstream classifier lost from it and gained from the other direction, because what limits the GAN arms there is
the generator's diversity within a class (BENCHMARKS.md, "Downstream benchmark", 2026-12-06). Only the benchmark's
gan_mix arm samples this way; `ganaug generate` and the review queue keep the generator's own N(0, 1).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ganaug_core.sampling import GeneratorPipeline


class _ScaledLatents(nn.Module):
    def __init__(self, generator: nn.Module, scale: float):
        super().__init__()
        self.generator = generator
        self.scale = float(scale)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.generator(z * self.scale, c)


def widened(pipeline: GeneratorPipeline, scale: float) -> GeneratorPipeline:
    """A pipeline over the same weights whose every latent is multiplied by `scale` (1 gives the same bytes).

    Each sample keeps its own seed and its reproducibility: only the latent's length changes, not its direction.
    """
    return GeneratorPipeline(_ScaledLatents(pipeline.generator, scale), pipeline.config, pipeline.dataset_name,
                             pipeline.class_names, pipeline.device, pipeline.checkpoint_sha256)
