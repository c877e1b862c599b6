"""Exports over time, as the engineer who trains on them sees it: an export folder whose batch was revoked (or one of
whose samples was rejected) after it was written still passed `ganaug audit folder` with "ok", though a model trained
on it learned from images the review no longer admits; and an export to a folder that holds an earlier export was
refused as "not an empty folder", which did not say whether it would have been merged or replaced."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil

import pytest

from db.engine import session_scope
from tests.cli.helpers import ok_json, refused, run
from tests.db.helpers import make_batch, make_dataset

REX = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": "rex-password"}
ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password", "GANAUG_ADMIN_PASSWORD": "ada-password"}


@pytest.fixture
def exported(home, tmp_path):
    """Dataset 'toy' with two approved batches of 3 samples of class 1 (a cap of 3 per class: ratio 1, 3 real
    images), exported by rex at --ratio 2 to tmp_path/gated: both batches' samples are in it."""
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    ok_json("users", "add", "rex", "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "rex-password"})
    checkpoint = home / "runs" / "1" / "checkpoints" / "checkpoint-0000002.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"the generator's weights")  # still here: `audit folder` says so of a lost one
    with session_scope() as s:
        dataset = make_dataset(s, home)
        made = [make_batch(s, home, dataset, n=3, seed=seed) for seed in (0, 10)]
        for batch in made:
            batch.checkpoint_sha256 = batch.run.checkpoint_sha256 = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
            batch.run.checkpoint_path = "runs/1/checkpoints/checkpoint-0000002.pt"
        batches = [batch.id for batch in made]
    for batch in batches:
        ok_json("review", "approve", batch, env=REX)
    out = tmp_path / "gated"
    summary = ok_json("export", "--dataset", "toy", "--out", out, "--ratio", 2, "--user", "rex", env=REX)
    assert sum(c["synthetic"] for c in summary["counts"].values()) == 6
    return out, summary, batches


def _file_of(out, sample_path: str) -> str:
    """The file in the export folder of the sample stored at `sample_path` (its manifest.csv row)."""
    rows = list(csv.DictReader((out / "images.csv").open()))
    manifest = list(csv.DictReader((out / "manifest.csv").open()))
    return next(rows[i]["file"] for i, r in enumerate(manifest) if r["path"] == sample_path)


def test_a_folder_whose_batch_was_revoked_since_says_so_and_to_train_again(exported):
    out, summary, (first, _) = exported
    ok_json("review", "revoke", first, "--reason", "eights that read as threes", env=ADA)
    result = run("audit", "folder", out, "--json")
    assert result.exit_code == 1, result.output
    checked = json.loads(result.stdout)
    assert checked["ok"] is False
    [withdrawn] = checked["withdrawn"]
    assert (withdrawn["action"], withdrawn["actor"], withdrawn["batch_id"], withdrawn["samples"]) == (
        "revoke", "ada", first, 3)
    text = run("audit", "folder", out).stdout
    assert text.startswith(f"FAILED: 2 problems with {out}:\n")
    assert (f"batch {first}, class 1 (c1): its 3 samples in this folder are no longer admitted: ada revoked its "
            f"approval at ") in text
    assert f"(event {withdrawn['event_id']}: “eights that read as threes”), after this folder was exported" in text
    assert ("3 of this folder's 6 synthetic images are no longer admitted by the review: a model trained on it "
            "learned from them; export again (`ganaug export --dataset toy --out NEW_FOLDER`) and train on the new "
            "folder") in text
    # The listing said "matches" alone, which read as safe to train on: it counts what the review withdrew.
    [listed] = ok_json("audit", "exports")["exports"]
    assert (listed["folder_check"], listed["withdrawn"]) == ("matches", 3)
    assert f"  matches, 3 withdrawn  {out}\n" in run("audit", "exports").stdout
    assert ("the review has since withdrawn 3 of its synthetic images: `ganaug audit folder` names the decisions)"
            in run("audit", "exports", "--long").stdout)


def test_a_sample_rejected_since_the_export_is_named_by_its_file(exported, home):
    out, _, (first, second) = exported
    with session_scope() as s:
        from sqlalchemy import select

        from db.models import Sample

        sample = s.scalars(select(Sample).where(Sample.batch_id == second).order_by(Sample.id)).first()
        sample_id, path = sample.id, sample.path
    ok_json("review", "reject-sample", sample_id, "--reason", "a second stem", env=REX)
    checked = run("audit", "folder", out)
    assert checked.exit_code == 1, checked.output
    assert (f"{_file_of(out, path)}: sample {sample_id} of batch {second} is no longer admitted: rex rejected it at "
            in checked.stdout)
    assert "1 of this folder's 6 synthetic images is no longer admitted by the review" in checked.stdout


def test_an_approval_since_the_export_leaves_its_folder_ok(exported, home):
    out, _, _ = exported
    with session_scope() as s:
        from db.models import Dataset

        from sqlalchemy import select

        batch = make_batch(s, home, s.scalars(select(Dataset)).one(), n=2, seed=20).id
    ok_json("review", "approve", batch, env=REX)  # it adds to the next export, takes nothing from this one
    checked = ok_json("audit", "folder", out)
    assert checked["ok"] is True and checked["withdrawn"] == []
    [listed] = ok_json("audit", "exports")["exports"]
    assert (listed["folder_check"], listed["withdrawn"]) == ("matches", 0)


def test_an_export_to_a_folder_holding_an_earlier_export_names_it_and_says_nothing_is_merged(exported):
    out, summary, _ = exported
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    line = refused("export", "--dataset", "toy", "--out", out, "--user", "rex", env=REX)
    event = summary["event"]
    assert line == (f"error: --out {out} holds an earlier export (event {event['id']} by rex at "
                    f"{event['ts'][:19].replace('T', ' ')} UTC): an export is never merged into another or written "
                    "over it; give a new folder")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before


def test_the_next_export_says_what_changed_since_the_previous_one(exported, home, tmp_path):
    # Two exports could be told apart by their manifest sha256 alone: which batches came and went, the team diffed
    # the two folders' CSVs by hand, if it still had the old one.
    out, summary, (first, second) = exported
    with session_scope() as s:
        from sqlalchemy import select

        from db.models import Dataset

        third = make_batch(s, home, s.scalars(select(Dataset)).one(), class_index=0, n=2, seed=30).id
    ok_json("review", "approve", third, env=REX)
    ok_json("review", "revoke", first, "--reason", "eights that read as threes", env=ADA)
    again = ok_json("export", "--dataset", "toy", "--out", tmp_path / "again", "--ratio", 2, "--user", "rex", env=REX)
    since = again["since_previous"]
    assert (since["event"], since["folder"], since["same"]) == (summary["event"]["id"], str(out), False)
    assert since["batches"] == {str(first): [3, 0], str(third): [0, 2]}
    assert (since["added"], since["removed"]) == ({str(third): 2}, {str(first): 3})
    assert since["classes"] == {"0": {"real": [6, 6], "synthetic": [0, 2]}, "1": {"real": [3, 3], "synthetic": [6, 3]}}
    shutil.rmtree(tmp_path / "again")  # the folder compared with is gone: the recorded counts still tell
    text = run("export", "--dataset", "toy", "--out", tmp_path / "third", "--ratio", 2, "--user", "rex", env=REX).stdout
    assert (f"since the previous recorded export, event {again['event']['id']} by rex at "
            f"{again['event']['ts'][:19].replace('T', ' ')} UTC ({tmp_path / 'again'}): nothing changed (the same "
            "manifest sha256)") in " ".join(text.split())  # wrapped at 80 columns, the folder whole
    ok_json("review", "reject-sample", _first_sample(second), "--reason", "a second stem", env=REX)
    shutil.rmtree(tmp_path / "third")
    text = run("export", "--dataset", "toy", "--out", tmp_path / "fourth", "--ratio", 2, "--user", "rex", env=REX).stdout
    assert f"\n  batch {second}: 3 → 2 samples\n  class 1 (c1): synthetic 3 → 2\n" in text
    assert f"(`ganaug audit folder {tmp_path / 'third'}` names the decisions that withdrew images)" in text


def test_an_export_of_the_previous_folder_still_here_names_a_swapped_sample(exported, home, tmp_path):
    out, _, (first, _) = exported
    with session_scope() as s:
        from sqlalchemy import select

        from db.models import Dataset

        extra = make_batch(s, home, s.scalars(select(Dataset)).one(), n=1, seed=40).id
    ok_json("review", "approve", extra, env=REX)  # over the cap of 6 until a sample of batch `first` is rejected
    ok_json("review", "reject-sample", _first_sample(first), "--reason", "a second stem", env=REX)
    text = run("export", "--dataset", "toy", "--out", tmp_path / "again", "--ratio", 2, "--user", "rex", env=REX).stdout
    assert f":\n  batch {first}: 1 sample out\n  batch {extra}: 1 sample in\n  (`ganaug audit folder {out}`" in text


def test_an_export_at_a_lower_ratio_says_so_among_what_changed(exported, tmp_path):
    """At --ratio 1 after --ratio 2, `export` said "batch 2: 3 samples out" and sent the user to `audit folder` for the
    decisions that withdrew them, which said "ok": no decision had, the lower ratio had."""
    out, _, _ = exported
    again = ok_json("export", "--dataset", "toy", "--out", tmp_path / "again", "--ratio", 1, "--user", "rex", env=REX)
    assert again["since_previous"]["ratio"] == [2, 1]
    text = run("export", "--dataset", "toy", "--out", tmp_path / "third", "--ratio", 1, "--user", "rex", env=REX).stdout
    said = " ".join(text.split("since the previous")[1].split())
    assert "nothing changed" in said and "here," not in said  # the same ratio
    shutil.rmtree(tmp_path / "third")
    text = run("export", "--dataset", "toy", "--out", tmp_path / "fourth", "--ratio", 2, "--user", "rex", env=REX).stdout
    assert "ratio 2 here, 1 there" not in text  # more admitted: nothing left to explain
    lower = run("export", "--dataset", "toy", "--out", tmp_path / "fifth", "--ratio", 1, "--user", "rex", env=REX).stdout
    assert "  ratio 1 here, 2 there: a lower cap per real image leaves out more samples\n" in lower, lower


MARIA = {"GANAUG_USER": "dr.maria-fernanda.oliveira", "GANAUG_PASSWORD": "maria-password"}


def test_the_next_exports_lines_fit_80_columns_beside_their_folders(exported, tmp_path):
    """With a signer's name of 26 characters, 'since the previous recorded export, event 4 by
    dr.maria-fernanda.oliveira at … UTC (FOLDER):' was 103 columns beside its folder and 'recorded as event 6 by …'
    93: both wrapped between words, the folder whole."""
    ok_json("users", "add", MARIA["GANAUG_USER"], "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "maria-password"})
    first = tmp_path / "team share" / "digits-gated-first-export-for-the-classifier-team"  # a space: never split
    before = ok_json("export", "--dataset", "toy", "--out", first, "--ratio", 2, env=MARIA)
    second = tmp_path / "digits-gated-second-export-for-the-classifier-team"
    text = run("export", "--dataset", "toy", "--out", second, "--ratio", 2, env=MARIA).stdout
    lines = text.splitlines()
    assert max(len(line.replace(str(first), "").replace(str(second), "")) for line in lines) <= 80, text
    said = " ".join(text.split())
    assert (f"since the previous recorded export, event {before['event']['id']} by dr.maria-fernanda.oliveira at "
            f"{before['event']['ts'][:19].replace('T', ' ')} UTC ({first}): nothing changed") in said
    assert any(f"({first}):" in line for line in lines), text  # the folder on one line, to copy
    assert lines[-2].startswith(f"recorded as event {before['event']['id'] + 1} by dr.maria-fernanda.oliveira"), text


def _first_sample(batch: int) -> int:
    from sqlalchemy import select

    from db.models import Sample

    with session_scope() as s:
        return s.scalars(select(Sample.id).where(Sample.batch_id == batch).order_by(Sample.id)).first()


def test_past_twenty_withdrawing_decisions_the_rest_are_counted(tmp_path):
    # A reviewer who rejected 500 samples one at a time would have had 500 lines before the one that says what to do.
    from ganaug.cli.export_since import withdrawn_lines

    withdrawn = [dict(action="reject_sample", event_id=10 + i, actor="rex", ts="2026-12-07T10:00:00+00:00",
                      reason="smear", tag=None, batch_id=1, class_index=1, dataset="toy", class_name="c1",
                      sample_ids=[i], rows=[i], samples=1) for i in range(25)]
    lines = withdrawn_lines(tmp_path, withdrawn, 40)
    assert len(lines) == 22 and lines[0].startswith("NNN_*/000000_synthetic.png: sample 0 of batch 1 is no longer")
    assert lines[20] == "… and 5 more decisions that withdrew images (`--json` lists every one)"
    assert lines[21].startswith("25 of this folder's 40 synthetic images are no longer admitted by the review")


def test_the_same_set_exported_twice_each_folder_is_held_to_its_own_record(exported, tmp_path):
    # Nothing decided between two exports: the same manifest.csv, two records. `audit folder` took the newest record for
    # both and failed the older folder: "log_head.txt says 9 events, …, but export event 11 recorded 10 events".
    out, summary, _ = exported
    again = ok_json("export", "--dataset", "toy", "--out", tmp_path / "again", "--ratio", 2, "--user", "rex", env=REX)
    assert again["manifest_sha256"] == summary["manifest_sha256"]
    for folder, made in ((out, summary), (tmp_path / "again", again)):
        checked = ok_json("audit", "folder", folder)
        assert checked["ok"] is True and checked["export"]["id"] == made["event"]["id"], checked["problems"]


def test_what_moved_since_the_previous_export_is_given_in_order(tmp_path):
    """`export --json`'s since_previous gave the same export's batches in another order each run: they were counted
    from a set, whose order changes with each process's hash seed. Real images first, then the batches in order."""
    from ganaug.export import _moved_since

    rows = [("real", f"r{i}.png") for i in range(3)] + [(str(b), f"s{b}.png") for b in (12, 3, 40, 7, 25, 9, 31, 18)]
    manifest = "path,sha256,batch_id\n" + "".join(f"{p},{'0' * 64},{'' if b == 'real' else b}\n" for b, p in rows)
    (tmp_path / "manifest.csv").write_text(manifest)
    previous = {"folder": str(tmp_path), "manifest_sha256": hashlib.sha256(manifest.encode()).hexdigest()}
    moved = _moved_since(previous, [])
    assert list(moved["removed"].items()) == [("real", 3)] + [(str(b), 1) for b in (3, 7, 9, 12, 18, 25, 31, 40)]
    assert moved["added"] == {}
