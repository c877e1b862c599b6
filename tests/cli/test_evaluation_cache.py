"""What a process keeps between batches (ganaug/domain_models.py): the real training features and the pixel copy
check's real side, per dataset and generator side, rebuilt when the dataset's images differ."""

from __future__ import annotations

import numpy as np

from ganaug import domain_models, evaluation
from ganaug_core.metrics import pixel_copies
from tests.cli.test_evaluate_cli import insert_batch


def _ingest(tmp_path, name: str, invert: bool) -> np.ndarray:
    """A two-class 8×8 dataset (inverted: the same digits, other pixels); returns its class-1 training images."""
    from sklearn.datasets import load_digits

    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    d = load_digits()
    arrays = {}
    for split, (lo, hi) in {"train": (0, 16), "test": (16, 20)}.items():
        keep = np.concatenate([np.flatnonzero(d.target == c)[lo:hi] for c in range(2)])
        images = (d.images[keep] * (255 / 16)).round().astype(np.uint8)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = 255 - images if invert else images, d.target[keep]
    np.savez(tmp_path / f"{name}.npz", **arrays)
    ingest_dataset(str(tmp_path / f"{name}.npz"), name, IngestOptions(resolution=8, workers=1))
    return arrays["train_images"][arrays["train_labels"] == 1][:, None]


def test_batches_of_one_dataset_prepare_the_real_side_once_another_dataset_its_own(home, tmp_path, monkeypatch):
    real_prepare, built = pixel_copies.prepare_real, []
    monkeypatch.setattr(domain_models, "_pixel_banks", {})
    monkeypatch.setattr(pixel_copies, "prepare_real", lambda x: built.append(len(x)) or real_prepare(x))
    copies = {name: _ingest(tmp_path, name, invert) for name, invert in [("plain", False), ("inverted", True)]}
    for name in copies:
        evaluation.ensure_feature_extractor(name, steps=5)
    first = evaluation.batch_metrics(insert_batch("plain", copies["plain"][:4], 1))
    again = evaluation.batch_metrics(insert_batch("plain", copies["plain"][4:8], 1))
    assert built == [32]  # once for both batches
    assert first["overall"]["pixel_copies"]["copies"] == again["overall"]["pixel_copies"]["copies"] == 4
    # Another dataset's images: its own real side, found copies of its own images, and only the last one kept.
    other = evaluation.batch_metrics(insert_batch("inverted", copies["inverted"][:4], 1))
    assert built == [32, 32] and other["overall"]["pixel_copies"]["copies"] == 4
    assert len(domain_models._pixel_banks) == 1
    # A generator below the dataset's side sees the real images through its own side: a real side of its own.
    evaluation.batch_metrics(insert_batch("inverted", copies["inverted"][:4], 1, gen_side=4))
    assert built == [32, 32, 32]


def test_the_real_features_kept_are_the_last_few_used(monkeypatch):
    """A worker scoring batches of many datasets kept every dataset's training features for ever; now the
    FEATURES_KEPT last used only, and one used again is not computed again."""
    from types import SimpleNamespace

    computed = []

    class Extractor:
        def features(self, images):
            computed.append(int(images[0, 0, 0, 0]))
            return np.zeros((len(images), 4), np.float32)

    monkeypatch.setattr(domain_models, "_real_features", {})
    monkeypatch.setattr(domain_models, "extractor_sha", lambda path: "extractor")
    images = {n: np.full((3, 1, 8, 8), n, np.uint8) for n in range(6)}

    def features(n):
        row = SimpleNamespace(arrays_sha256=f"dataset {n}", resolution=8)
        return domain_models.train_features(f"d{n}", Extractor(), None, row, images[n])

    for n in range(domain_models.FEATURES_KEPT):
        features(n)
    features(0)  # used again: kept, and now the last used
    assert computed == list(range(domain_models.FEATURES_KEPT))
    for n in range(domain_models.FEATURES_KEPT, 6):
        features(n)
    assert len(domain_models._real_features) == domain_models.FEATURES_KEPT
    features(5)
    features(0)  # dropped by the later datasets: computed again
    assert computed == [*range(domain_models.FEATURES_KEPT), *range(domain_models.FEATURES_KEPT, 6), 0]
