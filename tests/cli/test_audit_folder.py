"""`ganaug audit folder DIR`: an auditor handed an export folder proves it is as exported. An image swapped in the
folder after the export went unnoticed by every command (manifest.sha256 covers the CSVs only, `audit exports`
hashes manifest.csv only), and an edited manifest.csv showed as "CHANGED" in a listing that exited 0."""

from __future__ import annotations

import csv
import hashlib
import sqlite3

import pytest

from db.engine import dispose_engines, session_scope
from ganaug_core.shown_text import utc_time
from tests.cli.helpers import ok_json, refused, run
from tests.db.helpers import make_batch, make_dataset

REX = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": "rex-password"}
ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password", "GANAUG_ADMIN_PASSWORD": "ada-password"}


@pytest.fixture
def exported(home, tmp_path):
    """Dataset 'toy' with an approved batch of 3 samples of class 1, exported by rex to tmp_path/gated."""
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    ok_json("users", "add", "rex", "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "rex-password"})
    checkpoint = home / "runs" / "1" / "checkpoints" / "checkpoint-0000002.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"the generator's weights")
    with session_scope() as s:
        made = make_batch(s, home, make_dataset(s, home), n=3)
        made.checkpoint_sha256 = made.run.checkpoint_sha256 = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
        made.run.checkpoint_path = "runs/1/checkpoints/checkpoint-0000002.pt"
        batch = made.id
    ok_json("review", "approve", batch, env=REX)
    out = tmp_path / "gated"
    summary = ok_json("export", "--dataset", "toy", "--out", out, "--user", "rex", env=REX)
    return out, summary


def _synthetic_files(out):
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    return [next(out.glob(f"*/{i:06d}_synthetic.png")) for i, r in enumerate(rows) if r["source"] == "synthetic"]


def _problems(out) -> list[str]:
    result = run("audit", "folder", out, "--json")
    assert result.exit_code == 1, result.output
    text = run("audit", "folder", out)
    n = len(ok_problems(result))
    assert text.exit_code == 1 and text.stdout.startswith(f"FAILED: {n} problem{'s' * (n > 1)} with {out}:\n  ")
    return ok_problems(result)


def ok_problems(result) -> list[str]:
    import json

    return json.loads(result.stdout)["problems"]


def test_a_folder_as_exported_is_ok_and_names_its_record(exported):
    out, summary = exported
    checked = ok_json("audit", "folder", out)
    assert checked["ok"] is True and checked["problems"] == []
    assert checked["export"]["id"] == summary["event"]["id"] and checked["export"]["actor"] == "rex"
    assert (checked["images"], checked["synthetic"], checked["batches"]) == (12, 3, [1])
    text = run("audit", "folder", out).stdout
    assert " ".join(text.split()).startswith(f"ok: {out} holds the 12 images of its manifest.csv, byte for byte")
    assert f"exported as event {summary['event']['id']} by rex (reviewer)" in text
    # The time as every line for people gives it (it was the log's whole value, microseconds and +00:00).
    assert f" at {utc_time(summary['event']['ts'])}\n" in text


def test_what_audit_folder_says_fits_80_columns_beside_the_folder(exported, tmp_path):
    """With a team share's folder and a signer's name of 26 characters its three lines were 228, 175 and 131
    columns: wrapped between words, the folder, the manifest's sha256 and the log head each whole."""
    maria = {"GANAUG_USER": "dr.maria-fernanda.oliveira", "GANAUG_PASSWORD": "maria-password"}
    ok_json("users", "add", maria["GANAUG_USER"], "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "maria-password"})
    out = tmp_path / "team share" / "digits-gated-first-export-for-the-classifier-team"
    again = ok_json("export", "--dataset", "toy", "--out", out, "--user", maria["GANAUG_USER"], env=maria)
    text = run("audit", "folder", out).stdout
    lines = text.splitlines()
    assert lines[0].startswith("ok:") and max(len(line.replace(str(out), "")) for line in lines) <= 80, text
    assert f"manifest sha256 {again['manifest_sha256']}" in lines
    assert any(line.strip().startswith(f"head {again['log_head']['hash']},") for line in lines), text
    assert " ".join(text.split()).startswith(f"ok: {out} holds the 12 images of its manifest.csv, byte for byte")
    assert (f"exported as event {again['event']['id']} by dr.maria-fernanda.oliveira (reviewer) at "
            f"{utc_time(again['event']['ts'])}") in " ".join(text.split())


def test_a_swapped_added_or_missing_image_is_named_and_exits_1(exported):
    out, _ = exported
    first, second, third = _synthetic_files(out)
    first.write_bytes(second.read_bytes())  # a swap: still a valid image, still named in the manifest
    third.unlink()
    (first.parent / "extra.png").write_bytes(second.read_bytes())
    problems = _problems(out)
    assert len(problems) == 3, problems
    name = first.relative_to(out).as_posix()
    assert any(p.startswith(f"{name}: sha256 ") and "the image was changed or swapped" in p for p in problems)
    assert any(f"its image NNN_*/{third.name} is missing" in p for p in problems)
    assert any(p.startswith(f"{first.parent.name}/extra.png: not an image of manifest.csv") for p in problems)


def test_an_edited_manifest_or_log_head_is_named(exported):
    out, _ = exported
    manifest = out / "manifest.csv"
    manifest.write_text(manifest.read_text().replace(",synthetic,1,", ",synthetic,2,"))  # another batch named
    (out / "log_head.txt").write_text(f"1 {'a' * 64}\n")
    problems = _problems(out)
    assert problems[0].startswith("manifest.csv (sha256 ") and "is no recorded export's" in problems[0]
    assert any(f"log_head.txt names head {'a' * 64} (1 events), which the decision log no longer holds" in p
               for p in problems)
    listed = run("audit", "exports")  # a listing, exit 0: it points at the check
    assert listed.exit_code == 0 and f"  CHANGED  {out}\n" in listed.stdout
    assert "(CHANGED: `ganaug audit folder FOLDER` says what)" in " ".join(listed.stdout.split())


def test_a_deleted_export_record_is_named(exported, home):
    out, summary = exported
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")  # the newest event, the export itself: the chain stays intact
    con.execute("DROP TRIGGER events_no_delete")
    con.execute("DELETE FROM events WHERE id = ?", (summary["event"]["id"],))
    con.commit()
    con.close()
    assert ok_json("audit", "verify")["ok"] is True
    record, own = _problems(out)
    assert "is no recorded export's" in record and "its export event was deleted" in record
    event = summary["event"]
    assert (out / "export_event.txt").read_text() == f"{event['id']} {event['hash']}\n"
    # The log's newest event deleted looks like an export killed before its event was committed: both are said.
    assert own == (f"export_event.txt names event {event['id']} (hash {event['hash']}), the export's own record, "
                   "which the decision log does not hold and no event links to: it was deleted or rewritten, or the "
                   "export was killed outright before it was recorded (then `ganaug audit verify` passes, as it does "
                   "after the log's newest event is deleted)")


def test_an_export_event_deleted_inside_the_log_is_called_deleted_as_the_next_links_to_it(exported, home):
    out, summary = exported
    ok_json("users", "add", "bob", "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "bob-password"})
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")
    [(after,)] = con.execute("SELECT id FROM events WHERE prev_hash = ?", (summary["event"]["hash"],)).fetchall()
    con.execute("DROP TRIGGER events_no_delete")
    con.execute("DELETE FROM events WHERE id = ?", (summary["event"]["id"],))
    con.commit()
    con.close()
    own = next(p for p in _problems(out) if p.startswith("export_event.txt"))
    assert own.endswith(f"which the decision log no longer holds, though event {after} still links to it: it was "
                        "deleted or rewritten")


def test_an_export_killed_before_its_event_was_committed_is_not_called_tampering(home, tmp_path, monkeypatch):
    # `kill -9` between placing the folder and committing its event (ganaug/export.py) left a folder naming an event
    # the log never held, and `audit folder` said only "it was deleted or rewritten".
    import ganaug.export

    class Killed(BaseException):
        pass

    place = ganaug.export._move_into_place

    def killed_after_placing(staging, out):
        place(staging, out)
        raise Killed  # the transaction rolls back, the folder stays: what a kill leaves

    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    with session_scope() as s:
        make_dataset(s, home)
    monkeypatch.setattr(ganaug.export, "_move_into_place", killed_after_placing)
    out = tmp_path / "gated"
    with pytest.raises(Killed):
        run("export", "--dataset", "toy", "--out", out, "--user", "ada", env=ADA)
    assert (out / "export_event.txt").is_file() and ok_json("audit", "verify")["ok"] is True
    assert ok_json("audit", "exports")["exports"] == []
    record, own = _problems(out)
    assert record.endswith("or its export event was deleted, or the export was killed outright before it was recorded")
    assert own.endswith("or the export was killed outright before it was recorded (then `ganaug audit verify` "
                        "passes, as it does after the log's newest event is deleted)")


def test_a_lost_checkpoint_is_named(exported, home):
    """The images are as exported, but the checkpoint they came from is gone: they can no longer be regenerated."""
    out, _ = exported
    (home / "runs" / "1" / "checkpoints" / "checkpoint-0000002.pt").unlink()
    [problem] = _problems(out)
    assert problem.startswith("batch 1's checkpoint (run 1, sha256 ") and "can no longer" not in problem
    assert "is no longer here: its samples cannot be regenerated (`ganaug audit reproduce 1`)" in problem


def test_a_folder_that_is_no_export_is_bad_input(home, tmp_path):
    assert refused("audit", "folder", tmp_path) == (f"error: {tmp_path} holds no manifest.csv, so it is not an export "
                                                    "folder of ganaug")
    assert "is not a folder" in refused("audit", "folder", tmp_path / "nowhere")
    # One of the wrong kind is said as such, not as missing (a pipe or a link so named: `not_plain_files`).
    (tmp_path / "manifest.csv").mkdir()
    assert refused("audit", "folder", tmp_path) == (f"error: {tmp_path / 'manifest.csv'} is a folder, where an export "
                                                    "writes its manifest file: this is not an export folder of "
                                                    "ganaug as it was written")


def test_an_edited_images_csv_is_named(exported):
    out, _ = exported
    images = out / "images.csv"
    lines = images.read_text().splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    row[header.index("sha256")] = "f" * 64  # the file list a training script reads points at other bytes
    images.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    checksum, problem = _problems(out)
    assert checksum.startswith("images.csv no longer has the sha256 manifest.sha256 gives it (")
    assert problem.startswith("images.csv row 0 (") and "in its sha256: images.csv was edited" in problem


def test_a_samples_seed_edited_in_images_csv_is_caught_by_manifest_sha256(exported):
    """The columns manifest.csv does not restate (run, checkpoint, seed) are covered by manifest.sha256."""
    out, _ = exported
    images = out / "images.csv"
    rows = list(csv.DictReader(images.open()))
    synthetic = next(r for r in rows if r["source"] == "synthetic")
    text = images.read_text()
    images.write_text(text.replace(f",{synthetic['seed']}\n", f",{int(synthetic['seed']) + 1}\n", 1))
    assert images.read_text() != text
    [problem] = _problems(out)
    assert problem.startswith("images.csv no longer has the sha256 manifest.sha256 gives it (")


def test_a_sample_added_or_moved_under_another_name_of_its_row_or_class_is_named(exported):
    """An ImageFolder reader trains on every file of every folder: a rejected image added as `0000012_synthetic.png`
    (read as row 12 too) or in a second folder of its class passed as long as the file sorted first was a row's own,
    and a sample moved to `001_x/` (one more class, every later label shifted) or its folder renamed `0001_1`
    (sorted before `000_0`) passed, as the rows were matched by their numbers alone."""
    out, _ = exported
    first, second, _ = _synthetic_files(out)
    cls = first.parent.name  # `001_1`
    index = cls.split("_")[0]
    rejected = b"a rejected sample's bytes"
    (first.parent / f"0{first.name}").write_bytes(rejected)  # sorts before the row's own file
    (out / f"0{cls}").mkdir()
    (out / f"0{cls}" / first.name).write_bytes(rejected)
    (out / f"{index}_x").mkdir()
    second.rename(out / f"{index}_x" / second.name)
    (out / "000_empty").mkdir()
    problems = _problems(out)
    assert f"{cls}/0{first.name}: not an image of manifest.csv (added after the export)" in problems
    # `0001_1/` sorts first: its file is taken for the row's, which is then the one left over. Both are named.
    assert any(p.startswith(f"0{cls}/{first.name}: sha256 ") and "changed or swapped" in p for p in problems)
    assert f"{cls}/{first.name}: not an image of manifest.csv (added after the export)" in problems
    assert f"0{cls}: its class index has 4 digits, not 3 as the export writes them" in "\n".join(problems)
    assert (f"class 1 is in 3 folders (0{cls}, {cls}, {index}_x): an ImageFolder reader takes them for as many "
            "classes; the export wrote one (a folder was added after the export)") in problems
    assert any(p.startswith("000_empty/: a folder that holds no image of manifest.csv") for p in problems)
    assert len(problems) == 6, problems


def test_a_class_folder_renamed_with_another_index_width_is_named(exported):
    out, _ = exported
    cls = _synthetic_files(out)[0].parent
    cls.rename(out / f"0{cls.name}")  # `0001_1` sorts before `000_0`: ImageFolder numbers it class 0
    [problem] = _problems(out)
    assert problem == (f"0{cls.name}: its class index has 4 digits, not 3 as the export writes them, so it sorts "
                       "out of class order (renamed after the export)")


def test_a_batch_with_a_decision_appended_by_hand_is_named(exported):
    """An approval appended to the log by hand, of a batch already decided (`db.replay`): the folder matches its
    record, so only the log's replay shows it."""
    from db.audit import record_event
    from db.users import get_user

    out, summary = exported
    with session_scope(immediate=True) as s:
        forged = record_event(s, get_user(s, "rex"), "approve", "batch", 1, "Reviewed").id
    [problem] = _problems(out)
    assert problem == (f"batch 1's samples are in this folder, but event {forged} approves batch 1, which event "
                       f"{summary['event']['id'] - 1} had approved: no ganaug command records that, so it was "
                       "written into the database directly")


def test_a_link_or_a_pipe_in_the_folder_is_named_and_nothing_is_read_through_it(exported, tmp_path):
    """log_head.txt and export_event.txt are covered by no sha256: a link named so, to any file holding the right
    line, passed as the export's own, and a pipe (which an export never writes) was not even listed. The Audit page's
    download refuses both with the same lines (`not_plain_files`)."""
    import os

    out, _ = exported
    elsewhere = tmp_path / "log_head.txt"
    (out / "log_head.txt").rename(elsewhere)
    (out / "log_head.txt").symlink_to(elsewhere)
    cls = _synthetic_files(out)[0].parent.name
    os.mkfifo(out / cls / "notes")
    assert _problems(out) == [f"{cls}/notes: not a plain file, which an export never writes",
                              "log_head.txt: a link, which an export never writes"]
    # A manifest.csv linked elsewhere was read before the check ("is not a manifest of ganaug", exit 2).
    (out / "manifest.csv").rename(tmp_path / "manifest.csv")
    (out / "manifest.csv").symlink_to("/etc/passwd")
    assert "manifest.csv: a link, which an export never writes" in _problems(out)
    # A pipe in its place is one too, not a folder that "holds no manifest.csv".
    (out / "manifest.csv").unlink()
    os.mkfifo(out / "manifest.csv")
    assert "manifest.csv: not a plain file, which an export never writes" in _problems(out)


def test_an_unsigned_export_is_said_to_be_unsigned_not_held_to_a_signed_export_of_the_same_set(exported, tmp_path):
    out, summary = exported
    ok_json("users", "add", "eve", "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "eve-password"})  # an event
    unsigned = tmp_path / "unsigned"
    assert run("export", "--dataset", "toy", "--out", unsigned).exit_code == 0
    # The same manifest.csv as the signed export's: it was held to that record and failed on its log head ("log_head.txt
    # says 6 events … but export event 5 recorded 4 events"), as if the unsigned folder had been tampered with.
    assert _problems(unsigned) == [
        "export_event.txt is missing: the set was exported unsigned (without --user), which records no export, so "
        "nothing says who exported it or from which log head (or the file was deleted); export it again with --user "
        "for a folder this command can check"]
    # A signed export's own export_event.txt deleted: its record is found by its folder, and the file named missing.
    (out / "export_event.txt").unlink()
    assert _problems(out) == [f"export_event.txt is missing, though export event {summary['event']['id']} wrote this "
                              "folder: it was deleted"]


def test_a_csv_larger_than_an_export_writes_is_named_and_not_read(exported):
    """Each CSV and text file of the folder is read whole: a manifest.csv of 6 GB of zeros (6 MB in a zip, nothing on
    disk as a sparse file) took 6 GB of memory and 72 s for a MemoryError's traceback (exit 70)."""
    import os

    from ganaug.cli.audit_folder import ROW_BYTES, TEXT_FLOOR_BYTES

    out, _ = exported
    images = len(list(out.rglob("*.png")))
    limit = TEXT_FLOOR_BYTES + ROW_BYTES * images
    os.truncate(out / "manifest.csv", limit + 1)  # sparse: it takes no room, and reading it takes 64 MB
    assert _problems(out) == [f"manifest.csv: {limit + 1:,} bytes, more than an export writes beside {images} images "
                              f"(at most {limit:,}): not read"]
