"""Recorded exports: an event the chain covers, that `list_exports` reads back and that the gate passes over."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.audit import filter_values, verify_chain
from db.datasets import UnknownDataset
from db.engine import session_scope
from db.errors import DecisionError
from db.exports import count_exports, list_exports, record_export
from db.gate import gated_training_set
from db.models import Event
from db.replay import replay, state_mismatches
from db.review import approve_batch, reject_sample, tag_sample
from tests.db.helpers import make_batch, make_dataset, sample_ids


def _summary(session, home, dataset: str = "toy", folder: str = "/exports/one") -> dict:
    return {**gated_training_set(session, dataset, 1.0, home=home).summary(), "out": folder}


def test_an_export_event_changes_nothing_the_gate_admits_and_the_chain_covers_it(db, home, toy, people):
    with session_scope(immediate=True) as s:
        b = make_batch(s, home, toy, n=3).id
        ids = sample_ids(s, b)
        reject_sample(s, ids[0], people["rex"], "smudge")
        tag_sample(s, ids[1], "blur", people["rex"])
        approve_batch(s, b, people["rex"])
    with session_scope() as s:
        before, state = gated_training_set(s, "toy", 1.0, home=home), replay(s)
    with session_scope(immediate=True) as s:
        event = record_export(s, people["rex"], {**before.summary(), "out": "/exports/one"})
    with session_scope() as s:
        after, state_after = gated_training_set(s, "toy", 1.0, home=home), replay(s)
        assert verify_chain(s).ok and state_mismatches(s) == []
    assert after.entries == before.entries and after.manifest_sha256 == before.manifest_sha256
    assert after.log_head == {"events": before.log_head["events"] + 1, "hash": event.hash}
    assert (state_after.status, state_after.rejected, state_after.tags) == (state.status, state.rejected, state.tags)
    assert state_after.approvals.keys() == state.approvals.keys()
    assert event.action == "export" and event.target_type == "dataset" and event.target_id == toy.id
    assert event.details["counts"] == {"0": {"real": 6, "synthetic": 0}, "1": {"real": 3, "synthetic": 1}}
    assert event.details["log_head"] == before.log_head and event.details["folder"] == "/exports/one"
    assert "dataset 'toy' left the system: 10 images (9 real, 1 approved synthetic)" in event.meaning
    assert before.manifest_sha256 in event.meaning


def test_list_exports_newest_first_and_by_dataset(db, home, toy, people):
    with session_scope() as s:
        make_dataset(s, home, name="other")
    with session_scope(immediate=True) as s:
        first = record_export(s, people["rex"], _summary(s, home, folder="/exports/a")).id
        record_export(s, people["ada"], _summary(s, home, "other", folder="/exports/b"))
        third = record_export(s, people["ada"], {**_summary(s, home, folder="/exports/c"), "synthetic_ratio": 2.0}).id
    with session_scope() as s:
        rows = list_exports(s)
        assert [(r["dataset"], r["actor"], r["folder"]) for r in rows] == [
            ("toy", "ada", "/exports/c"), ("other", "ada", "/exports/b"), ("toy", "rex", "/exports/a")]
        assert [r["id"] for r in list_exports(s, dataset="toy")] == [third, first]
        assert list_exports(s, limit=1)[0]["id"] == third
        assert (count_exports(s), count_exports(s, "toy"), count_exports(s, "other")) == (3, 2, 1)  # what a cut left
        row = rows[0]
        assert (row["images"], row["real"], row["synthetic"], row["ratio"]) == (9, 9, 0, 2.0)
        assert row["log_head_events"] == 2 + 4 + 2 and len(row["log_head"]) == 64  # 2 ingests, 4 accounts, 2 exports
        with pytest.raises(UnknownDataset):
            list_exports(s, dataset="nope")
        assert "export" in filter_values(s, "action") and "dataset" in filter_values(s, "target_type")


def test_a_disabled_account_cannot_record_an_export(db, home, toy, people):
    with session_scope(immediate=True) as s, pytest.raises(DecisionError, match="disabled"):
        record_export(s, people["dan"], _summary(s, home))
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.action == "export")) == 0


def test_a_removal_of_the_dataset_cannot_slip_between_an_exports_read_and_its_record(db, home, toy, people,
                                                                                      monkeypatch):
    """`record_export` takes the decision log's lock before it reads the dataset, and `data remove` takes it first
    too: a removal that comes once the export has read the dataset waits for the export, sees it, and refuses. Read
    before the lock (on PostgreSQL, whose lock is the log's advisory lock), the removal deleted the dataset in
    between and the export was recorded of a dataset that no longer existed. (On SQLite both transactions hold the
    write lock from BEGIN IMMEDIATE, which serializes them whatever the order inside.)"""
    import threading

    from sqlalchemy import event, text

    import db.exports
    from db.engine import get_engine
    from db.models import Dataset
    from ganaug.datasets import remove_dataset
    from ganaug_core.errors import GanaugError

    with session_scope() as s:
        summary = _summary(s, home)
    engine = get_engine()
    read, removal_ended, removal_begun = threading.Event(), threading.Event(), threading.Event()
    outcome: dict = {}

    def removal_waits() -> bool:
        """The removal waits for a lock the export holds (and goes on only once the export commits)."""
        if engine.dialect.name == "sqlite":
            return removal_begun.is_set()  # its BEGIN IMMEDIATE waits for the export's write lock
        with engine.connect() as conn:
            return bool(conn.scalar(text("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                                         "WHERE d.datname = current_database() AND l.locktype = 'advisory' "
                                         "AND NOT l.granted")))

    def begins(conn, cursor, statement, *args):
        if threading.current_thread().name == "removal" and statement.startswith("BEGIN IMMEDIATE"):
            removal_begun.set()

    real_get_dataset = db.exports.get_dataset

    def reads_then_lets_the_removal_come(session, name):
        dataset = real_get_dataset(session, name)
        read.set()
        for _ in range(6000):  # until the removal ended, or waits for this export: no fixed sleep decides it
            if removal_ended.is_set() or removal_waits():
                break
            removal_ended.wait(0.01)
        return dataset

    def export() -> None:
        try:
            with session_scope(immediate=True) as s:
                outcome["export"] = record_export(s, people["rex"], summary).target_id
        except Exception as e:
            outcome["export"] = e

    def removal() -> None:
        read.wait(60)
        try:
            outcome["removal"] = remove_dataset("toy")
        except Exception as e:
            outcome["removal"] = e
        finally:
            removal_ended.set()

    monkeypatch.setattr(db.exports, "get_dataset", reads_then_lets_the_removal_come)
    event.listen(engine, "before_cursor_execute", begins)
    threads = [threading.Thread(target=export, name="export"), threading.Thread(target=removal, name="removal")]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        event.remove(engine, "before_cursor_execute", begins)
    assert outcome["export"] == toy.id, outcome
    assert isinstance(outcome["removal"], GanaugError), outcome  # it saw the export, and refused
    refused = str(outcome["removal"])
    assert "dataset 'toy' is not removed" in refused and "the decision log's event" in refused
    with session_scope() as s:
        assert s.get(Dataset, toy.id) is not None and [e["dataset_id"] for e in list_exports(s)] == [toy.id]
