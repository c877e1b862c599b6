"""The pixel-space copy check: shifted, brightened and lightly noisy copies are caught; other images are not."""

import numpy as np
import pytest

from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO, _prepare, pixel_copy_ratio, prepare_real
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


def _crop_rescaled(img, side, oy, ox):
    from PIL import Image

    crops = [Image.fromarray(ch[oy : oy + side, ox : ox + side]).resize(ch.shape[::-1], Image.BILINEAR) for ch in img]
    return np.stack([np.asarray(c) for c in crops])


def test_copies_shifted_cropped_or_blended_score_low_new_images_do_not():
    images, _ = digits_8x8(40, 5)
    images = images.repeat(2, axis=2).repeat(2, axis=3)  # 16×16: 2 px is one stroke of the original 8×8 digit
    real, new = images[::2], images[1::2]
    f = real.astype(np.float32)
    synth = np.stack([
        np.pad(real[0], ((0, 0), (0, 0), (3, 0)), mode="edge")[..., :-3],  # 3 px right, the edge repeated
        np.roll(real[21], (2, -4), axis=(-2, -1)),  # 2 down and 4 left, wrapped around
        _crop_rescaled(real[42], 12, 1, 3),  # the 75 % crop rescaled to full size
        _crop_rescaled(real[63], 14, 0, 2)[..., ::-1],  # a 90 % crop, mirrored
        np.round(0.5 * f[4] + 0.5 * f[5]).astype(np.uint8),  # two zeros blended half and half
        np.round(0.7 * f[26] + 0.3 * f[27]).astype(np.uint8),  # two ones, 70/30
    ])
    index, ratio = pixel_copy_ratio(synth, real)
    assert (ratio < PIXEL_COPY_RATIO).all(), ratio
    assert index[:4].tolist() == [0, 21, 42, 63]
    assert index[4] in (4, 5) and index[5] == 26  # a blend names its larger part
    _, new_ratio = pixel_copy_ratio(new, real)
    assert (new_ratio >= PIXEL_COPY_RATIO).all(), np.sort(new_ratio)[:5]


def test_crop_model_matches_pil_bilinear_resize():
    from ganaug_core.metrics.pixel_copies import _window_matrix

    img = np.random.default_rng(0).integers(0, 256, (1, 16, 16)).astype(np.uint8)
    w = _window_matrix(16, 12, 3)
    ours = w @ img[0].astype(np.float32) @ _window_matrix(16, 12, 1).T
    assert np.abs(ours - _crop_rescaled(img, 12, 3, 1)[0]).max() <= 1.0  # PIL rounds to whole levels


def _copies_and_new_images():
    images, _ = digits_8x8(40, 5)
    real, new = images[::2], images[1::2]
    f = real.astype(np.float32)
    copies = np.stack([real[3], real[7][..., ::-1], np.roll(real[9], 1, axis=-1),
                       np.round(0.6 * f[4] + 0.4 * f[5]).astype(np.uint8)])
    return real, np.concatenate([copies, new[:8]]), new[8:20]


def test_a_prepared_bank_gives_the_uncached_results_bit_for_bit():
    """A worker keeps the real side (and the last samples' search) between checks: every array is the same as the
    check that prepares everything itself, with and without extra candidates, and for the next batch."""
    real, batch, next_batch = _copies_and_new_images()
    extra = np.random.default_rng(0).integers(0, len(real), (len(batch), 3))
    bank = prepare_real(real)
    for synth, kwargs in [(batch, dict(extra_candidates=extra)), (batch, {}), (next_batch, {}),
                          (batch, dict(extra_candidates=extra))]:
        want = pixel_copy_ratio(synth, real, return_blend=True, **kwargs)
        got = pixel_copy_ratio(synth, real, return_blend=True, bank=bank, **kwargs)
        for w, g in zip(want, got):
            assert w.dtype == g.dtype and np.array_equal(w, g), (w, g)
    assert (pixel_copy_ratio(batch, real, bank=bank)[1][:4] < PIXEL_COPY_RATIO).all()  # the copies are found


def test_a_bank_of_other_real_images_is_refused():
    real, batch, _ = _copies_and_new_images()
    other = real.copy()
    other[0, 0, 0, 0] ^= 1  # one pixel
    with pytest.raises(ValueError, match="not these real images"):
        pixel_copy_ratio(batch, real, bank=prepare_real(other))
