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


def resized_split(images: np.ndarray, mask: np.ndarray, resolution: int, block: int = 1024) -> np.ndarray:
    """`resize_images(images[mask], resolution)`, the same bytes, taken and resized `block` images at a time.

    `images[mask]` whole is a copy at the dataset's side: the training split of 60,000 64² colour images is 590 MB,
    held beside the 737 MB of the dataset's arrays only to be shrunk to 147 MB at 32². Area-downsampling is per
    image, so the blocks change no pixel. At the same side the split itself is what training needs.
    """
    index = np.flatnonzero(mask)
    if images.shape[-1] == resolution:
        return images[index]
    out = np.empty((len(index), images.shape[1], resolution, resolution), dtype=np.uint8)
    for start in range(0, len(index), block):
        out[start:start + block] = resize_images(images[index[start:start + block]], resolution)
    return out


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
