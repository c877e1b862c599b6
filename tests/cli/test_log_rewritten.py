"""Someone with write access to the database can rewrite a decision and recompute every later hash: the chain is
intact again, and only a head written down elsewhere shows it. `audit verify --head` with the line of an export's
log_head.txt said "events were removed from its end" about a log that had lost nothing but was rewritten."""

from __future__ import annotations

import json
import sqlite3

from db.audit import GENESIS_HASH, event_hash
from db.engine import dispose_engines
from tests.cli.helpers import ok_json, run

ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password", "GANAUG_ADMIN_PASSWORD": "ada-password"}


def rewrite_reason(db_file, event_id: int, reason: str) -> None:
    """What an insider with the database file does: drop the triggers, edit, recompute the chain, restore them."""
    dispose_engines()
    con = sqlite3.connect(db_file)
    triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
                           ).fetchall()
    for name, _ in triggers:
        con.execute(f'DROP TRIGGER "{name}"')
    prev = GENESIS_HASH
    rows = con.execute("SELECT id, ts, actor_id, actor, role, action, target_type, target_id, meaning, reason, details "
                       "FROM events ORDER BY id").fetchall()
    con.execute("UPDATE events SET prev_hash = 'x' || id, hash = 'y' || id")  # out of the unique indexes' way
    for id_, ts, actor_id, actor, role, action, target_type, target_id, meaning, old, details in rows:
        reason_now = reason if id_ == event_id else old
        digest = event_hash(prev, ts, actor_id, actor, role, action, target_type, target_id, meaning, reason_now,
                            json.loads(details) if details else {})
        con.execute("UPDATE events SET reason = ?, prev_hash = ?, hash = ? WHERE id = ?",
                    (reason_now, prev, digest, id_))
        prev = digest
    for _, sql in triggers:
        con.execute(sql)
    con.commit()
    con.close()


def test_verify_says_a_log_was_rewritten_when_it_holds_as_many_events_but_not_the_head(home):
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    ok_json("users", "add", "rex", "--reason", "joins the team", env={**ADA, "GANAUG_PASSWORD": "rex-password"})
    verified = ok_json("audit", "verify")
    line = f"{verified['checked']} {verified['head_hash']}"  # as an export writes it to log_head.txt
    rewrite_reason(home / "ganaug.db", 2, "never joined")

    assert ok_json("audit", "verify")["ok"] is True  # the chain alone cannot tell: README says so
    result = run("audit", "verify", "--head", line)
    assert result.exit_code == 1
    assert result.stdout.startswith("REWRITTEN: all 2 events verified; the chain is intact, but its first 2 events "
                                    f"no longer end in head {verified['head_hash']}: events among them were altered")
    bare = run("audit", "verify", "--head", verified["head_hash"])  # no count: it cannot tell the two apart
    assert bare.exit_code == 1 and bare.stdout.startswith("TRUNCATED:") and "or rewritten" in bare.stdout

    ok_json("users", "add", "eve", env={**ADA, "GANAUG_PASSWORD": "eve-password"})
    later = ok_json("audit", "verify")
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")  # the newest event deleted: fewer events than the head counted
    con.execute("DROP TRIGGER events_no_delete")
    con.execute("DELETE FROM events WHERE id = 3")
    con.commit()
    con.close()
    result = run("audit", "verify", "--head", f"{later['checked']} {later['head_hash']}")
    assert result.exit_code == 1 and result.stdout.startswith("TRUNCATED:")
