"""Differentiable augmentation of every image D sees (DiffAugment) and the adaptive probability of ADA.

DiffAugment (Zhao et al., 2020) applies the same family of colour / translation / cutout transforms to reals and
fakes, in both the D and the G step, so D cannot memorise a handful of rare-class images and the augmentations
do not leak into G (they are differentiable and applied to fakes too). In "ada" mode each transform is applied
to each image with probability p, and p follows the sign of D on reals toward a target (StyleGAN2-ADA):
r_t = E[sign(D(real))] above the target means D is overfitting → more augmentation.

All random draws come from an explicit CPU `torch.Generator`, so a checkpointed generator state reproduces the
exact same augmentations after a resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import torch
import torch.nn.functional as F

from ganaug_core.errors import GanaugError

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125  # shift of up to 1/8 of the side, as in DiffAugment
CUTOUT_RATIO = 0.5  # a square of half the side is blanked


def parse_policy(policy: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in policy.split(",") if p.strip())
    bad = [p for p in parts if p not in POLICIES]
    if bad:
        raise GanaugError(f"unknown DiffAugment transform(s) {', '.join(bad)}; use any of {', '.join(POLICIES)}")
    return parts


def _rand(gen: torch.Generator, *shape: int, device) -> torch.Tensor:
    return torch.rand(*shape, generator=gen).to(device, non_blocking=True)


def _randint(gen: torch.Generator, low: int, high: int, *shape: int, device) -> torch.Tensor:
    return torch.randint(low, high, shape, generator=gen).to(device, non_blocking=True)


def _color(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n, dev = x.shape[0], x.device
    x = x + (_rand(gen, n, 1, 1, 1, device=dev).to(x.dtype) - 0.5)  # brightness
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_rand(gen, n, 1, 1, 1, device=dev).to(x.dtype) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(gen, n, 1, 1, 1, device=dev).to(x.dtype) + 0.5) + mean  # contrast


def _translation(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n, c, h, w = x.shape
    dev = x.device
    sh, sw = max(1, int(h * TRANSLATION_RATIO + 0.5)), max(1, int(w * TRANSLATION_RATIO + 0.5))
    ty = _randint(gen, -sh, sh + 1, n, 1, 1, device=dev)
    tx = _randint(gen, -sw, sw + 1, n, 1, 1, device=dev)
    gy = (torch.arange(h, device=dev).view(1, h, 1) + ty + 1).clamp(0, h + 1)
    gx = (torch.arange(w, device=dev).view(1, 1, w) + tx + 1).clamp(0, w + 1)
    gb = torch.arange(n, device=dev).view(n, 1, 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # the zero border is what shifted-in pixels become
    return padded[gb, gy, gx].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    dev = x.device
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    oy = _randint(gen, 0, h + (1 - ch % 2), n, 1, 1, device=dev)
    ox = _randint(gen, 0, w + (1 - cw % 2), n, 1, 1, device=dev)
    ys = torch.arange(h, device=dev).view(1, h, 1)
    xs = torch.arange(w, device=dev).view(1, 1, w)
    top, left = oy - ch // 2, ox - cw // 2
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], gen: torch.Generator,
                 p: Union[float, torch.Tensor] = 1.0) -> torch.Tensor:
    """Apply each transform of `policy`; with p < 1 each image gets each transform with probability p.

    `p` is one probability for the batch or a tensor of one per image (ADA's per-class floor)."""
    per_image = isinstance(p, torch.Tensor)
    if not per_image and p <= 0.0:
        return x
    if per_image:
        p = p.to(x.device).view(-1, 1, 1, 1)
    for name in policy:
        y = _TRANSFORMS[name](x, gen)
        if per_image or p < 1.0:
            keep = _rand(gen, x.shape[0], 1, 1, 1, device=x.device) < p
            y = torch.where(keep, y, x)
        x = y
    return x


def class_floor(labels, num_classes: int) -> torch.Tensor:
    """ADA's per-class floor on p: 1 − n_c / median(n), clipped to [0, 1].

    One p for the whole batch lets D memorise a class of 4 images long before it overfits the classes of 120, and
    G then copies those few images (measured on demo:digits: nearest-real distance ratios of 0.22–0.31 for the two
    rarest classes). A class with fewer images than the median is augmented at least in proportion to what it
    lacks; classes at or above the median follow the adaptive p alone.
    """
    counts = torch.bincount(torch.as_tensor(labels, dtype=torch.long), minlength=num_classes).double()
    median = counts[counts > 0].median()
    floor = (1.0 - counts / median).clamp(0.0, 1.0)
    return torch.where(counts > 0, floor, 0.0).float()  # a class absent from the data is never drawn


@dataclass
class AdaTuner:
    """Tunes p from the sign of D on reals, accumulated over `interval` steps (StyleGAN2-ADA's heuristic)."""

    target: float = 0.6
    interval: int = 4
    kimg: float = 20.0  # thousands of images for p to move by 1
    batch_size: int = 64
    p: float = 0.0
    sign_sum: float = 0.0
    count: int = 0
    steps_seen: int = 0
    last_rt: float = 0.0

    def observe(self, d_real: torch.Tensor) -> None:
        self.sign_sum += float(torch.sign(d_real.detach().float()).sum())
        self.count += int(d_real.numel())
        self.steps_seen += 1
        if self.steps_seen % self.interval == 0:
            self.last_rt = self.sign_sum / max(1, self.count)
            # sign(r_t − target), as in the paper: at the target p stays. r_t is a multiple of 1/(batch · interval):
            # at a batch size that is a multiple of 5 (40 too) it can equal the default 0.6, where p used to fall.
            adjust = (self.last_rt > self.target) - (self.last_rt < self.target)
            self.p = min(1.0, max(0.0, self.p + adjust * self.batch_size * self.interval / (self.kimg * 1000)))
            self.sign_sum, self.count = 0.0, 0

    def state_dict(self) -> dict:
        return dict(p=self.p, sign_sum=self.sign_sum, count=self.count, steps_seen=self.steps_seen, last_rt=self.last_rt)

    def load_state_dict(self, state: dict) -> None:
        for k in ("p", "sign_sum", "last_rt"):
            setattr(self, k, float(state[k]))
        self.count, self.steps_seen = int(state["count"]), int(state["steps_seen"])
