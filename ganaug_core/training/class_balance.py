"""Class-balanced drawing of the real batches, so that the conditional GAN does not ignore the minority classes."""

from __future__ import annotations

import numpy as np
import torch


class ClassBalancedSampler:
    """Draws batch indices and the fakes' class labels from one class distribution: uniform over the classes
    present (balanced) or each class as often as it has images (not balanced, a plain conditional GAN's)."""

    def __init__(self, labels: np.ndarray, balanced: bool):
        order = np.argsort(labels, kind="stable")
        self.order = torch.from_numpy(order)
        classes, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
        self.classes = torch.from_numpy(classes).long()
        self.starts, self.counts = torch.from_numpy(starts), torch.from_numpy(counts)
        self.balanced, self.n = balanced, len(labels)

    def draw(self, batch: int, gen: torch.Generator, group: int = 1) -> torch.Tensor:
        """Indices of `batch` images in runs of `group` images of one class (D's minibatch-stddev groups)."""
        u = torch.rand(batch, generator=gen, dtype=torch.float64)
        k = self.draw_classes(batch, gen, group, index_only=True)
        pos = self.starts[k] + (u * self.counts[k]).long().clamp(max=self.counts[k] - 1)
        return self.order[pos]

    def draw_classes(self, batch: int, gen: torch.Generator, group: int = 1, index_only: bool = False) -> torch.Tensor:
        """`batch` class labels in runs of `group` equal labels: uniform over the classes present, or (not balanced)
        in proportion to their images. Reals and fakes must follow the same class distribution, or D tells them
        apart by their labels alone; and runs of one class for both, or by the minibatch-stddev feature alone."""
        runs = -(-batch // group)
        if self.balanced:
            k = torch.randint(len(self.classes), (runs,), generator=gen)
        else:
            k = torch.multinomial(self.counts.double(), runs, replacement=True, generator=gen)
        k = k.repeat_interleave(group)[:batch]
        return k if index_only else self.classes[k]


def repeated_fakes(batch: int, group: int) -> int:
    """How many fakes repeat the classes of the first ones (with other latents: mode seeking's pairs). Half the batch,
    in whole minibatch-stddev groups, so that both parts of the fakes are whole runs of one class; a batch of one
    group is one class throughout, whatever the split."""
    half = batch // 2
    return half if batch == group else half - half % group
