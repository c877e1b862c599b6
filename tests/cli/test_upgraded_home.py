"""A home an older ganaug wrote, after `git pull`: what it needs (a seal of its older datasets) is said where a team
looks, and goes away once done.

The old state is built here (tests cannot run old commits): a dataset written without its ingest event, as every
ingest before 2026-12-07 was (`tests.db.helpers.make_dataset(record=False)`).
"""

from __future__ import annotations

import json

from db.engine import session_scope
from tests.cli.helpers import ok_json, run
from tests.db.helpers import make_dataset

ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password"}


def test_audit_verify_notes_an_older_dataset_until_an_admin_seals_it(home):
    """`audit verify` said only "ok" on an upgraded home: the one place a team checks the log never said that its
    older datasets' real images were outside it (only an export from the CLI warned)."""
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    with session_scope() as s:
        make_dataset(s, home, record=False)
        make_dataset(s, home, name="newer")  # ingested since the upgrade: its ingest is recorded
    verify = run("audit", "verify")
    assert verify.exit_code == 0 and verify.stdout.startswith("ok: ")
    # A note, on stderr as every note is, wrapped at 80 columns (it ended stdout's text in one line of 206)
    assert "note:" not in verify.stdout and max(map(len, verify.stderr.splitlines())) <= 80, verify.stderr
    said = " ".join(verify.stderr.split())
    assert ("note: the real images of dataset 'toy' are not covered by the log (ingested before ingests were "
            "recorded, 2026-12-07)") in said and "`ganaug data seal toy --user NAME`" in verify.stderr
    assert "'newer'" not in verify.output
    as_json = run("audit", "verify", "--json")  # stdout stays the one JSON object; the note is said beside it
    assert json.loads(as_json.stdout)["not_covered"] == ["toy"] and "'toy' are not covered" in as_json.stderr

    ok_json("data", "seal", "toy", env=ADA)
    sealed = run("audit", "verify")
    assert sealed.exit_code == 0 and "note:" not in sealed.output
    assert ok_json("audit", "verify")["not_covered"] == []



def test_the_demo_run_again_on_a_reviewed_home_says_which_batches_were_decided(digits):
    """`make demo` again on a home whose demo batches were reviewed since (an upgrade's `git pull`, `make demo`) said
    "batches [1, 2, 3] pending review" of an approved and a rejected batch."""
    from db.models import Batch
    from db.review import approve_batch, reject_batch
    from db.users import add_user
    from ganaug.demo import prepare_demo
    from tests.app.conftest import make_batch

    first = make_batch(digits, 7, 4)
    with session_scope() as s:
        run_id = s.get(Batch, first).run_id
    second, third = make_batch(digits, 8, 4, run_id=run_id), make_batch(digits, 9, 4, run_id=run_id)
    with session_scope(immediate=True) as s:
        ada = add_user(s, "ada", "ada-password", role="admin")
        approve_batch(s, first, ada)
        reject_batch(s, third, ada, reason="blurry")
    line = prepare_demo(minutes=None, steps=2, per_class=4).text().splitlines()[0]
    assert line == (f"demo ready: dataset 'digits', run {run_id}, batch {first} approved, batch {second} pending review, "
                    f"batch {third} rejected")


def _as_before_log_heads(folder):
    """An export folder as versions before 2026-12-06 wrote it: manifest.csv and manifest.sha256 (listing manifest.csv
    alone) beside the class folders."""
    for name in ("log_head.txt", "images.csv", "export_event.txt", "classes.csv"):
        (folder / name).unlink(missing_ok=True)
    sums = (folder / "manifest.sha256").read_text().splitlines()
    (folder / "manifest.sha256").write_text("".join(f"{line}\n" for line in sums if line.endswith("  manifest.csv")))
    return folder


def test_audit_folder_checks_an_export_written_before_log_heads_against_the_same_set_exported_since(home, tmp_path):
    """An upgraded home's export folder, untouched, failed `audit folder` for ever: "log_head.txt is missing", a
    file its version never wrote, even once the same set had been exported again with --user."""
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    with session_scope() as s:
        make_dataset(s, home)
    ok_json("export", "--dataset", "toy", "--out", tmp_path / "unsigned")  # no --user: as every export before 12-06
    old = _as_before_log_heads(tmp_path / "unsigned")
    unrecorded = run("audit", "folder", old)
    assert unrecorded.exit_code == 1 and "is no recorded export's" in unrecorded.output
    assert "log_head.txt is missing, as from every export written before 2026-12-06" in unrecorded.output

    event = ok_json("export", "--dataset", "toy", "--out", tmp_path / "signed", env=ADA)["event"]
    checked = run("audit", "folder", old)
    assert checked.exit_code == 0, checked.output
    assert f"the same set was exported later as event {event['id']} by ada" in checked.output
    (tmp_path / "signed" / "log_head.txt").unlink()  # a folder of today's layout that lost it is still not as exported
    lost = run("audit", "folder", tmp_path / "signed")
    assert lost.exit_code == 1 and "log_head.txt is missing or not '<events> <hash>'" in lost.output
