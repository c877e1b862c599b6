"""Class-balanced drawing of the real batches, so that the conditional GAN does not ignore the minority classes."""

from __future__ import annotations

import numpy as np
import torch


class ClassBalancedSampler:
    """Draws batch indices; class-balanced: a class, uniformly among those present, then an image of it."""

    def __init__(self, labels: np.ndarray, balanced: bool):
        order = np.argsort(labels, kind="stable")
        self.order = torch.from_numpy(order)
        classes, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
        self.classes = torch.from_numpy(classes).long()
        self.starts, self.counts = torch.from_numpy(starts), torch.from_numpy(counts)
        self.balanced, self.n = balanced, len(labels)

    def draw(self, batch: int, gen: torch.Generator, group: int = 1) -> torch.Tensor:
        """Indices of `batch` images; balanced draws come in runs of `group` images of one class."""
        u = torch.rand(batch, generator=gen, dtype=torch.float64)
        if not self.balanced:
            return self.order[(u * self.n).long().clamp(max=self.n - 1)]
        k = self.draw_classes(batch, gen, group, index_only=True)
        pos = self.starts[k] + (u * self.counts[k]).long().clamp(max=self.counts[k] - 1)
        return self.order[pos]

    def draw_classes(self, batch: int, gen: torch.Generator, group: int = 1, index_only: bool = False) -> torch.Tensor:
        """`batch` class labels, uniform over the classes present, in runs of `group` equal labels."""
        k = torch.randint(len(self.classes), (-(-batch // group),), generator=gen).repeat_interleave(group)[:batch]
        return k if index_only else self.classes[k]
