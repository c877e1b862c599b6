"""The feature extractor looks at large images pooled down to its side: at 128² the full-side network made a
dataset's first scoring take 9 minutes on 2 cores. Extractors fitted before (no such field) keep their full view."""

import io

import numpy as np
import torch

from ganaug_core.features import FEATURE_SIDE, FeatureExtractor, train_feature_extractor
from tests.core.test_features import digits_8x8


def side_seen(extractor: FeatureExtractor, images: np.ndarray) -> int:
    """The side of the images the extractor's first conv receives."""
    seen = []
    handle = extractor.net.body[0].register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape[-1]))
    try:
        extractor.features(images)
    finally:
        handle.remove()
    return seen[0]


def test_images_above_the_side_are_pooled_down_to_it(tmp_path):
    small, labels = digits_8x8(6, 2)
    large = small.repeat(2, axis=2).repeat(2, axis=3)  # 16×16, each pixel doubled: pooled 2×, it is `small` again
    fe = train_feature_extractor(large, labels, num_classes=2, seed=0, steps=2, batch_size=8, input_side=8)
    assert side_seen(fe, large) == 8
    assert np.allclose(fe.features(large), fe.features(small), atol=1e-5)
    fe.save(tmp_path / "fe.pt")
    loaded = FeatureExtractor.load(tmp_path / "fe.pt")
    assert loaded.config.input_side == 8 and side_seen(loaded, large) == 8
    assert np.array_equal(loaded.features(large), fe.features(large))


def test_a_new_extractor_pools_above_64_and_leaves_smaller_images_alone():
    images, labels = digits_8x8(6, 2)
    fe = train_feature_extractor(images, labels, num_classes=2, seed=0, steps=2, batch_size=8)
    assert FEATURE_SIDE == 64 and fe.config.input_side == 64
    assert side_seen(fe, images) == 8


def test_an_extractor_saved_before_the_field_looks_at_the_full_side(tmp_path):
    small, labels = digits_8x8(6, 2)
    large = small.repeat(2, axis=2).repeat(2, axis=3)
    fe = train_feature_extractor(large, labels, num_classes=2, seed=0, steps=2, batch_size=8, input_side=8)
    fe.save(tmp_path / "fe.pt")
    payload = torch.load(tmp_path / "fe.pt", weights_only=True)
    del payload["config"]["input_side"]  # as a file written before 2026-12-07
    buf = io.BytesIO()
    torch.save(payload, buf)
    (tmp_path / "old.pt").write_bytes(buf.getvalue())
    old = FeatureExtractor.load(tmp_path / "old.pt")
    assert old.config.input_side == 0 and side_seen(old, large) == 16
    assert not np.allclose(old.features(large), fe.features(large), atol=1e-5)
