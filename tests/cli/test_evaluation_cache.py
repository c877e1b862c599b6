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


def test_the_real_features_kept_are_the_last_few_used(home, monkeypatch):
    """A worker scoring batches of many datasets kept every dataset's training features for ever; now the
    FEATURES_KEPT last used only, and one used again is not computed again (one no longer kept in memory is read
    back from the dataset's models folder)."""
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
    features(0)  # dropped by the later datasets: read back from disk, not computed again
    assert computed == [*range(domain_models.FEATURES_KEPT), *range(domain_models.FEATURES_KEPT, 6)]


def _counting_reads(monkeypatch) -> list[str]:
    """Every read of a dataset's arrays.npz (`dataset_arrays` hashes the whole file, then loads it)."""
    from ganaug import datasets

    reads, real_load = [], datasets.load_arrays
    monkeypatch.setattr(datasets, "load_arrays", lambda folder, names: reads.append(folder.name) or real_load(folder, names))
    return reads


def _cheap_map(monkeypatch) -> None:
    """A map fitted without UMAP (whose numba compiles for ~30 s): these tests count reads, not the layout."""
    from ganaug_core import embedding

    monkeypatch.setattr(embedding, "fit_embedding", lambda features, seed=0, progress=None: embedding.Embedding(
        np.asarray(features, np.float32), np.asarray(features[:, :2], np.float32), 5))


def test_measuring_a_batch_reads_the_dataset_arrays_once(home, tmp_path, monkeypatch):
    """Scoring and metrics each read arrays.npz, and the feature extractor and the map once more each: six reads
    (and sha256s) of 737 MB per batch for a dataset of 60,000 64² images."""
    copies = _ingest(tmp_path, "plain", invert=False)
    evaluation.ensure_feature_extractor("plain", steps=5)
    _cheap_map(monkeypatch)
    batch = insert_batch("plain", copies[:4], 1)
    reads = _counting_reads(monkeypatch)
    scores, metrics = evaluation.measure_batch(batch)
    assert reads == ["plain"]
    assert scores["memorized"] == 4 and metrics["overall"]["pixel_copies"]["copies"] == 4


def test_a_samples_nearest_real_images_read_only_those_images(home, tmp_path, monkeypatch):
    """The Review page asks for the nearest real images of the sample a reviewer opens: that read the whole
    arrays.npz twice and every image row (7.5 s and 1.7 GB for 60,000 64² images); now only the k PNGs."""
    from sqlalchemy import select

    from db.engine import session_scope
    from db.models import Sample

    copies = _ingest(tmp_path, "plain", invert=False)
    evaluation.ensure_feature_extractor("plain", steps=5)
    _cheap_map(monkeypatch)
    batch = insert_batch("plain", copies[:2], 1)
    evaluation.score_batch(batch)
    with session_scope() as s:
        sample = s.scalars(select(Sample).where(Sample.batch_id == batch).order_by(Sample.id)).first()
        copied_id = sample.nn_real_ids[0]
    reads = _counting_reads(monkeypatch)
    nearest = evaluation.nearest_real_images(sample.id, k=3)
    assert reads == []
    assert nearest[0]["real_image_id"] == copied_id and nearest[0]["distance"] == 0.0
    assert len(nearest) == 3 and [n["distance"] for n in nearest] == sorted(n["distance"] for n in nearest)


def test_the_training_features_radii_are_computed_once_for_the_batches_of_a_dataset(home, tmp_path, monkeypatch):
    """Each batch's authenticity measured every training feature's distance to its nearest other: 75 s per batch for
    48,000 training images on 2 cores, in a worker that scores batch after batch of one dataset."""
    from ganaug_core.metrics import authenticity, neighbours

    copies = _ingest(tmp_path, "plain", invert=False)
    evaluation.ensure_feature_extractor("plain", steps=5)
    _cheap_map(monkeypatch)
    monkeypatch.setattr(domain_models, "_real_radii", {})
    measured, real_radii = [], neighbours.kth_neighbour_radii
    counting = lambda x, k: measured.append(len(x)) or real_radii(x, k)  # noqa: E731
    monkeypatch.setattr(neighbours, "kth_neighbour_radii", counting)
    monkeypatch.setattr(authenticity, "kth_neighbour_radii", counting)
    first = evaluation.score_batch(insert_batch("plain", copies[:2], 1))
    again = evaluation.score_batch(insert_batch("plain", copies[2:4], 1))
    assert measured.count(32) == 1  # the 32 training images' radii, once for both batches
    assert first["memorized"] == again["memorized"] == 2
