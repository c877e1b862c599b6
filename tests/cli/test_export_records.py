"""`ganaug export --user` records the export in the decision log; `ganaug audit exports` lists what left, and whether
each folder still holds the manifest it was recorded with. Without a signer the export is written, not recorded."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Event
from tests.cli.helpers import ok_json, refused, run
from tests.db.helpers import make_batch, make_dataset, rename_classes, sample_ids

REX = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": "rex-password"}
ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password", "GANAUG_ADMIN_PASSWORD": "ada-password"}
NOTE = ("note: this export is not recorded in the decision log; to record it, export with --user NAME "
        "(or GANAUG_USER set)")


@pytest.fixture
def toy(home):
    """Dataset 'toy' (6 + 3 real training images), admin ada, reviewer rex, and an approved batch of 3 samples of
    class 1 and a pending one of 2."""
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    ok_json("users", "add", "rex", "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "rex-password"})
    with session_scope() as s:
        toy = make_dataset(s, home)
        b1, b2 = make_batch(s, home, toy, n=3).id, make_batch(s, home, toy, n=2).id
        ids = dict(b1=b1, b2=b2, s1=sample_ids(s, b1))
    ok_json("review", "approve", b1, env=REX)
    return ids


def _exports() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.action == "export"))


def test_an_export_with_user_is_recorded_with_what_left_and_where(toy, tmp_path):
    out = tmp_path / "gated"
    summary = ok_json("export", "--dataset", "toy", "--out", out, "--ratio", "2", "--user", "rex",
                      env={"GANAUG_PASSWORD": "rex-password"})
    event = summary["event"]
    assert (event["actor"], event["role"]) == ("rex", "reviewer")
    manifest_sha = (out / "manifest.sha256").read_text().split()[0]
    head_events, head = (out / "log_head.txt").read_text().split()
    [logged] = ok_json("audit", "log", "--action", "export", "--target-type", "dataset")["events"]
    assert (logged["id"], logged["hash"], logged["actor"]) == (event["id"], event["hash"], "rex")
    assert logged["details"] == {
        "dataset": "toy", "manifest_sha256": manifest_sha, "entries": 12, "synthetic_ratio": 2.0,
        "counts": {"0": {"real": 6, "synthetic": 0}, "1": {"real": 3, "synthetic": 3}},
        "log_head": {"events": int(head_events), "hash": head}, "excluded": {"in a pending batch": 2},
        "folder": str(out), "batches": {str(toy["b1"]): 3}}
    assert f"to {out}, whose manifest.csv has sha256 {manifest_sha}" in logged["meaning"]
    [listed] = ok_json("audit", "exports")["exports"]
    assert {k: listed[k] for k in ("id", "actor", "dataset", "images", "real", "synthetic", "ratio", "manifest_sha256",
                                   "log_head", "folder", "folder_check")} == dict(
        id=event["id"], actor="rex", dataset="toy", images=12, real=9, synthetic=3, ratio=2.0,
        manifest_sha256=manifest_sha, log_head=head, folder=str(out), folder_check="matches")
    text = run("export", "--dataset", "toy", "--out", tmp_path / "again", env=REX)  # GANAUG_USER alone signs it too
    assert text.exit_code == 0 and NOTE not in text.stderr, text.output
    assert text.stdout.splitlines()[-1].startswith(f"recorded as event {event['id'] + 1} by rex (reviewer) at ")
    # The export's own event follows the head it was gated on: the chain verifies, and still holds that head.
    verified = ok_json("audit", "verify", "--head", head)
    assert verified["ok"] is True and verified["head_found"] is True and verified["state_mismatches"] == []


def test_an_export_event_changes_nothing_the_next_export_admits(toy, tmp_path):
    first = ok_json("export", "--dataset", "toy", "--out", tmp_path / "a", env=REX)
    second = ok_json("export", "--dataset", "toy", "--out", tmp_path / "b", env=REX)
    assert second["manifest_sha256"] == first["manifest_sha256"] and second["counts"] == first["counts"]
    assert second["log_head"] == {"events": first["log_head"]["events"] + 1, "hash": first["event"]["hash"]}


def test_an_export_without_a_signer_is_written_and_says_it_was_not_recorded(toy, tmp_path):
    result = run("export", "--dataset", "toy", "--out", tmp_path / "plain")  # issue #4's command line: no prompt
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plain" / "manifest.csv").exists()
    assert (tmp_path / "plain").stat().st_mode & 0o777 == 0o700  # its images may be patients': its owner's only
    assert result.stderr.splitlines()[-1] == NOTE
    as_json = run("export", "--dataset", "toy", "--out", tmp_path / "json", "--json")
    assert json.loads(as_json.stdout)["event"] is None and NOTE in as_json.stderr
    assert _exports() == 0
    assert run("audit", "exports").stdout == "no export recorded\n"
    assert ok_json("audit", "exports")["exports"] == []


def test_a_failed_export_records_nothing_and_writes_nothing(toy, home, tmp_path):
    wrong = refused("export", "--dataset", "toy", "--out", tmp_path / "a", env={**REX, "GANAUG_PASSWORD": "nope"})
    assert wrong == "error: unknown user, wrong password or disabled account for 'rex' (an admin can tell you which)"
    assert refused("export", "--dataset", "toy", "--out", tmp_path / "b", env={"GANAUG_USER": "rex"}) == (
        # not a hang
        "error: no password for 'rex': set GANAUG_PASSWORD, pipe it on stdin, or type it at the prompt of a terminal")
    with session_scope() as s:
        from db.datasets import get_dataset

        small = make_batch(s, home, get_dataset(s, "toy"), n=2, size=4).id  # refused mid-way: 4×4 in an 8×8 set
    ok_json("review", "approve", small, env=REX)
    assert "holds 4×4 samples but dataset 'toy' holds 8×8" in refused("export", "--dataset", "toy", "--out", tmp_path / "c",
                                                          "--ratio", "10", env=REX)
    ok_json("users", "disable", "rex", env=ADA)
    assert "disabled" in refused("export", "--dataset", "toy", "--out", tmp_path / "d", env=REX)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"] and _exports() == 0


def test_an_export_whose_record_is_not_committed_leaves_no_folder(toy, tmp_path, monkeypatch):
    import ganaug.export
    from db.users import get_user

    @contextmanager
    def commit_fails(url=None, immediate=False, **options):  # the database refuses the commit (a full disk, ...)
        with session_scope(url, immediate, **options) as session:
            yield session
            if immediate:
                raise RuntimeError("disk I/O error")

    monkeypatch.setattr(ganaug.export, "session_scope", commit_fails)
    with session_scope() as s:
        rex = get_user(s, "rex")
    with pytest.raises(RuntimeError, match="disk I/O error"):
        ganaug.export.export_gated_set("toy", tmp_path / "out", exporter=rex)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"] and _exports() == 0


def test_audit_exports_filters_by_dataset_and_marks_a_changed_or_missing_folder(toy, home, tmp_path):
    with session_scope() as s:
        make_dataset(s, home, name="other")
    for name, dataset in (("a", "toy"), ("b", "other"), ("c", "toy")):
        ok_json("export", "--dataset", dataset, "--out", tmp_path / name, env=REX)
    (tmp_path / "a" / "manifest.csv").write_text("path,sha256\n")
    (tmp_path / "c" / "manifest.csv").unlink()
    rows = ok_json("audit", "exports")["exports"]
    assert [(r["dataset"], r["folder"], r["folder_check"]) for r in rows] == [
        ("toy", str(tmp_path / "c"), "not found"), ("other", str(tmp_path / "b"), "matches"),
        ("toy", str(tmp_path / "a"), "changed")]
    assert [r["folder"] for r in ok_json("audit", "exports", "--dataset", "toy")["exports"]] == [
        str(tmp_path / "c"), str(tmp_path / "a")]
    # One line per export (50 exports took 200 lines): what matches a folder to its record, and the check.
    text = run("audit", "exports", "--dataset", "toy").stdout.splitlines()
    assert len(text) == 2 + 4 and text[0].startswith(f"event {rows[0]['id']}  {rows[0]['ts'][:10]} {rows[0]['ts'][11:19]} UTC  rex  ")
    assert max(map(len, text[2:])) <= 80  # the legend, wrapped (it was 267 columns); each export's line kept whole
    assert text[0].endswith(f"  toy  12 images (3 synthetic), ratio 1  manifest {rows[0]['manifest_sha256'][:12]}  "
                            f"not found  {tmp_path / 'c'}")
    assert text[1].endswith(f"  CHANGED  {tmp_path / 'a'}") and text[2].startswith("matches: ")
    # It said "the newest 2 exports shown", not of how many, where runs list, jobs list and audit log say both.
    cut = run("audit", "exports", "--limit", "2").stdout.splitlines()
    assert len(cut) == 2 + 4 + 1 and cut[-1] == (
        "2 of 3 exports shown: --limit 3 shows them all, --dataset NAME one dataset's")
    assert run("audit", "exports", "--dataset", "toy", "--limit", "1").stdout.splitlines()[-1] == (
        "1 of 2 exports shown: --limit 2 shows them all")
    assert [ok_json("audit", "exports", *more)["total"] for more in ((), ("--limit", "2"), ("--limit", "3"))] == [3] * 3
    long = run("audit", "exports", "--dataset", "toy", "--long").stdout.splitlines()
    assert len(long) == 8 and long[0].startswith(f"event {rows[0]['id']} ")
    assert long[0].endswith(" rex exported toy: 12 images (9 real + 3 synthetic), ratio 1")
    assert long[1] == f"  manifest sha256 {rows[0]['manifest_sha256']}"
    assert long[3] == f"  folder {tmp_path / 'c'} (not found here)"
    assert "its manifest.csv has CHANGED" in run("audit", "exports", "--long").stdout
    assert refused("audit", "exports", "--dataset", "nope").startswith("error: unknown dataset 'nope'")
    assert refused("audit", "exports", "--limit", "0") == "error: --limit must be at least 1, got 0"
    assert run("audit", "log", "--action", "export").stdout.splitlines()[0].endswith(" export         dataset 1 (toy)")


def test_export_folders_keep_every_script_and_never_share_a_folder(home, tmp_path):
    # Only ASCII letters were kept: 痣 and 疣 (or Ωmega and Ωmicron's Ω) became folders a user could not tell apart.
    names = ["痣", "me\u0301lanome", "Ωmega", "a/b", "a?b", "CON", "..\x00<>:\"\\|*", "痣" * 120, "मेलेनोमा"]
    with session_scope() as s:
        rename_classes(s, make_dataset(s, home, name="scripts", train=(1,) * len(names), test=(0,) * len(names)), names)
    ok_json("export", "--dataset", "scripts", "--out", tmp_path / "out")
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert folders == ["000_痣", "001_mélanome", "002_Ωmega", "003_a_b", "004_a_b", "005_CON", "006_class",
                       "007_" + "痣" * 33, "008_मेलेनोमा"]
    assert folders[1] == "001_m\u00e9lanome"  # NFC: one character, as a user types it
    assert len(folders[7].encode()) == 103  # cut at 100 bytes of name, between two characters
    assert len(list((tmp_path / "out").rglob("*.png"))) == len(names)
