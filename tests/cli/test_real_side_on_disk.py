"""The rest of the real side a batch is measured against is kept on disk too, and everything kept follows the code
that computes it: a new process prepared the pixel copy check's training images again (3 s at 9,600 64² ones)
and each batch's metrics computed the held-out images' features again; and the stored features were keyed by the
extractor's sha256 alone, so a change to the feature code would have been answered with stale features."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from ganaug import domain_models, evaluation
from ganaug_core import paths, rescale
from ganaug_core.features import FeatureExtractor
from ganaug_core.metrics import neighbours, pixel_align, pixel_copies, pixel_crops
from tests.cli.test_evaluate_cli import insert_batch
from tests.cli.test_evaluation_cache import _cheap_map, _ingest
from tests.cli.test_training_features_on_disk import TRAIN, _counting, _new_process

HELD_OUT = 8  # test images of the dataset _ingest makes (it has no 'val' split: the metrics hold out 'test')


def _new_process_and_bank(monkeypatch) -> None:
    _new_process(monkeypatch)
    monkeypatch.setattr(domain_models, "_pixel_banks", {})


def _counting_banks(monkeypatch) -> list[int]:
    prepared, real_prepare = [], pixel_copies.prepare_real
    monkeypatch.setattr(pixel_copies, "prepare_real", lambda x: prepared.append(len(x)) or real_prepare(x))
    return prepared


def _other_code(monkeypatch, changed: tuple) -> None:
    """As if the files `changed` (FEATURE_CODE or PIXEL_CODE) had been edited."""
    real = domain_models.code_digest
    monkeypatch.setattr(domain_models, "code_digest",
                        lambda files: real(files) + ("-edited" if files == changed else ""))


def test_a_new_process_reads_the_pixel_checks_real_side_a_tampered_or_stale_one_is_prepared_again(
        home, tmp_path, monkeypatch):
    copies = _ingest(tmp_path, "plain", invert=False)
    evaluation.ensure_feature_extractor("plain", steps=5)
    _cheap_map(monkeypatch)
    prepared = _counting_banks(monkeypatch)
    _new_process_and_bank(monkeypatch)
    first = evaluation.score_batch(insert_batch("plain", copies[:2], 1))
    assert prepared == [TRAIN]
    folder = paths.models_dir() / "plain"
    stored = {part: np.load(folder / f"pixel_bank-8-{part}.npy", allow_pickle=False) for part in ("images", "coarse")}

    _new_process_and_bank(monkeypatch)
    again = evaluation.score_batch(insert_batch("plain", copies[:2], 1))
    assert prepared == [TRAIN]  # read from disk, not prepared
    assert (again["memorized"], again["exact_copies"]) == (first["memorized"], first["exact_copies"]) == (2, 2)
    bank = domain_models._pixel_banks[next(iter(domain_models._pixel_banks))]
    assert np.array_equal(bank.images, stored["images"]) and np.array_equal(bank.coarse, stored["coarse"])

    # A file that no longer matches its record is prepared again (and stored right), never trusted.
    np.save(folder / "pixel_bank-8-coarse.npy", stored["coarse"] * 0)
    _new_process_and_bank(monkeypatch)
    assert evaluation.score_batch(insert_batch("plain", copies[:2], 1))["memorized"] == 2
    assert prepared == [TRAIN, TRAIN]
    assert np.array_equal(np.load(folder / "pixel_bank-8-coarse.npy", allow_pickle=False), stored["coarse"])

    # An edit of the pixel check's code makes it stale: prepared again, and the training features are still read.
    counts = _counting(monkeypatch)
    _other_code(monkeypatch, domain_models.PIXEL_CODE)
    _new_process_and_bank(monkeypatch)
    evaluation.score_batch(insert_batch("plain", copies[:2], 1))
    assert prepared == [TRAIN, TRAIN, TRAIN] and counts == {"features": 0, "radii": 0}


def test_the_held_out_features_are_kept_like_the_training_features(home, tmp_path, monkeypatch):
    copies = _ingest(tmp_path, "plain", invert=False)
    evaluation.ensure_feature_extractor("plain", steps=5)
    _cheap_map(monkeypatch)
    held_out, real_features = [], FeatureExtractor.features
    monkeypatch.setattr(FeatureExtractor, "features", lambda self, images, *a, **k: (
        held_out.append(len(images)) if len(images) == HELD_OUT else None) or real_features(self, images, *a, **k))
    _new_process(monkeypatch)
    first = evaluation.batch_metrics(insert_batch("plain", copies[:4], 1))
    assert held_out == [HELD_OUT]
    _new_process(monkeypatch)
    again = evaluation.batch_metrics(insert_batch("plain", copies[:4], 1))
    assert held_out == [HELD_OUT]  # read from disk
    assert again["reference"] == first["reference"] and again["overall"]["dcr"] == first["overall"]["dcr"]
    assert (paths.models_dir() / "plain" / "test_features-8.npy").is_file()

    _other_code(monkeypatch, domain_models.FEATURE_CODE)
    _new_process(monkeypatch)
    assert evaluation.batch_metrics(insert_batch("plain", copies[:4], 1))["reference"] == first["reference"]
    assert held_out == [HELD_OUT, HELD_OUT]


def test_the_stored_features_radii_and_map_follow_the_feature_code(home, tmp_path, monkeypatch):
    copies = _ingest(tmp_path, "plain", invert=False)
    evaluation.ensure_feature_extractor("plain", steps=5)
    _cheap_map(monkeypatch)
    from ganaug_core import embedding

    fits, real_fit = [], embedding.fit_embedding
    monkeypatch.setattr(embedding, "fit_embedding", lambda features, **k: fits.append(len(features)) or real_fit(
        features, **k))
    counts = _counting(monkeypatch)
    _new_process(monkeypatch)
    evaluation.score_batch(insert_batch("plain", copies[:2], 1))
    assert counts == {"features": 1, "radii": 1} and fits == [TRAIN]
    _new_process(monkeypatch)
    evaluation.score_batch(insert_batch("plain", copies[:2], 1))
    assert counts == {"features": 1, "radii": 1} and fits == [TRAIN]

    _other_code(monkeypatch, domain_models.FEATURE_CODE)  # as after an edit of the feature code
    _new_process(monkeypatch)
    evaluation.score_batch(insert_batch("plain", copies[:2], 1))
    assert counts == {"features": 2, "radii": 2} and fits == [TRAIN, TRAIN]
    record = domain_models._read_record(paths.models_dir() / "plain" / "train_features-8.json")
    assert record["feature_code"] == domain_models.code_digest(domain_models.FEATURE_CODE)


def test_the_code_digests_cover_the_code_that_computes_what_is_kept():
    root = Path(paths.__file__).resolve().parent.parent

    def source(obj) -> str:
        return Path(inspect.getsourcefile(obj)).resolve().relative_to(root).as_posix()

    for obj in (FeatureExtractor, rescale.as_generated, neighbours.kth_neighbour_radii):
        assert source(obj) in domain_models.FEATURE_CODE
    for obj in (rescale.as_generated, pixel_copies.prepare_real, pixel_align._prepare, pixel_crops._crop):
        assert source(obj) in domain_models.PIXEL_CODE
    digest = domain_models.code_digest(domain_models.FEATURE_CODE)
    assert digest != domain_models.code_digest(domain_models.FEATURE_CODE[:-1])
