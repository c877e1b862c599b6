"""The domain feature extractor: a small CNN classifier trained on a dataset's real *training* split only.

Inception features are tuned to ImageNet photos and say little about 16×16 digit scans or skin-lesion crops, so
every distribution metric, nearest-neighbour check and the embedding use this network's penultimate layer
instead. It is trained once per dataset (seeded, class-balanced batches so the rare classes shape the feature
space too), saved with its sha256 and reused. Inception-based FID is not offered: nothing is downloaded at run
time, and no user-supplied weights file is loaded by this module.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ganaug_core.errors import GanaugError
from ganaug_core.imageio import sha256_file
from ganaug_core.paths import write_atomically
from ganaug_core.progress import Progress, ProgressCallback, no_progress
from ganaug_core.torch_archive import check_not_compressed

FORMAT_VERSION = 1
# The side a new extractor looks at: larger images are average-pooled down to it first. At 128² the full-side
# network made a dataset's first scoring take 9 min 16 s for its 400 steps on a busy 2-core machine (2026-12-07), and
# a step ran ≈ 6× slower than at 64²; the pixel copy check still compares the images at their own side.
FEATURE_SIDE = 64


@dataclass
class ExtractorConfig:
    channels: int  # 1 (grayscale) or 3 (RGB)
    num_classes: int  # classes of the dataset, in its index order
    width: int = 32  # channels of the first conv block; later blocks double it
    feature_dim: int = 64  # size of the penultimate layer, i.e. of every feature vector
    # Images larger than this are average-pooled down to it (by a whole factor) before the first conv; 0: none,
    # as every extractor fitted before 2026-12-07 (its file has no such field) looked at them.
    input_side: int = 0


def pooled_side(side: int, input_side: int) -> int:
    """The side an image of `side` is seen at by an extractor pooling to `input_side` (0: none): a whole kernel of
    ⌈side / input_side⌉, so 128 → 64, 100 → 50, 200 → 50, 48 → 48 (what a report says it saw)."""
    if not input_side or side <= input_side:
        return side
    return -(-side // -(-side // input_side))


class _Net(nn.Module):
    def __init__(self, cfg: ExtractorConfig):
        super().__init__()
        w = cfg.width
        self.input_side = cfg.input_side
        self.body = nn.Sequential(
            nn.Conv2d(cfg.channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(),
        )
        # Global average pooling makes the network resolution-agnostic (8×8 test images, 64×64 datasets).
        self.embed = nn.Linear(4 * w, cfg.feature_dim)
        self.head = nn.Linear(cfg.feature_dim, cfg.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        side = max(x.shape[-2:])
        if pooled_side(side, self.input_side) < side:
            x = F.avg_pool2d(x, -(-side // self.input_side), ceil_mode=True)  # 128² → 64², 100² → 50²
        return F.relu(self.embed(self.body(x).mean(dim=(2, 3))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _to_float(images: np.ndarray) -> torch.Tensor:
    if images.dtype != np.uint8 or images.ndim != 4:
        raise GanaugError(f"expected uint8 images of shape (N, C, H, W), got {images.dtype} {images.shape}")
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(127.5).sub_(1.0)


class FeatureExtractor:
    """A trained network in eval mode; `features` and `predict_proba` take uint8 (N, C, H, W) images."""

    def __init__(self, net: _Net, config: ExtractorConfig, meta: dict | None = None):
        self.net = net.eval()
        self.config = config
        self.meta = dict(meta or {})  # seed, steps, train accuracy: what a report should be able to cite

    @property
    def feature_dim(self) -> int:
        return self.config.feature_dim

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def _check(self, images: np.ndarray) -> None:
        if images.ndim != 4 or images.shape[1] != self.config.channels:
            raise GanaugError(f"images have shape {images.shape}; this extractor expects {self.config.channels} channel(s)")

    @torch.no_grad()
    def _run(self, images: np.ndarray, fn, out_dim: int, batch_size: int) -> np.ndarray:
        self._check(images)
        out = np.empty((len(images), out_dim), dtype=np.float32)
        for i in range(0, len(images), batch_size):
            out[i : i + batch_size] = fn(_to_float(images[i : i + batch_size])).numpy()
        return out

    def features(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Penultimate-layer features, float32 (N, feature_dim)."""
        return self._run(images, self.net.features, self.config.feature_dim, batch_size)

    def predict_proba(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities, float32 (N, num_classes)."""
        return self._run(images, lambda x: self.net(x).softmax(dim=1), self.config.num_classes, batch_size)

    def save(self, path: Path) -> str:
        """Write the weights (plain tensors and numbers, loadable with weights_only) and return the file's sha256."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format_version": FORMAT_VERSION,
            "config": asdict(self.config),
            "meta": self.meta,
            "state_dict": self.net.state_dict(),
        }
        # Serialised in memory first: torch names the archive after the file, and a unique temporary name (two
        # processes may save at once) would otherwise change the bytes, and so the sha256, from run to run.
        buf = io.BytesIO()
        torch.save(payload, buf)
        write_atomically(path, buf.getvalue())
        return sha256_file(path)

    @classmethod
    def load(cls, path: Path) -> "FeatureExtractor":
        check_not_compressed(Path(path), "ganaug feature extractor")
        try:
            payload = torch.load(Path(path), map_location="cpu", weights_only=True)
            config = ExtractorConfig(**payload["config"])
            net = _Net(config)
            net.load_state_dict(payload["state_dict"])
        except (OSError, RuntimeError, KeyError, TypeError, ValueError, pickle.UnpicklingError) as e:
            raise GanaugError(f"{path} is not a ganaug feature extractor ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
        return cls(net, config, payload.get("meta", {}))


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    # Nuisance changes a generator's near-copy typically shows — a pixel of translation, a little brightness,
    # contrast and noise — must not move the features much, or a near-copy would look novel to the memorization
    # check. No flips or rotations: they would merge classes such as 6 and 9.
    n = x.shape[0]
    pad = max(1, x.shape[-1] // 8)
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
    x = padded[..., dy : dy + x.shape[-2], dx : dx + x.shape[-1]]
    contrast = 1.0 + 0.4 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    brightness = 0.2 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    noise = 0.1 * torch.rand(n, 1, 1, 1, generator=gen) * torch.randn(x.shape, generator=gen)
    return (x * contrast + brightness + noise).clamp(-1.0, 1.0)


def train_feature_extractor(
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    seed: int = 0,
    steps: int = 400,
    batch_size: int = 64,
    lr: float = 2e-3,
    progress: ProgressCallback = no_progress,
    input_side: int = FEATURE_SIDE,
) -> FeatureExtractor:
    """Train on real training images only (the caller passes the train split; never test). Images larger than
    `input_side` are pooled down to it (`ExtractorConfig.input_side`)."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(images) != len(labels) or len(images) < 2:
        raise GanaugError(f"need at least two labelled training images, got {len(images)} images and {len(labels)} labels")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise GanaugError(f"labels must lie in [0, {num_classes}), got {labels.min()}..{labels.max()}")
    if steps < 1:
        raise GanaugError(f"steps must be at least 1, got {steps}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    config = ExtractorConfig(channels=int(images.shape[1]), num_classes=num_classes, input_side=input_side)
    net = _Net(config)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    # Each batch is brought to float as it is drawn: a float copy of every image (4 bytes a pixel, 1 stored) was
    # 2.4 GB for 48,000 64² colour images, for 64 of them a step. The same values, so the same weights.
    y_all = torch.from_numpy(labels)
    # Class-balanced sampling: each class equally likely per draw, so a 4-image class still shapes the features.
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = torch.from_numpy(np.where(counts[labels] > 0, 1.0 / counts[labels], 0.0))
    net.train()
    for step in range(steps):
        idx = torch.multinomial(weights, batch_size, replacement=True, generator=gen)
        x = _augment(_to_float(images[idx.numpy()]), gen)
        loss = F.cross_entropy(net(x), y_all[idx], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 20 == 0 or step + 1 == steps:
            progress(Progress("feature extractor", step + 1, steps, {"loss": loss.item()}))
    extractor = FeatureExtractor(net, config, {"seed": seed, "steps": steps, "train_images": int(len(images))})
    pred = extractor.predict_proba(images).argmax(1)
    extractor.meta["train_accuracy"] = float((pred == labels).mean())
    extractor.meta["train_balanced_accuracy"] = float(
        np.mean([(pred[labels == c] == c).mean() for c in range(num_classes) if (labels == c).any()])
    )
    return extractor
