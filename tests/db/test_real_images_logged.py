"""The real training images under the decision log (`db.ingests`): an ingest records a digest of its real images'
rows; a row added to `real_images` or a file changed with its sha256 keeps every real image out of the gate and shows
in `audit verify`; a dataset ingested before has no record (its exports warn) until an admin seals it; a removal is
recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from db.engine import session_scope
from db.errors import DecisionError
from db.gate import REAL_ROWS_CHANGED, gated_training_set
from db.ingests import DIFFERS, NOT_COVERED, RECORDED, real_images_digest, seal_dataset
from db.models import Dataset, Event, RealImage, Sample
from db.replay import state_mismatches
from db.review import approve_batch, reject_sample
from tests.db.helpers import make_batch, make_dataset, png, sample_ids


def _gate(home, name="toy"):
    with session_scope() as s:
        return gated_training_set(s, name, 1.0, home=home)


def _mismatches():
    with session_scope() as s:
        return state_mismatches(s)


def test_an_ingest_records_the_digest_of_its_real_images(digits):
    with session_scope() as s:
        dataset = s.scalars(select(Dataset)).one()
        event = s.scalars(select(Event).where(Event.target_type == "dataset", Event.target_id == dataset.id)).one()
        images, digest = real_images_digest(s, dataset.id)
    assert event.action == "ingest" and event.role == "unsigned" and event.actor_id is None
    assert event.details == dict(dataset="digits", images=images, real_images_sha256=digest,
                                 class_names=[str(c) for c in range(10)]) and images > 100


def test_digits_gate_says_its_real_images_are_recorded(digits, home):
    gated = _gate(home, "digits")
    assert gated.real_images["standing"] == RECORDED and gated.summary()["real_images"]["event_id"] == 1
    assert not _mismatches()


def test_a_real_image_row_added_keeps_the_real_images_out(home, toy, people):
    """An insider lists a rejected sample's file as a real training image of class 1 (its sha256 right)."""
    with session_scope(immediate=True) as s:
        batch = make_batch(s, home, toy, n=3)
        bad = sample_ids(s, batch.id)[0]
        reject_sample(s, bad, people["rex"], reason="smudged")
        approve_batch(s, batch.id, people["rex"])
    assert _gate(home).real_images["standing"] == RECORDED
    with session_scope() as s:
        sample = s.get(Sample, bad)
        s.execute(insert(RealImage).values(dataset_id=toy.id, split="train", class_index=1, path=sample.path,
                                           sha256=sample.sha256, source_path="x"))
    gated = _gate(home)
    assert [e for e in gated.entries if e.source == "real"] == []  # the forged "real" image above all
    assert gated.excluded[REAL_ROWS_CHANGED] == 10 and gated.real_images["standing"] == DIFFERS
    assert all(e.sha256 != sample.sha256 for e in gated.entries)
    assert _mismatches() == [f"dataset {toy.id} ('toy')'s real images no longer match the digest its ingest (event 1) "
                             "recorded: a row of real_images was added, removed or changed"]


def test_a_real_file_changed_with_its_sha256_keeps_the_real_images_out(home, toy):
    with session_scope() as s:
        row = s.scalars(select(RealImage).where(RealImage.split == "train").order_by(RealImage.id)).first()
        sha = png(home / row.path, 999)  # other bytes in the file, and their sha256 in the row
        s.execute(update(RealImage).where(RealImage.id == row.id).values(sha256=sha))
    gated = _gate(home)
    assert gated.entries == [] and gated.excluded == {REAL_ROWS_CHANGED: 9}
    assert len(_mismatches()) == 1 and "real images no longer match" in _mismatches()[0]


def test_class_names_swapped_in_the_table_keep_the_real_images_out(home, toy):
    """One UPDATE of datasets.class_names, which the rows' digest does not cover: an export put class 1's images in
    a folder named after class 0 (its classes.csv too), and `audit verify` said ok."""
    with session_scope() as s:
        s.execute(update(Dataset).where(Dataset.id == toy.id).values(class_names=["c1", "c0"]))
    gated = _gate(home)
    assert gated.entries == [] and gated.real_images["standing"] == DIFFERS
    assert _mismatches() == [f"dataset {toy.id} ('toy')'s class names are ['c1', 'c0'] in the datasets table, but its "
                             "ingest (event 1) recorded ['c0', 'c1']"]


def test_a_test_image_moved_into_training_is_a_change_too(home, toy):
    with session_scope() as s:
        s.execute(update(RealImage).where(RealImage.split == "test").values(split="train"))
    assert _gate(home).real_images["standing"] == DIFFERS


def test_an_older_dataset_is_admitted_with_a_warning_until_an_admin_seals_it(home, db, people):
    with session_scope() as s:
        make_dataset(s, home, record=False)  # ingested before 2026-12-07: no event
    gated = _gate(home)
    assert gated.real_images == dict(standing=NOT_COVERED, event_id=None) and len(gated.entries) == 9
    assert not _mismatches()
    with session_scope(immediate=True) as s, pytest.raises(DecisionError, match="only admin may seal datasets"):
        seal_dataset(s, s.scalars(select(Dataset)).one(), people["rex"])
    with session_scope(immediate=True) as s:
        event = seal_dataset(s, s.scalars(select(Dataset)).one(), people["ada"], reason="checked against the source")
        event_id, actor = event.id, event.actor
    assert actor == "ada" and _gate(home).real_images == dict(standing=RECORDED, event_id=event_id)
    with session_scope(immediate=True) as s, pytest.raises(DecisionError, match=f"recorded already \\(event "
                                                                                 f"{event_id}, seal by ada\\)"):
        seal_dataset(s, s.scalars(select(Dataset)).one(), people["ada"])
    with session_scope() as s:  # sealed, a change shows as it does for an ingested dataset
        s.execute(update(RealImage).where(RealImage.id == 1).values(class_index=1))
    assert _gate(home).real_images["standing"] == DIFFERS and len(_mismatches()) == 1


def test_a_dataset_row_written_after_ingests_were_recorded_is_not_taken_for_an_older_one(home, toy, people):
    with session_scope() as s:
        forged = make_dataset(s, home, name="forged", record=False)
    gated = _gate(home, "forged")
    assert gated.entries == [] and gated.real_images["standing"] == DIFFERS
    assert _mismatches() == [f"dataset {forged.id} ('forged') was made after ingests were recorded, but the log holds "
                             "no ingest of it: its rows were written into the database directly"]
    with session_scope(immediate=True) as s, pytest.raises(DecisionError, match="written into the database directly"):
        seal_dataset(s, s.get(Dataset, forged.id), people["ada"])


def test_a_removal_is_recorded_and_an_ingested_dataset_can_still_be_removed(home, toy):
    from ganaug.datasets import remove_dataset

    with session_scope() as s:
        digest = real_images_digest(s, toy.id)[1]
    assert remove_dataset("toy")["images"] == 13
    with session_scope() as s:
        events = s.execute(select(Event.action, Event.details).where(Event.target_type == "dataset")
                           .order_by(Event.id)).all()
    assert [a for a, _ in events] == ["ingest", "remove_dataset"]
    assert events[1].details == dict(dataset="toy", images=13, real_images_sha256=digest, class_names=["c0", "c1"])
    assert not _mismatches()


def test_a_row_written_after_a_removal_is_not_sealed_under_the_removed_id(home, toy, people):
    from ganaug.datasets import remove_dataset

    remove_dataset("toy")
    with session_scope() as s:  # SQLite gives the removed id 1 out again; PostgreSQL's sequence the next one
        forged = make_dataset(s, home, name="again", record=False)
    assert _gate(home, "again").real_images["standing"] == DIFFERS and len(_mismatches()) == 1
    with session_scope(immediate=True) as s, pytest.raises(DecisionError, match="written into the database directly"):
        seal_dataset(s, s.get(Dataset, forged.id), people["ada"])


def test_the_gate_finds_twin_bytes_through_the_sha256_index(db):
    """0011: the grouping of samples by their bytes (`db.gate.kept_out_bytes`) reads the index, not the table."""
    from sqlalchemy import inspect

    from db.engine import get_engine

    engine = get_engine()
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("samples")}
    assert indexes["ix_samples_sha256_batch"] == ["sha256", "batch_id"]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT sha256 FROM samples GROUP BY sha256 HAVING count(DISTINCT batch_id) > 1"))
        assert "COVERING INDEX ix_samples_sha256_batch" in plan, plan
