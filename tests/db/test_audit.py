"""The decision log: append-only in the database, every alteration found by `verify_chain`, no forks."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from db.audit import GENESIS_HASH, list_events, record_event, verify_chain
from db.engine import dispose_engines, get_engine, session_scope
from db.models import Event
from db.review import tag_sample, untag_sample
from db.tags import add_tag
from tests.db.helpers import make_batch, sample_ids

# Raw edits of the database file: these cases are about SQLite itself.
SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def _some_decisions(home, toy, people, n=3) -> list[int]:
    with session_scope() as s:
        b = make_batch(s, home, toy, n=2).id
    ids = []
    with session_scope(immediate=True) as s:
        sid = sample_ids(s, b)[0]
        for i in range(n):
            ev = tag_sample(s, sid, "blur", people["rex"], reason=f"reason-{i}-XYZZY")
            ids.append(ev.id)
            ids.append(untag_sample(s, sid, "blur", people["rex"]).id)
    return ids


def test_chain_links_every_event_to_the_one_before(home, toy, people):
    _some_decisions(home, toy, people)
    with session_scope() as s:
        events = list(reversed(list_events(s, limit=1000)))
        assert events[0].prev_hash == GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
        report = verify_chain(s)
    assert report.ok and report.checked == len(events) and report.head_hash == events[-1].hash
    assert report.first_broken_id is None


def test_update_and_delete_on_the_log_are_refused_by_the_database(db, home, toy, people):
    _some_decisions(home, toy, people)
    statements = ["UPDATE events SET reason = 'rewritten' WHERE id = 2", "DELETE FROM events WHERE id = 2"]
    if db.startswith("postgresql"):
        statements += ["TRUNCATE events CASCADE",
                       "INSERT INTO events SELECT * FROM events WHERE id = 2 ON CONFLICT (id) DO UPDATE SET reason = 'x'"]
    else:  # REPLACE deletes the old row without firing DELETE triggers: only 0005's trigger stops it
        statements.append("INSERT OR REPLACE INTO events SELECT * FROM events WHERE id = 2")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            with session_scope() as s:
                s.execute(text(statement))
    with session_scope() as s:
        assert verify_chain(s).ok


@SQLITE_ONLY
def test_sqlite_refuses_edits_from_a_plain_sqlite3_connection(home, toy, people):
    _some_decisions(home, toy, people)
    con = sqlite3.connect(home / "ganaug.db")
    for statement in ("UPDATE events SET actor = 'mallory'", "DELETE FROM events",
                      "INSERT OR REPLACE INTO events SELECT * FROM events WHERE id = 1"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(statement)
    con.close()


@SQLITE_ONLY
def test_row_altered_with_triggers_dropped_is_found(home, toy, people):
    ids = _some_decisions(home, toy, people)
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")
    con.execute("DROP TRIGGER events_no_update")
    con.execute("UPDATE events SET reason = 'nothing to see' WHERE id = ?", (ids[2],))
    con.commit()
    con.close()
    with session_scope() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_broken_id == ids[2]
    assert f"event {ids[2]}" in report.message and "altered" in report.message
    assert report.checked == ids[2] - 1


@SQLITE_ONLY
def test_bytes_changed_in_the_database_file_are_found(home, toy, people):
    ids = _some_decisions(home, toy, people)
    dispose_engines()  # closing the last connection checkpoints the WAL into the main file
    path = home / "ganaug.db"
    data = path.read_bytes()
    assert data.count(b"reason-1-XYZZY") == 1
    path.write_bytes(data.replace(b"reason-1-XYZZY", b"reason-1-ABCDE"))
    with session_scope() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_broken_id == ids[2]


@SQLITE_ONLY
def test_deleted_row_breaks_the_link_of_the_next(home, toy, people):
    ids = _some_decisions(home, toy, people)
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")
    con.execute("DROP TRIGGER events_no_delete")
    con.execute("DELETE FROM events WHERE id = ?", (ids[1],))
    con.commit()
    con.close()
    with session_scope() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_broken_id == ids[2] and "does not follow" in report.message


def test_a_fork_is_impossible(db, people):
    with session_scope(immediate=True) as s:
        first = record_event(s, people["ada"], "note", "user", 1, "test")
    with pytest.raises(IntegrityError):
        with session_scope() as s:
            e = Event(ts=first.ts, actor="x", role="admin", action="note", target_type="user", target_id=1,
                      meaning="fork", details={}, prev_hash=first.prev_hash, hash="f" * 64)
            s.add(e)
            s.flush()


def test_list_events_filters(home, toy, people):
    _some_decisions(home, toy, people, n=2)
    with session_scope() as s:
        assert [e.action for e in list_events(s, action="tag")] == ["tag", "tag"]
        assert {e.actor for e in list_events(s, actor="rex")} == {"rex"}
        assert len(list_events(s, target_type="user")) == 4  # 3 accounts created, 1 disabled
        assert len(list_events(s, since="2000-01-01")) == len(list_events(s))
        assert list_events(s, since="2999-01-01T00:00:00") == []


@SQLITE_ONLY
def test_old_database_file_is_upgraded_with_its_log_intact(db, home):
    """A database at the initial schema with events in it gains migration 0002 and still verifies."""
    from db.migrate import current_revision, head_revision, upgrade

    url = f"sqlite:///{home / 'old.db'}"
    engine = get_engine(url, migrate=False)
    upgrade(engine, "0001")
    from db.users import add_user

    with session_scope(url, immediate=True) as s:
        ada = add_user(s, "ada", "ada-password", role="admin")
        add_tag(s, "halo", ada)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with session_scope(url) as s:
        assert verify_chain(s).ok and verify_chain(s).checked == 2


@SQLITE_ONLY
def test_sqlite_decisions_outside_an_immediate_transaction_are_refused(db, home, toy, people):
    from db.review import reject_batch

    with session_scope() as s:
        b = make_batch(s, home, toy).id
    with pytest.raises(RuntimeError, match="immediate=True"):
        with session_scope() as s:
            reject_batch(s, b, people["rex"], reason="no lock held")


def _edit_events(home, *statements, rehash: int | None = None) -> None:
    """What an insider with the database file does: drop the log's triggers, run `statements`; with `rehash`, give
    that event a new reason and recompute its own hash (not the next event's link to it)."""
    import json

    from db.audit import event_hash

    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")
    con.execute("DROP TRIGGER IF EXISTS events_no_update")
    con.execute("DROP TRIGGER IF EXISTS events_no_delete")
    for statement in statements:
        con.execute(statement)
    if rehash is not None:
        row = con.execute("SELECT prev_hash, ts, actor_id, actor, role, action, target_type, target_id, meaning, "
                          "details FROM events WHERE id = ?", (rehash,)).fetchone()
        digest = event_hash(*row[:9], "rewritten", json.loads(row[9]) if row[9] else {})
        con.execute("UPDATE events SET reason = 'rewritten', hash = ? WHERE id = ?", (digest, rehash))
    con.commit()
    con.close()


@SQLITE_ONLY
def test_a_broken_link_says_what_was_done_and_where(home, toy, people):
    """It said "an event was removed, inserted or altered at or before id N" for each; and for an event rewritten
    with its own hash recomputed it named the event after it."""
    a, b, c, d, e, f = _some_decisions(home, toy, people)

    def message() -> str:
        with session_scope() as s:
            report = verify_chain(s)
        assert not report.ok
        return report.message

    _edit_events(home, f"DELETE FROM events WHERE id = {c}")
    assert message() == (f"event {d} does not follow event {b} before it: the log no longer holds the event it "
                         f"follows and id {c} is missing, so it was deleted (or event {b} was altered and its hash "
                         "recomputed)")
    _edit_events(home, f"DELETE FROM events WHERE id IN ({d}, {e})")
    assert f"ids {c}–{e} are missing, so they were deleted" in message()  # c went first


@SQLITE_ONLY
def test_reordered_rows_and_a_recomputed_hash_are_named(home, toy, people):
    a, b, c, d, e, f = _some_decisions(home, toy, people)
    _edit_events(home, f"UPDATE events SET id = -1 WHERE id = {b}", f"UPDATE events SET id = {b} WHERE id = {c}",
                 f"UPDATE events SET id = {c} WHERE id = -1")
    with session_scope() as s:
        report = verify_chain(s)
    assert report.message == (f"event {b} does not follow event {a} before it but event {c}: events were reordered "
                              "or inserted")

    _edit_events(home, f"UPDATE events SET id = -1 WHERE id = {b}", f"UPDATE events SET id = {b} WHERE id = {c}",
                 f"UPDATE events SET id = {c} WHERE id = -1", rehash=e)  # the order put back; event e rewritten
    with session_scope() as s:
        report = verify_chain(s)
    assert report.first_broken_id == f and report.message == (
        f"event {f} does not follow event {e} before it: the log holds no event it follows, so event {e} was "
        f"altered and its hash recomputed (or event {f}'s link to it was edited)")


# Details as awkward as any event ever held: unicode (composed and not), floats that print long, an integer past
# 2**53, nested keys out of order, a list of dicts.
AWKWARD = {"zeta": {"b": [{"y": 2, "x": 1.0}], "a": "naïve ✓ 日本 e\u0301"}, "alpha": [0.1, 1e-07, 1.5e300, -0.0],
           "big": 2**62 + 1, "none": None, "flag": True}


def _reference_hash(prev: str, fields: dict) -> str:
    """The hash as the log defines it, spelled out here: sha256 of json.dumps with these options, whatever encoder
    `db.audit` keeps to write it faster."""
    payload = dict(fields, prev_hash=prev)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                     allow_nan=False).encode("utf-8")).hexdigest()


def _append_by_hand(session, prev: str, details_text: str, hashed_details: dict, n: int) -> str:
    """Append event `n` whose stored details are `details_text`, hashed over `hashed_details` (an older writer, or
    another tool: keys in its own order, escapes, spaces)."""
    fields = dict(ts=f"2026-11-22T10:00:0{n}.000000+00:00", actor_id=None, actor="old", role="admin", action="note",
                  target_type="user", target_id=n, meaning="written the old way", reason=None,
                  details=hashed_details)
    digest = _reference_hash(prev, fields)
    session.execute(text("INSERT INTO events (ts, actor_id, actor, role, action, target_type, target_id, meaning, "
                         "reason, details, prev_hash, hash) VALUES (:ts, NULL, :actor, :role, :action, :target_type, "
                         ":target_id, :meaning, NULL, :details, :prev, :hash)"),
                    dict(fields, details=details_text, prev=prev, hash=digest))
    return digest


def test_events_written_the_old_way_verify_with_the_same_hashes_and_details(db, people):
    """The walk reads SQLite's details as text and decodes them itself, and hashes with an encoder built once: the
    stored text is not the hashed text (", " and ": ", \\u escapes, keys in insertion order), so both must give what
    SQLAlchemy's JSON type and json.dumps gave."""
    with session_scope(immediate=True) as s:
        first = record_event(s, people["ada"], "note", "user", 1, "awkward details", details=AWKWARD)
        assert first.hash == _reference_hash(first.prev_hash, {c: getattr(first, c) for c in (
            "ts", "actor_id", "actor", "role", "action", "target_type", "target_id", "meaning", "reason", "details")})
        prev = first.hash
        prev = _append_by_hand(s, prev, json.dumps(AWKWARD), AWKWARD, 1)  # SQLAlchemy's own serializer, unsorted
        by_hand = '{ "flag" : true,"big":4611686018427387905, "none":null, "alpha":[1E-1, 1e-7, 15e299, -0.0],' \
                  '"zeta":{"a":"na\\u00efve \\u2713 \\u65e5\\u672c e\\u0301","b":[{"x":1.0,"y":2}]}}'
        prev = _append_by_hand(s, prev, by_hand, AWKWARD, 2)
    seen = []
    with session_scope() as s:
        report = verify_chain(s, visit=seen.append)
        events = s.scalars(select(Event).order_by(Event.id)).all()
        assert report.ok and report.head_hash == prev and report.checked == len(events)
        # The visitor sees what the ORM reads: every column, details decoded alike (floats to the bit, big ints).
        assert [tuple(e) for e in seen] == [tuple(getattr(o, f) for f in e._fields) for e, o in zip(seen, events)]
        assert [e.details for e in seen[-3:]] == [AWKWARD] * 3
        assert repr(seen[-1].details["alpha"]) == repr(AWKWARD["alpha"])  # -0.0 stays -0.0


@pytest.mark.parametrize("stored, hashed", [
    ({"p": 0.30000000000000004}, {"p": 0.3}),  # a float one ulp off
    ({"a": "\u00e9"}, {"a": "e\u0301"}),  # composed where it was decomposed
    ({"key": {"b": 1, "a": 2}}, {"Key": {"a": 2, "b": 1}}),  # a key renamed, the others out of order
], ids=["float", "unicode", "key"])
def test_details_that_decode_to_other_values_than_were_hashed_are_altered(db, people, stored, hashed):
    """Appended with its hash over other details (no trigger stops an INSERT): found at that event, as altered."""
    with session_scope(immediate=True) as s:
        prev = record_event(s, people["ada"], "note", "user", 1, "before", details=AWKWARD).hash
        _append_by_hand(s, prev, json.dumps(stored), hashed, 3)
        last = s.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    with session_scope() as s:
        report = verify_chain(s)
        before = s.scalar(select(func.count()).select_from(Event).where(Event.id < last))
    assert not report.ok and report.first_broken_id == last and report.checked == before
    assert report.message == (f"event {last} (note user 3) was altered: its content no longer matches its hash")


def test_an_event_not_yet_flushed_is_walked(db, people):
    """As when the walk's reads went through the session: its pending rows are flushed first."""
    with session_scope(immediate=True) as s:
        prev = s.scalar(select(Event.hash).order_by(Event.id.desc()).limit(1))
        count = s.scalar(select(func.count()).select_from(Event))
        fields = dict(ts="2026-12-07T10:00:00.000000+00:00", actor_id=None, actor="x", role="admin", action="note",
                      target_type="user", target_id=1, meaning="pending", reason=None, details={"é": [1.5]})
        s.add(Event(**fields, prev_hash=prev, hash=_reference_hash(prev, fields)))
        report = verify_chain(s)
    assert report.ok and report.checked == count + 1
