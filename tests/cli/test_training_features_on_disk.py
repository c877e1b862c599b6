"""The training features and their radii are kept beside the feature extractor: a second `evaluate batch` in a new
process computed 48,000 training images' features and radii again (≈ 4 min), where the worker kept them in memory."""

from __future__ import annotations

import numpy as np

from ganaug import domain_models, evaluation
from ganaug_core import paths
from ganaug_core.features import FeatureExtractor
from ganaug_core.metrics import authenticity, neighbours
from tests.cli.test_evaluate_cli import insert_batch
from tests.cli.test_evaluation_cache import _cheap_map, _ingest

TRAIN = 32  # training images of the dataset _ingest makes


def _counting(monkeypatch) -> dict[str, int]:
    """How often the training side's features and radii are computed (the samples' own features aside)."""
    counts = {"features": 0, "radii": 0}
    real_features, real_radii = FeatureExtractor.features, neighbours.kth_neighbour_radii

    def features(self, images, *args, **kwargs):
        counts["features"] += len(images) == TRAIN
        return real_features(self, images, *args, **kwargs)

    def radii(x, k):
        counts["radii"] += len(x) == TRAIN
        return real_radii(x, k)

    monkeypatch.setattr(FeatureExtractor, "features", features)
    monkeypatch.setattr(neighbours, "kth_neighbour_radii", radii)
    monkeypatch.setattr(authenticity, "kth_neighbour_radii", radii)
    return counts


def _training_side(dataset: str) -> np.ndarray:
    """The training features and radii as scoring a batch of a generator at the dataset's side gets them."""
    from ganaug.datasets import dataset_arrays

    row, arrays = dataset_arrays(dataset)
    extractor, path = domain_models.ensure_feature_extractor(dataset)
    features = domain_models.train_features(dataset, extractor, path, row, arrays.split("train")[0])
    domain_models.train_radii(path, row, features)
    return features


def _new_process(monkeypatch) -> None:
    """What a new process starts with: nothing kept in memory (the extractor itself is read from its file)."""
    for kept in ("_real_features", "_real_radii", "_extractors"):
        monkeypatch.setattr(domain_models, kept, {})


def test_a_new_process_reads_the_training_features_and_radii_a_tampered_file_or_another_extractor_does_not(
        home, tmp_path, monkeypatch):
    copies = _ingest(tmp_path, "plain", invert=False)
    evaluation.ensure_feature_extractor("plain", steps=5)
    _cheap_map(monkeypatch)
    counts = _counting(monkeypatch)
    _new_process(monkeypatch)  # an earlier test's dataset of the same bytes may have left its features in memory
    first = evaluation.score_batch(insert_batch("plain", copies[:2], 1))
    assert counts == {"features": 1, "radii": 1}

    _new_process(monkeypatch)
    again = evaluation.score_batch(insert_batch("plain", copies[:2], 1))
    assert counts == {"features": 1, "radii": 1}  # read from disk, not computed
    assert (again["memorized"], again["mean_realism"]) == (first["memorized"], first["mean_realism"])

    # A file that no longer matches its record is computed again (and stored right), never trusted.
    folder = paths.models_dir() / "plain"
    stored = np.load(folder / "train_features-8.npy", allow_pickle=False)
    np.save(folder / "train_features-8.npy", stored + 1)
    _new_process(monkeypatch)
    assert np.array_equal(_training_side("plain"), stored)
    assert counts == {"features": 2, "radii": 1}
    assert np.array_equal(np.load(folder / "train_features-8.npy", allow_pickle=False), stored)

    # Another extractor (trained anew, another sha256) does not reuse the features of the first.
    for name in ("feature_extractor.pt", "feature_extractor.json"):
        (folder / name).unlink()
    evaluation.ensure_feature_extractor("plain", steps=6)
    _new_process(monkeypatch)
    assert not np.array_equal(_training_side("plain"), stored)
    assert counts == {"features": 3, "radii": 2}


def test_a_batchs_metrics_read_the_training_radii_kept_for_its_scores(home, tmp_path, monkeypatch):
    """The metrics' authenticity measured every training feature's distance to its nearest other again, for the
    batch and again for its class (75 s each for 48,000 training images), though its scores had just kept them."""
    copies = _ingest(tmp_path, "plain", invert=False)
    evaluation.ensure_feature_extractor("plain", steps=5)
    _cheap_map(monkeypatch)
    counts = _counting(monkeypatch)
    _new_process(monkeypatch)
    scores, metrics = evaluation.measure_batch(insert_batch("plain", copies[:4], 1))
    assert counts["radii"] == 1
    assert metrics["overall"]["authenticity"]["copies"] == 4 == scores["memorized"]
