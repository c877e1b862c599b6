"""Between a dataset's side and the generator's resolution: area-downsampling the real images to the power of two
a generator trains at, and bilinear upsampling of its samples (and of real images, for a fair comparison) back."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def resize_images(images: np.ndarray, resolution: int) -> np.ndarray:
    """Area-downsample uint8 (N, C, H, W) images to `resolution` (a no-op at the same size)."""
    if images.shape[-1] == resolution:
        return images
    out = []
    for chunk in np.array_split(images, max(1, len(images) // 4096 + 1)):
        t = F.interpolate(torch.from_numpy(chunk).float(), size=(resolution, resolution), mode="area")
        out.append(t.round().clamp(0, 255).to(torch.uint8).numpy())
    return np.concatenate(out)


def as_generated(real: np.ndarray, resolution: int, gen_side: int) -> np.ndarray:
    """Real images brought to the footing of samples from a generator that worked at `gen_side`.

    A generator may work below the dataset's side; it was trained on area-downsampled real images, and its samples
    are stored upsampled to the dataset's side (`upsample_images`). Real images take the same path — down as the
    generator saw them, back up by the same function — so a copy of a training image is still an exact copy.
    Samples themselves go through `upsample_images` too: a no-op for those stored at the dataset's side, and the
    same path for batches generated before samples were. Here, not in the evaluation, so that the digest of the
    code whose results are kept on disk covers it (ganaug/domain_models.py, FEATURE_CODE and PIXEL_CODE).
    """
    return real if gen_side >= resolution else upsample_images(resize_images(real, gen_side), resolution)


def upsample_images(images: np.ndarray, side: int, chunk: int = 256) -> np.ndarray:
    """Bilinearly upsample uint8 (N, C, H, W) images to `side` (a no-op at the same size), in chunks.

    The generator trains at a power of two at most the dataset's side (32 for a 48×48 dataset). Its samples are
    stored, reviewed, exported and benchmarked at the dataset's side, upsampled by this one function; the
    evaluation brings real images to the same footing through it, so a copy of a training image stays a copy.
    """
    if images.shape[-1] == side:
        return images
    out = np.empty((len(images), images.shape[1], side, side), dtype=np.uint8)
    for start in range(0, len(images), chunk):
        x = torch.from_numpy(np.ascontiguousarray(images[start:start + chunk])).float()
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
        out[start:start + chunk] = x.round().clamp(0, 255).to(torch.uint8).numpy()
    return out
