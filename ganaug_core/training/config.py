"""The training configuration: one typed dataclass, validated at the edge, stored in every run and checkpoint.

A checkpoint carries its config, so a resume rebuilds the networks from the checkpoint alone (nanoGPT's habit).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, Optional

from ganaug_core.errors import GanaugError

ARCHES = ("dcgan", "resnet")
LOSSES = ("hinge", "nonsat")
AUGMENTS = ("diffaugment", "ada", "none")
MIN_RESOLUTION = 8  # 8×8 exists for tiny tests; the product's own range starts at 16
MAX_RESOLUTION = 128
# The step budget when none is given (`ganaug train`, the Generate form): the demo digits' classes were all
# recognised from 864 steps on (BENCHMARKS.md "GAN quality"); the downstream benchmark measured this default.
DEFAULT_STEPS = 1500

# Fields added after checkpoints already existed, with the behaviour those checkpoints were trained with.
ADDED_LATER: dict[str, Any] = {"ada_class_floor": False, "d_head_kernel": 3, "r1_samples": None, "edge_convs": True,
                               "ac_weight": 0.0}


@dataclass
class TrainConfig:
    resolution: int = 32  # side of the generated images; a power of two, at most the dataset's resolution
    channels: int = 1  # 1 or 3, taken from the dataset by the orchestration layer
    num_classes: int = 10  # taken from the dataset by the orchestration layer
    arch: str = "dcgan"  # generator/discriminator family: "dcgan" (conv stacks) or "resnet" (residual blocks)
    width: int = 16  # channels at the output resolution; doubles per halving of resolution, capped at 8×
    edge_convs: bool = True  # dcgan arch: 3×3 convs at full resolution (G's features → image, image → D's features)
    d_head_kernel: int = 1  # kernel of D's conv on its 4×4 map (after the minibatch-stddev channel): 1 or 3
    z_dim: int = 64  # latent size per sample
    loss: str = "hinge"  # "hinge" (default, as BigGAN) or "nonsat" (non-saturating logistic)
    r1_gamma: float = 1.0  # weight of the R1 penalty on reals; 0 switches it off
    r1_every: int = 4  # lazy regularisation: R1 every k D steps, scaled by k (StyleGAN2)
    r1_samples: Optional[int] = 16  # reals R1 is estimated on, in its own small D pass; None: the whole batch
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator learning rate
    beta1: float = 0.0  # Adam β1; 0 is the GAN-stable choice with spectral norm
    beta2: float = 0.99  # Adam β2
    batch_size: int = 32  # images per step for D (reals and fakes each) and for G; 32 learns digits in fewer FLOPs than 64
    ac_weight: float = 0.25  # D's auxiliary class head (AC-GAN, on reals): G pays when its fakes are not named as their class; 0: off
    mode_seeking: float = 0.0  # weight of the mode-seeking term (MSGAN): G pays when two latents of a class look alike
    ema_beta: float = 0.995  # per-step decay of the EMA generator that all sampling uses (ramped in: ≤ (1+s)/(10+s))
    augment: str = "ada"  # "ada" (DiffAugment transforms, probability p tuned online), "diffaugment" (always on) or "none"
    diffaug_policy: str = "color,translation,cutout"  # DiffAugment transforms, comma-separated
    ada_target: float = 0.6  # ADA: target of E[sign(D(real))]; above it p rises, below it p falls
    ada_interval: int = 4  # ADA: adjust p every this many steps
    ada_kimg: float = 20.0  # ADA: thousands of real images for p to move from 0 to 1
    ada_class_floor: bool = True  # ADA: a class with n images gets p ≥ 1 − n / (median class size), against memorising rare classes
    steps: Optional[int] = DEFAULT_STEPS  # total training steps of the run (counted from 0, also across resumes)
    minutes: Optional[float] = None  # or a wall-clock budget for this invocation; whichever ends first
    seed: int = 0  # seeds weights, batches, latents and augmentations
    device: str = "cpu"  # "cpu" or "cuda"
    grid_every: int = 250  # write per-class sample grids every this many steps (and at the end)
    ckpt_every: int = 500  # write a checkpoint every this many steps (and at the end)
    stats_every: int = 25  # append a line to stats.jsonl / report progress every this many steps
    diversity_every: int = 250  # compute the per-class diversity monitor every this many steps
    diversity_threshold: float = 0.5  # flag a class whose generated/real diversity ratio falls below this (0: never)
    class_balanced: bool = True  # reals and fakes' classes uniform, so rare classes are seen as often as common;
    # False: both as often as the data has them (a plain conditional GAN)
    channels_last: bool = True  # NHWC memory format (faster convolutions on CPU with oneDNN)
    bf16: bool = False  # bfloat16 autocast for the networks (where the CPU/GPU has fast bf16)

    def validate(self) -> "TrainConfig":
        """Raise GanaugError naming the first bad field; returns self so calls chain."""
        r = self.resolution
        if r < MIN_RESOLUTION or r > MAX_RESOLUTION or r & (r - 1):
            raise GanaugError(f"--resolution must be a power of two between {MIN_RESOLUTION} and {MAX_RESOLUTION} "
                              f"(8 only for quick tests), got {r}")
        if self.channels not in (1, 3):
            raise GanaugError(f"channels must be 1 or 3, got {self.channels}")
        if self.num_classes < 2:
            raise GanaugError(f"a conditional GAN needs at least 2 classes, got {self.num_classes}")
        _choice("arch", self.arch, ARCHES)
        _choice("loss", self.loss, LOSSES)
        _choice("augment", self.augment, AUGMENTS)
        for name in ("lr_g", "lr_d"):
            if not 0 < getattr(self, name) < math.inf:
                raise GanaugError(f"{name} must be a finite number > 0, got {getattr(self, name)}")
        for name in ("batch_size", "z_dim", "width", "grid_every", "ckpt_every", "stats_every",
                     "diversity_every", "r1_every", "ada_interval"):
            if int(getattr(self, name)) < 1:
                raise GanaugError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if not -(2**63) <= int(self.seed) < 2**63 - 1:  # torch's seed range; the loop's own generator takes seed + 1
            raise GanaugError(f"--seed must be between -2**63 and 2**63 - 2, got {self.seed}")
        if self.steps is None and self.minutes is None:
            raise GanaugError("give a training budget: --steps N or --minutes M")
        if self.steps is not None and self.steps <= 0:
            raise GanaugError(f"--steps must be > 0, got {self.steps}")
        if self.minutes is not None and not 0 < self.minutes < math.inf:
            raise GanaugError(f"--minutes must be a finite number > 0, got {self.minutes}")
        if not 0.0 <= self.ema_beta < 1.0:
            raise GanaugError(f"ema_beta must be in [0, 1), got {self.ema_beta}")
        if not 0.0 < self.ada_target < 1.0:
            raise GanaugError(f"ada_target must be in (0, 1), got {self.ada_target}")
        if not 0.0 <= self.diversity_threshold <= 1.0:
            raise GanaugError(f"--diversity-threshold must be in [0, 1] (0: never flag), got {self.diversity_threshold}")
        # `not 0 <= x < inf`, not `x < 0`: NaN fails every comparison, so `x < 0` let it through; inf makes the losses NaN.
        for name, shown in (("mode_seeking", "mode_seeking"), ("ac_weight", "--ac-weight"), ("r1_gamma", "--r1-gamma")):
            if not 0 <= getattr(self, name) < math.inf:
                raise GanaugError(f"{shown} must be a finite number ≥ 0, got {getattr(self, name)}")
        if self.r1_samples is not None and int(self.r1_samples) < 1:
            raise GanaugError(f"r1_samples must be ≥ 1 (or None for the whole batch), got {self.r1_samples}")
        if not self.edge_convs and self.arch != "dcgan":
            raise GanaugError(f"--no-edge-convs applies to the dcgan arch only; {self.arch} keeps its edge convs")
        if self.d_head_kernel not in (1, 3):
            raise GanaugError(f"d_head_kernel must be 1 or 3, got {self.d_head_kernel}")
        if not 0.0 <= self.beta1 < 1.0 or not 0.0 <= self.beta2 < 1.0:
            raise GanaugError("Adam betas must be in [0, 1)")
        check_device(self.device)
        from ganaug_core.training.augment import parse_policy

        parse_policy(self.diffaug_policy)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], stored: bool = False) -> "TrainConfig":
        """`stored`: the config of an existing run or checkpoint; a field it lacks takes the value it ran with."""
        if stored:
            data = {**ADDED_LATER, **data}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GanaugError(f"unknown training config field(s): {', '.join(unknown)}")
        return cls(**data)


def default_resolution(side: int) -> int:
    """The side a run trains at unless told otherwise: the largest power of two ≤ both the dataset's side and
    MAX_RESOLUTION (the CLI's `train` and the app's Generate form both start from it)."""
    r = 1
    while r * 2 <= min(side, MAX_RESOLUTION):
        r *= 2
    return r


def check_device(device: str) -> None:
    """Training and sampling run on "cpu" (the default) or "cuda", where a CUDA device is available."""
    if device not in ("cpu", "cuda"):
        raise GanaugError(f"--device must be cpu or cuda, got {device!r}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise GanaugError("--device cuda was asked for but no CUDA device is available")


def fast_bf16(device: str) -> bool:
    """bfloat16 autocast pays off only with native bf16 arithmetic (AVX512-BF16 / AMX on CPU, Ampere+ GPUs)."""
    import torch

    if device == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise GanaugError(f"--{name} must be one of {', '.join(allowed)}, got {value!r}")
