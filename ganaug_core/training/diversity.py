"""Mode-collapse monitor: per-class diversity of generated samples relative to the real samples of that class.

Diversity is the mean pairwise Euclidean distance between samples of one class in a feature space (by default
the images average-pooled to at most 16×16 — cheap, fixed, and independent of the networks being trained). The
ratio generated/real near 1 is healthy; a class whose ratio falls below the threshold is flagged, the signature
of a generator that has collapsed onto a few outputs (or onto copies of a handful of training images).
A class with a single real image has no real spread of its own: its samples are measured against the typical real
spread of the other classes (the median), and the report names it (`vs_other_classes`); when no class has two real
images, nothing is measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

FeatureFn = Callable[[torch.Tensor], torch.Tensor]
MONITOR_SEED = 12345  # the monitor draws its own latents, so it never disturbs the training random stream
# Images per forward pass when sampling a few images of every class, at every interval of a run. At 100 classes
# on 2 cores, the monitor's one pass of 32 per class took 0.54 s against 0.39 s in passes of 256 on a quiet
# machine, 2.8 s against 1.2 s beside another process using both cores (the grids' passes of 64: as fast quiet).
SAMPLE_CHUNK = 256


def class_groups(num_classes: int, per_class: int, chunk: int = SAMPLE_CHUNK) -> list[range]:
    """Consecutive classes whose `per_class` samples each fill about one forward pass of `chunk` images."""
    step = max(1, chunk // per_class)
    return [range(c, min(num_classes, c + step)) for c in range(0, num_classes, step)]


@torch.no_grad()
def sample_classes(generator: torch.nn.Module, group: range, per_class: int, z_dim: int, gen: torch.Generator,
                   device: torch.device) -> torch.Tensor:
    """`per_class` samples of each class of `group`, class after class, in one forward pass. The latents are drawn
    from `gen` in that order: the same latents as one draw of `per_class` per class, class after class."""
    z = torch.randn(len(group) * per_class, z_dim, generator=gen).to(device)
    labels = torch.arange(group.start, group.stop).repeat_interleave(per_class).to(device)
    return generator(z, labels)


def pooled_pixels(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) in [-1, 1] → (N, D) features: pixels average-pooled to at most 16×16."""
    side = images.shape[-1]
    if side > 16:
        images = F.adaptive_avg_pool2d(images.float(), 16)
    return images.float().flatten(1)


def mean_pairwise_distance(features: torch.Tensor) -> float:
    if features.shape[0] < 2:
        return float("nan")
    return float(torch.pdist(features.double()).mean())


@dataclass
class DiversityReport:
    ratios: dict[int, float]  # class index → generated / real mean pairwise distance
    flagged: list[int] = field(default_factory=list)  # classes below the threshold
    vs_other_classes: list[int] = field(default_factory=list)  # no real spread of their own (one real image): their
    # ratio is against the other classes' median real spread

    def to_dict(self) -> dict:
        return {"diversity": {str(k): round(v, 4) for k, v in self.ratios.items()}, "collapsed": self.flagged,
                **({"vs_other_classes": self.vs_other_classes} if self.vs_other_classes else {})}


class DiversityMonitor:
    def __init__(
        self,
        real_images: torch.Tensor,
        real_labels: torch.Tensor,
        num_classes: int,
        threshold: float,
        n_per_class: int = 32,
        features: FeatureFn = pooled_pixels,
    ):
        """`real_images`: (N, C, H, W) at the training resolution, the stored uint8 (0–255) or float in [-1, 1].

        Only the few images measured per class are brought to float: the trainer handed over a float copy of every
        training image, 2.4 GB at train start for 48,000 64² colour images (4 bytes a pixel, 1 stored)."""
        self.num_classes, self.threshold, self.n, self.features = num_classes, threshold, n_per_class, features
        rng = np.random.default_rng(MONITOR_SEED)
        labels = real_labels.cpu().numpy()
        real: dict[int, float] = {}
        for c in range(num_classes):
            idx = np.flatnonzero(labels == c)
            idx = idx[rng.permutation(len(idx))[: max(n_per_class, 64)]]
            chosen = real_images[torch.as_tensor(idx)]
            if chosen.dtype == torch.uint8:
                chosen = chosen.float().div_(127.5).sub_(1.0)  # the trainer's own conversion (Trainer._to_float)
            real[c] = mean_pairwise_distance(features(chosen))
        known = [v for v in real.values() if np.isfinite(v) and v > 0]
        # A class with a single real image has no real spread; compare it with the typical class instead (with none
        # to compare with, it is not measured: a ratio to an arbitrary 1.0 would read as "of real").
        self.vs_other_classes = [c for c, v in real.items() if not (np.isfinite(v) and v > 0)] if known else []
        self.real = {c: (v if np.isfinite(v) and v > 0 else float(np.median(known))) for c, v in real.items()
                     if known or (np.isfinite(v) and v > 0)}

    @torch.no_grad()
    def measure(self, generator: torch.nn.Module, z_dim: int, device: torch.device) -> DiversityReport:
        gen = torch.Generator().manual_seed(MONITOR_SEED)
        was_training = generator.training
        generator.eval()
        try:
            ratios: dict[int, float] = {}
            for group in class_groups(self.num_classes, self.n):
                fake = self.features(sample_classes(generator, group, self.n, z_dim, gen, device).float().cpu())
                for k, c in enumerate(group):
                    if c in self.real:
                        ratios[c] = mean_pairwise_distance(fake[k * self.n:(k + 1) * self.n]) / self.real[c]
        finally:
            generator.train(was_training)
        flagged = [c for c, r in ratios.items() if r < self.threshold]
        return DiversityReport(ratios, flagged, list(self.vs_other_classes))
