"""The one classifier every arm trains: a small CNN with a fixed budget of optimizer steps.

Every arm gets the same architecture, optimizer, step count and batch size; only the training set (and, for the
classic-augmentation arms, the on-the-fly augmentation) differs. Given a seed, training is deterministic: the
initial weights, the batch order and the augmentation draws all come from that seed, so arm A and arm B at seed s
start from the same weights — which is what makes the per-seed paired comparison meaningful.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ganaug_core.benchmark.augment import ClassicAugmentation, augment_batch


@dataclass(frozen=True)
class Budget:
    steps: int = 400  # optimizer steps, whatever the training-set size (more data ≠ more compute)
    batch_size: int = 64
    lr: float = 2e-3  # Adam
    weight_decay: float = 1e-4
    width: int = 16  # channels of the first conv layer; doubled twice

    def to_dict(self) -> dict:
        return asdict(self)


FULL_BUDGET = Budget()
QUICK_BUDGET = Budget(steps=150, batch_size=32, width=12)


# The side of the map the head averages at most. Three conv layers see 18 px, which at 32² is half the image and
# leaves an 8² map; at 128² the same layers saw 18 px of 128 and averaged a 32² map, so a structure larger than a
# few tens of pixels was never seen whole (on shapes half the image wide: balanced accuracy 0.97 at 32², 0.75 at
# 128²; BENCHMARKS.md, "The benchmark's classifier at larger sides"). Each stage added halves the map and doubles
# what a feature sees, keeping both shares of the image as at 32².
HEAD_SIDE = 8


def extra_stages(side: int) -> int:
    """Stride-2 stages added after the three conv layers so that the averaged map is at most HEAD_SIDE: none up
    to 32² (the classifier of every report before 2026-12-07), 1 at 64², 2 at 128², 3 at 256²."""
    n, map_side = 0, side // 4  # after the two max-pools
    while map_side > HEAD_SIDE:
        n, map_side = n + 1, map_side // 2
    return n


class SmallCNN(nn.Module):
    def __init__(self, channels: int, num_classes: int, width: int, side: int = 32):
        super().__init__()
        w = width
        layers = [
            nn.Conv2d(channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(),
        ]
        # Appended after the first layers, so up to 32² the weights drawn from a seed are those of before. Each
        # stage costs a quarter of the one before it: the cost per step still grows as the pixels.
        for _ in range(extra_stages(side)):
            layers += [nn.MaxPool2d(2), nn.Conv2d(4 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU()]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def to_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    seed: int,
    budget: Budget = FULL_BUDGET,
    augmentation: Optional[ClassicAugmentation] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> SmallCNN:
    """Train on uint8 (N, C, H, W) images with plain cross-entropy and uniformly shuffled batches.

    `should_stop()` is asked before every step and stops the training by raising InterruptedError: one classifier
    of the full budget took 35 s at 32² on a busy 2-core machine, which a Cancel asked between arms waited out."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SmallCNN(images.shape[1], num_classes, budget.width, min(images.shape[2:]))
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_all, y_all = to_float(images), torch.from_numpy(labels.astype(np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=budget.lr, weight_decay=budget.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=budget.steps)
    order, pos = rng.permutation(len(labels)), 0
    model.train()
    for step in range(budget.steps):
        if should_stop is not None and should_stop():
            raise InterruptedError(f"classifier training stopped at step {step} of {budget.steps}")
        if pos + budget.batch_size > len(order):  # a new epoch: reshuffle
            order, pos = rng.permutation(len(labels)), 0
        idx = torch.from_numpy(order[pos : pos + budget.batch_size])
        pos += budget.batch_size
        x, y = x_all[idx], y_all[idx]
        if augmentation is not None:
            x = augment_batch(x, augmentation, gen)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return model


@torch.no_grad()
def predict_proba(model: SmallCNN, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    model.eval()
    out = [F.softmax(model(to_float(images[i : i + batch_size])), dim=1) for i in range(0, len(images), batch_size)]
    return torch.cat(out).numpy().astype(np.float64)
