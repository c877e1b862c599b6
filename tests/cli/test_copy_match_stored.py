"""`evaluate batch` stores why each memorized sample was flagged, its parts named by their real image ids, so the
Review page (and an auditor later) reads which training images a blend or a shifted copy came from."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Batch, Sample
from ganaug import domain_models, evaluation
from ganaug.datasets import dataset_arrays, ingest_dataset
from ganaug_core.datasets import IngestOptions
from tests.cli.test_evaluate_cli import insert_batch


class _FlatMap:
    """The embedding's place: UMAP's first fit compiles for ~30 s, and the map is not what this test reads."""

    def transform(self, features):
        return np.zeros((len(features), 2))


def test_a_blend_and_a_shifted_copy_are_stored_with_their_real_image_ids(home, monkeypatch):
    ingest_dataset("demo:digits", "d8", IngestOptions(resolution=8))  # 8×8: the digits as scanned
    row, arrays = dataset_arrays("d8")
    x, y = arrays.split("train")
    a, b = int(np.flatnonzero(y == 9)[0]), int(np.flatnonzero(y == 3)[0])
    f = x.astype(np.float32)
    blend = np.round(0.5 * f[a] + 0.5 * f[b]).astype(np.uint8)
    shifted = np.pad(x[a + 1], ((0, 0), (1, 0), (0, 0)), mode="edge")[:, :-1]  # one pixel down
    batch = insert_batch("d8", np.stack([blend, shifted]), 9)
    evaluation.ensure_feature_extractor("d8", steps=20)  # short training; score_batch reuses it
    monkeypatch.setattr(evaluation, "fitted_embedding", lambda dataset, progress, arrays=None: (_FlatMap(), None))
    evaluation.score_batch(batch)
    with session_scope() as session:
        ids = domain_models.train_ids(session, row, arrays)
        rows = session.scalars(select(Sample).where(Sample.batch_id == batch).order_by(Sample.id)).all()
        stored = [(s.memorized, s.copy_match, s.nn_real_ids) for s in rows]
    (mem_blend, match_blend, nn_blend), (mem_shift, match_shift, _) = stored
    assert mem_blend and match_blend["kind"] == "blend"
    assert sorted(match_blend["parts"]) == sorted([int(ids[a]), int(ids[b])])
    assert nn_blend[:2] == match_blend["parts"]  # both parts shown first on the Review page
    assert sum(match_blend["weights"]) == 1.0 and abs(match_blend["weights"][0] - 0.5) < 0.05
    assert mem_shift and match_shift["kind"] == "copy" and match_shift["parts"] == [int(ids[a + 1])]
    assert match_shift["shift"] == [0, 1] and match_shift["mirrored"] is None


def test_a_stop_asked_while_the_copy_check_runs_stops_the_scoring_with_nothing_written(home, monkeypatch):
    # The copy check, asked nothing, ran to its end after a Cancel: ≈ 130 s for 200 samples against 50,000 images.
    from ganaug_core.metrics import pixel_copies

    ingest_dataset("demo:digits", "d8", IngestOptions(resolution=8))
    _, arrays = dataset_arrays("d8")
    x, _ = arrays.split("train")
    batch = insert_batch("d8", x[:3], 9)
    evaluation.ensure_feature_extractor("d8", steps=2)  # scoring needs one, not a good one
    monkeypatch.setattr(evaluation, "fitted_embedding", lambda dataset, progress, arrays=None: (_FlatMap(), None))
    searching, aligned = [], []
    shortlist, align = pixel_copies._shortlist, pixel_copies._aligned
    monkeypatch.setattr(pixel_copies, "_shortlist", lambda *a, **k: searching.append(1) or shortlist(*a, **k))
    monkeypatch.setattr(pixel_copies, "_aligned", lambda *a, **k: aligned.append(1) or align(*a, **k))
    with pytest.raises(evaluation.ScoringStopped, match=f"batch {batch} was not scored: none of its scores were stored"):
        evaluation.score_batch(batch, should_stop=lambda: bool(searching))  # Cancel once the check has begun
    assert aligned == []  # the check stopped in its candidate search
    with session_scope() as session:
        rows = session.scalars(select(Sample).where(Sample.batch_id == batch)).all()
        assert [(s.realism, s.copy_match) for s in rows] == [(None, None)] * 3
        assert not session.get(Batch, batch).scores_computed
