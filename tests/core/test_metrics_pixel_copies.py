"""The pixel-space copy check: shifted, brightened and lightly noisy copies are caught; other images are not."""

import numpy as np

from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO, _prepare, pixel_copy_ratio
from tests.core.test_features import digits_8x8


def test_altered_copies_score_low_new_images_do_not():
    images, _ = digits_8x8(40, 5)
    images = images.repeat(2, axis=2).repeat(2, axis=3)  # 16×16, as the demo stores them: a pixel is a half-stroke
    real, new = images[::2], images[1::2]
    src = real[:3].astype(np.int16)
    shifted = np.pad(real[3], ((0, 0), (0, 0), (1, 0)), mode="edge")[..., :-1]  # one pixel to the right
    synth = np.stack([
        real[0],
        np.clip(src[1] + 15, 0, 255).astype(np.uint8),  # brighter
        np.clip(src[2] + np.random.default_rng(0).normal(0, 3, src[2].shape), 0, 255).astype(np.uint8),
        shifted.astype(np.uint8),
    ])
    index, ratio = pixel_copy_ratio(synth, real)
    assert index.tolist() == [0, 1, 2, 3]
    assert ratio[0] == 0.0
    assert (ratio < PIXEL_COPY_RATIO).all()  # brightness is removed with the mean, a one-pixel shift is aligned
    _, new_ratio = pixel_copy_ratio(new, real)
    assert (new_ratio >= PIXEL_COPY_RATIO).mean() > 0.95


def test_large_images_are_block_averaged_and_mean_removed():
    x = np.full((2, 3, 128, 128), 200, np.uint8)
    p = _prepare(x)
    assert p.shape == (2, 3, 32, 32) and np.allclose(p, 0.0)


def test_mirrored_and_contrast_changed_copies_score_low():
    images, _ = digits_8x8(40, 5)
    images = images.repeat(2, axis=2).repeat(2, axis=3)
    real, new = images[::2], images[1::2]
    src = real[:4].astype(np.float32)
    synth = np.stack([
        real[0][..., ::-1],  # mirrored left-right
        real[1][..., ::-1, :],  # upside down
        np.clip(src[2] * 0.8, 0, 255).astype(np.uint8),  # fainter strokes
        np.clip(src[3] * 1.25, 0, 255).astype(np.uint8),  # stronger strokes
    ])
    index, ratio = pixel_copy_ratio(synth, real)
    assert index.tolist() == [0, 1, 2, 3]
    assert (ratio < PIXEL_COPY_RATIO).all(), ratio
    _, new_ratio = pixel_copy_ratio(new, real)
    assert (new_ratio >= PIXEL_COPY_RATIO).mean() > 0.95
