"""Standing statistics (BigGAN's): G's batch-norm statistics measured again, over fixed batches, for the EMA weights
that sample. The loop measures them before every grid, diversity reading and checkpoint (`Trainer._standing_stats`).
"""

from __future__ import annotations

from typing import Optional

import torch

from ganaug_core.training.grids import GRID_SEED
from ganaug_core.training.networks import Generator

STANDING_STATS_BATCHES = 8


@torch.no_grad()
def standing_stats(g: Generator, num_classes: int, z_dim: int, device: torch.device, batch: int = 64,
                   class_counts: Optional[torch.Tensor] = None) -> None:
    """Recompute G's batch-norm statistics as an exact average over fixed class-balanced batches.

    Sampling runs G in eval mode so each sample is independent of its batch; its running statistics must then
    describe the EMA weights themselves (BigGAN's "standing statistics"), not the training G's last batches.
    With `class_counts` (a run without class balance, whose batches follow the data's classes) each batch holds
    the classes in proportion to them, as the batches G was trained on did.
    """
    gen = torch.Generator().manual_seed(GRID_SEED)
    norms = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    g.train()
    for i in range(STANDING_STATS_BATCHES):
        z = torch.randn(batch, z_dim, generator=gen).to(device)
        if class_counts is not None:
            c = proportional_classes(class_counts, i, batch).to(device)
        else:
            # Every class in every batch, as runs have always had it; where a batch cannot hold them all, the
            # batches take the classes in turn, so that classes past the batch size count in the statistics too.
            first = i * batch if num_classes > batch else 0
            c = ((first + torch.arange(batch)) % num_classes).to(device)
        g(z, c)
    for m, mom in zip(norms, saved):
        m.momentum = mom
    g.eval()


def proportional_classes(class_counts: torch.Tensor, i: int, batch: int) -> torch.Tensor:
    """Batch i of the standing statistics' batches with classes in proportion to `class_counts`: slot j takes the
    class at quantile (j · batches + i + ½) / (batches · batch), so every batch spans the whole distribution and
    together they hold each class within one slot of its share."""
    cum = torch.cumsum(class_counts.double(), 0) / class_counts.sum()
    slots = STANDING_STATS_BATCHES * batch
    q = (torch.arange(batch, dtype=torch.float64) * STANDING_STATS_BATCHES + i + 0.5) / slots
    return torch.searchsorted(cum, q, right=True).clamp(max=len(class_counts) - 1)
