"""The domain feature extractor: learns the real classes, saves with a reproducible sha256, loads weights only."""

import functools

import numpy as np
import pytest
import torch

from ganaug_core.errors import GanaugError
from ganaug_core.features import FeatureExtractor, train_feature_extractor


def digits_8x8(n_per_class=30, classes=4):
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.concatenate([np.flatnonzero(d.target == c)[:n_per_class] for c in range(classes)])
    images = (d.images[keep] * (255.0 / 16.0)).round().astype(np.uint8)[:, None]
    return images, d.target[keep].astype(np.int64)


@functools.lru_cache(maxsize=1)
def tiny_extractor_and_data():
    """Three digit classes split 3:1 into train and held-out, and an extractor trained briefly on the train part.

    Shared (read-only) by the metric and scoring tests, so the suite trains it once.
    """
    images, labels = digits_8x8(40, 3)
    train = np.arange(len(images)) % 4 != 0
    fe = train_feature_extractor(images[train], labels[train], num_classes=3, seed=0, steps=40, batch_size=32)
    return fe, images[train], labels[train], images[~train], labels[~train]


def test_learns_saves_and_reloads_identically(tmp_path):
    images, labels = digits_8x8()
    fe = train_feature_extractor(images, labels, num_classes=4, seed=0, steps=40, batch_size=32)
    assert fe.meta["train_accuracy"] > 0.8  # four digit classes are easy: a broken extractor would not get here
    feats = fe.features(images)
    assert feats.shape == (len(images), fe.feature_dim) and feats.dtype == np.float32
    probs = fe.predict_proba(images)
    assert probs.shape == (len(images), 4) and np.allclose(probs.sum(1), 1.0, atol=1e-5)

    sha = fe.save(tmp_path / "fe.pt")
    again = train_feature_extractor(images, labels, num_classes=4, seed=0, steps=40, batch_size=32)
    assert again.save(tmp_path / "fe.pt") == sha  # same data, same seed → same bytes
    loaded = FeatureExtractor.load(tmp_path / "fe.pt")
    assert np.array_equal(loaded.features(images), feats)
    assert loaded.meta["seed"] == 0


def test_refuses_bad_input_and_foreign_files(tmp_path):
    images, labels = digits_8x8(5, 2)
    with pytest.raises(GanaugError, match="labels must lie"):
        train_feature_extractor(images, labels + 5, num_classes=2, steps=1)
    with pytest.raises(GanaugError, match="steps"):
        train_feature_extractor(images, labels, num_classes=2, steps=0)
    fe = train_feature_extractor(images, labels, num_classes=2, steps=1)
    with pytest.raises(GanaugError, match="channel"):
        fe.features(np.zeros((2, 3, 8, 8), dtype=np.uint8))

    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    torch.save({"config": Evil()}, tmp_path / "evil.pt")  # a pickle payload: weights_only refuses it
    with pytest.raises(GanaugError, match="not a ganaug feature extractor"):
        FeatureExtractor.load(tmp_path / "evil.pt")


def test_an_extractor_with_compressed_records_is_refused_before_loading(tmp_path):
    # torch.load inflates deflated records: a small "extractor" of zeros took its inflated size in memory, as
    # checkpoints did (tests/core/test_checkpoint_files.py).
    import zipfile

    images, labels = digits_8x8(5, 2)
    fe = train_feature_extractor(images, labels, num_classes=2, steps=1)
    fe.meta["padding"] = torch.zeros(1 << 20)  # 4 MiB of zeros, which deflate to almost nothing
    fe.save(tmp_path / "fe.pt")
    with zipfile.ZipFile(tmp_path / "fe.pt") as src, zipfile.ZipFile(tmp_path / "deflated.pt", "w") as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    assert (tmp_path / "deflated.pt").stat().st_size < (tmp_path / "fe.pt").stat().st_size / 4
    assert FeatureExtractor.load(tmp_path / "fe.pt").num_classes == 2  # the file as torch.save wrote it loads
    with pytest.raises(GanaugError, match=r"deflated.pt is not a ganaug feature extractor: it holds compressed rec"):
        FeatureExtractor.load(tmp_path / "deflated.pt")


def test_training_brings_only_each_batch_to_float(monkeypatch):
    # A float copy of every training image, for 64 of them a step: 2.4 GB for 48,000 64² colour images.
    from ganaug_core import features

    converted, real_to_float = [], features._to_float
    monkeypatch.setattr(features, "_to_float", lambda images: converted.append(len(images)) or real_to_float(images))
    images, labels = digits_8x8(100, 3)  # 300 images: more than one pass of predict_proba (256)
    train_feature_extractor(images, labels, num_classes=3, seed=0, steps=3, batch_size=16)
    assert converted == [16, 16, 16, 256, 44]  # three batches, then the accuracy's passes
