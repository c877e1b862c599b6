"""`ganaug users | review | tags | audit | export | jobs`: authenticated decisions, one-line refusals, exports."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import select

from db.engine import dispose_engines, session_scope
from ganaug_core.shown_text import utc_time
from tests.cli.helpers import ok_json, refused, run
from tests.db.helpers import make_batch, make_dataset, rename_classes, sample_ids


REX = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": "rex-password"}
ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password", "GANAUG_ADMIN_PASSWORD": "ada-password"}


@pytest.fixture
def team(home):
    """Dataset 'toy', admin ada, reviewer rex, and two pending scored batches of class 1."""
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    ok_json("users", "add", "rex", "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "rex-password"})
    with session_scope() as s:
        make_dataset(s, home)
    with session_scope() as s:
        from db.datasets import get_dataset

        toy = get_dataset(s, "toy")
        b1, b2 = make_batch(s, home, toy, n=3).id, make_batch(s, home, toy, n=2).id
        return dict(b1=b1, b2=b2, s1=sample_ids(s, b1), s2=sample_ids(s, b2))


def test_users_add_bootstraps_then_needs_an_admin(home):
    assert "the first account must be an admin" in refused("users", "add", "rex", "--password", "rex-password")
    assert ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")["created_by"] is None
    no_login = refused("users", "add", "eve", "--role", "admin", "--password", "eve-password", input="\n")
    assert no_login == "error: who is deciding? pass --user NAME or set GANAUG_USER"
    msg = refused("users", "add", "eve", "--password", "eve-password", env={"GANAUG_USER": "ada",
                                                                           "GANAUG_ADMIN_PASSWORD": "wrong"})
    assert msg == ("error: unknown user, wrong password or disabled account for 'ada' (an admin "
                   "can tell you which)")
    out = ok_json("users", "add", "rex", "--password", "rex-password", env={"GANAUG_USER": "ada"}, input="ada-password\n")
    assert out == {"user_id": 2, "name": "rex", "role": "reviewer", "created_by": "ada"}
    assert "at least 8 characters" in refused("users", "add", "bob", "--password", "short", env=ADA)
    assert "--role must be one of" in refused("users", "add", "bob", "--role", "boss", "--password", "longenough", env=ADA)
    assert "already exists" in refused("users", "add", "rex", "--password", "rex-password", env=ADA)
    assert refused("users", "add", "Rex", "--password", "rex-password", env=ADA) == (
        "error: user 'rex' already exists, and names must differ by more than letter case")


def test_the_free_form_tag_needs_a_reason(team):
    assert refused("review", "tag", team["s1"][0], "other", env=REX) == (
        "error: the tag 'other' needs a reason saying what the problem is")
    assert ok_json("review", "tag", team["s1"][0], "other", "--reason", "odd halo", env=REX)["event_id"]


def test_an_empty_password_variable_counts_as_unset(team):
    env = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": ""}  # `GANAUG_PASSWORD= ganaug ...`: the password comes from stdin
    assert ok_json("review", "tag", team["s1"][0], "blur", env=env, input="rex-password\n")["event_id"]


def test_audit_log_names_the_valid_filters_for_a_typo(team):
    ok_json("review", "approve", team["b1"], env=REX)
    assert refused("audit", "log", "--action", "aprove").startswith("error: --action 'aprove' matches nothing the log "
                                                                     "records: use one of add_tag, add_user, approve,")
    assert "use one of batch, dataset, sample, tag, user" in refused("audit", "log", "--target-type", "batches")
    assert [e["action"] for e in ok_json("audit", "log", "--action", "approve")["events"]] == ["approve"]
    accounts = run("audit", "log", "--target-type", "user").stdout.splitlines()
    assert accounts[0].split()[-3:] == ["user", "2", "(rex)"]  # account events name the account


def test_audit_log_keeps_long_names_whole(team, home):
    """Each event names its signer and the account it acts on whole, past 80 columns where they are long: cut to a
    column, 'dr.maria-fernanda.oliveira' and a 'dr.maria-felix' would read alike in the record of who decided."""
    maria = {"GANAUG_USER": "dr.maria-fernanda.oliveira", "GANAUG_PASSWORD": "maria-password"}
    ok_json("users", "add", maria["GANAUG_USER"], "--role", "reviewer", "--reason", "joins the dermatology review",
            env={**ADA, "GANAUG_PASSWORD": "maria-password"})
    ok_json("review", "tag", team["s1"][0], "blur", env=maria)
    lines = run("audit", "log").stdout.splitlines()
    assert lines[0].endswith(" dr.maria-fernanda.oliveira tag            sample " + str(team["s1"][0]) + " [blur]")
    assert lines[1].endswith(" add_user       user 3 (dr.maria-fernanda.oliveira)  — joins the dermatology review")


def test_audit_log_says_how_many_events_its_limit_left_out(team):
    for sample in team["s1"]:  # the dataset's ingest, 2 accounts joined, then 3 tags: 6 events
        ok_json("review", "tag", sample, "blur", env=REX)
    lines = run("audit", "log", "--limit", "2").stdout.splitlines()
    assert len(lines) == 4 and lines[-2:] == ["2 of 6 events shown: --limit 6 shows them all, --actor, --action, "
                                              "--target-type", "  or --since narrow them"]  # wrapped at 80 columns
    assert max(map(len, lines)) <= 80, lines  # the events' times to the second: with microseconds they made 85
    assert ok_json("audit", "log", "--limit", "2", "--action", "tag")["total"] == 3
    assert len(run("audit", "log", "--limit", "6").stdout.splitlines()) == 6  # all shown: no last line
    assert refused("audit", "log", "--limit", "0") == "error: --limit must be at least 1, got 0"


def test_users_add_without_a_password_or_a_terminal_is_one_line_exit_2(home, monkeypatch):
    # Each refusal names the pipe too: `echo "$PW" | ganaug ...` works (README), and the message said only the rest.
    monkeypatch.delenv("GANAUG_PASSWORD", raising=False)
    monkeypatch.delenv("GANAUG_ADMIN_PASSWORD", raising=False)
    assert refused("users", "add", "alice", "--role", "admin", input="") == (
        "error: no password given: type it at the prompt of a terminal, set GANAUG_PASSWORD or pipe it on stdin "
        "(--password works too, but puts it in `ps` and the shell's history)")  # README discourages it: not first
    assert ok_json("users", "list")["users"] == []
    ok_json("users", "add", "alice", "--role", "admin", input="alice-password\n")  # a piped password still works
    assert refused("users", "add", "carol", "--user", "alice", "--password", "carol-password", input="") == (
        "error: no password for 'alice': set GANAUG_ADMIN_PASSWORD, pipe it on stdin, or type it at the prompt of a "
        "terminal")
    assert [u["name"] for u in ok_json("users", "list")["users"]] == ["alice"]
    assert refused("users", "password", "alice", input="alice-password\n") == (  # the signer's read, no new one
        "error: no new password given: type it at the prompt of a terminal or pipe it on stdin (--password works "
        "too, but puts it in `ps` and the shell's history)")


def test_users_add_in_a_real_process_without_a_terminal_prints_no_getpass_warning(home):
    env = {k: v for k, v in os.environ.items() if k not in ("GANAUG_PASSWORD", "GANAUG_ADMIN_PASSWORD")}
    proc = subprocess.run([sys.executable, "-m", "ganaug", "users", "add", "alice", "--role", "admin"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, start_new_session=True)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: no password given: type it at the prompt of a terminal, set "
                                        "GANAUG_PASSWORD or pipe it on stdin (--password works too, but puts it in "
                                        "`ps` and the shell's history)"]


def test_a_rejection_is_withdrawn_while_the_batch_is_pending(team):
    sid = team["s2"][0]
    ok_json("review", "reject-sample", sid, "--reason", "misclick", env=REX)
    assert "missing option '--reason'" in refused("review", "restore-sample", sid, env=REX)
    out = ok_json("review", "restore-sample", sid, "--reason", "the strokes are fine", env=REX)
    assert (out["action"], out["target_id"], out["actor"]) == ("restore_sample", sid, "rex")
    assert [r["rejected"] for r in ok_json("review", "samples", team["b2"])["samples"] if r["id"] == sid] == [False]
    assert refused("review", "restore-sample", sid, "--reason", "x", env=REX).startswith(  # who restored it, and when
        f"error: sample {sid} is not rejected (rex restored it at ")
    ok_json("review", "reject-sample", sid, "--reason", "smudge after all", env=REX)
    ok_json("review", "approve", team["b2"], env=REX)
    assert "can be withdrawn only while its batch is pending" in refused("review", "restore-sample", sid, "--reason",
                                                                        "x", env=REX)
    assert [e["action"] for e in ok_json("audit", "log", "--action", "restore_sample")["events"]] == ["restore_sample"]
    assert ok_json("audit", "verify")["ok"] is True


def test_decisions_authenticate_and_are_logged(team):
    out = ok_json("review", "approve", team["b1"], "--reason", "clean digits", env=REX)
    assert out["action"] == "approve" and out["actor"] == "rex" and out["role"] == "reviewer"
    out = ok_json("review", "reject-sample", team["s1"][0], "--reason", "stroke broken", env=REX)
    assert out["target_type"] == "sample"
    assert ok_json("review", "tag", team["s2"][0], "blur", env=REX)["action"] == "tag"
    assert ok_json("review", "untag", team["s2"][0], "blur", env=REX)["action"] == "untag"
    assert ok_json("review", "reject", team["b2"], "--reason", "all blurry", env=REX)["action"] == "reject"
    assert ok_json("review", "revoke", team["b1"], "--reason", "audit finding", "--user", "ada", env=ADA)["actor"] == "ada"
    log = ok_json("audit", "log", "--limit", "6")["events"]
    assert [e["action"] for e in log] == ["revoke", "reject", "untag", "tag", "reject_sample", "approve"]
    assert log[0]["reason"] == "audit finding"
    assert ok_json("audit", "verify")["ok"] is True
    # People see which tag: in the confirmation and in the log's text.
    said = run("review", "tag", team["s2"][1], "blur", env=REX)
    assert said.exit_code == 0 and said.stdout.startswith(f"tag [blur] sample {team['s2'][1]} recorded as event ")
    assert f"tag            sample {team['s2'][1]} [blur]" in run("audit", "log", "--limit", "1").stdout


def test_password_can_come_from_a_prompt(team):
    result = run("review", "approve", team["b1"], "--user", "rex", input="rex-password\n")
    assert result.exit_code == 0, result.output
    assert "approve batch" in result.stdout


@pytest.mark.parametrize(
    "args, env, message",
    [
        (("review", "approve", 999), REX, "error: unknown batch 999"),
        (("review", "approve", "{b1}"), {"GANAUG_PASSWORD": "x"}, "error: who is deciding? pass --user NAME or set GANAUG_USER"),
        (("review", "approve", "{b1}"), {**REX, "GANAUG_PASSWORD": "nope"},
         "error: unknown user, wrong password or disabled account for 'rex' (an admin can tell you which)"),
        (("review", "reject", "{b1}", "--reason", " "), REX, "error: a reason is required to reject batch {b1}"),
        (("review", "revoke", "{b1}", "--reason", "x"), REX, "error: batch {b1} is pending; only an approved batch can be revoked"),
        (("review", "tag", "{s1}", "sparkles"), REX, "error: tag 'sparkles' is not in the taxonomy"),
        (("review", "reject-sample", 10**6, "--reason", "x"), REX, "error: unknown sample 1000000"),
        (("tags", "add", "halo"), REX, "error: 'rex' is a reviewer; only admin may edit the tag taxonomy"),
        (("users", "disable", "ada"), ADA, "error: 'ada' is the last active admin and cannot be disabled"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(team, args, env, message):
    args = [str(a).format(b1=team["b1"], s1=team["s1"][0]) for a in args]
    before = ok_json("audit", "verify")["checked"]
    assert refused(*args, env=env).startswith(message.format(b1=team["b1"]))
    assert ok_json("audit", "verify")["checked"] == before


def test_reject_without_reason_option_is_a_usage_error(team):
    result = run("review", "reject", team["b1"], env=REX)
    assert result.exit_code == 2 and "--reason" in result.output


def test_disabled_account_cannot_decide(team):
    ok_json("users", "disable", "rex", "--reason", "left the project", env=ADA)
    # Its right password is answered as a wrong one, as in the app: "disabled" confirmed the password to a guesser.
    assert refused("review", "approve", team["b1"], env=REX) == refused("review", "approve", team["b1"],
                                                                       env={**REX, "GANAUG_PASSWORD": "nope"})
    ok_json("users", "enable", "rex", env=ADA)
    ok_json("review", "approve", team["b1"], env=REX)


def test_tags_list_and_admin_add(team):
    ok_json("tags", "add", "halo", "--non-blocking", "--description", "bright ring", env=ADA)
    tags = {t["name"]: t for t in ok_json("tags", "list")["tags"]}
    assert tags["halo"]["blocking"] is False and tags["blur"]["blocking"] is True and len(tags) == 8


def test_audit_verify_exits_1_and_names_the_broken_event(team, home):
    ok_json("review", "approve", team["b1"], env=REX)
    event_id = ok_json("review", "reject", team["b2"], "--reason", "blurry", env=REX)["event_id"]
    ok_json("review", "tag", team["s1"][1], "blur", env=REX)
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")
    con.execute("DROP TRIGGER events_no_update")
    con.execute("UPDATE events SET reason = 'fine' WHERE id = ?", (event_id,))
    con.commit()
    con.close()
    result = run("audit", "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["first_broken_id"] == event_id
    assert run("audit", "verify").stdout.startswith(f"BROKEN: event {event_id}")
    export = run("export", "--dataset", "toy", "--out", home / "exported")  # a broken log admits nothing
    assert export.exit_code == 2 and "the decision log is broken" in export.stderr, export.output
    assert not (home / "exported").exists()


def test_audit_verify_draws_a_bar_over_a_long_log_only(team, monkeypatch):
    import ganaug.cli.audit

    ok_json("review", "approve", team["b1"], env=REX)  # an ingest, 2 accounts joined, 1 approval: 4 events
    quiet = run("audit", "verify")
    assert quiet.exit_code == 0 and quiet.stderr == ""  # a short log: no bar
    monkeypatch.setattr(ganaug.cli.audit, "VERIFY_BAR_EVENTS", 4)  # as if 4 events took seconds to walk
    monkeypatch.setattr(ganaug.cli.audit, "_BAR_EVERY", 2)
    long = run("audit", "verify")
    assert long.exit_code == 0 and long.stdout == quiet.stdout
    assert "verify: 100%" in long.stderr and "4/4" in long.stderr, long.stderr


def test_an_export_records_the_log_head_and_verify_notices_a_truncated_tail(team, home):
    ok_json("review", "approve", team["b1"], env=REX)
    exported = ok_json("export", "--dataset", "toy", "--out", home / "out", "--ratio", "10")
    events, head = (home / "out" / "log_head.txt").read_text().split()
    assert exported["log_head"] == {"events": int(events), "hash": head}
    # Wrapped at 80 columns, "head HASH" stays on one line: `grep 'head '` finds the hash beside it.
    plain = run("export", "--dataset", "toy", "--out", home / "out2", "--ratio", "10").stdout.splitlines()
    assert any(line.strip().endswith(f"head {head}") for line in plain), plain
    assert ok_json("audit", "verify", "--head", head)["head_found"] is True
    said = run("audit", "verify", "--head", head).stdout.splitlines()  # only --json had said that it was found
    assert said[-1] == f"head {head} found: the log still holds its first {events} events unchanged"
    revoke = ok_json("review", "revoke", team["b1"], "--reason", "second look", env=REX)["event_id"]
    after = ok_json("audit", "verify")["head_hash"]
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")  # someone deletes the revocation, and the batch's status with it
    con.execute("DROP TRIGGER events_no_delete")
    con.execute("DELETE FROM events WHERE id = ?", (revoke,))
    con.execute("UPDATE batches SET status = 'approved' WHERE id = ?", (team["b1"],))
    con.commit()
    con.close()
    assert ok_json("audit", "verify")["ok"] is True  # a chain alone cannot see its newest events go
    result = run("audit", "verify", "--head", after)
    assert result.exit_code == 1 and result.stdout.startswith("TRUNCATED:")


def test_verify_takes_the_line_of_log_head_txt_and_refuses_what_is_no_hash(team, home):
    ok_json("review", "approve", team["b1"], env=REX)
    ok_json("export", "--dataset", "toy", "--out", home / "out")
    line = (home / "out" / "log_head.txt").read_text()  # '<events> <hash>\n', as `--head "$(cat log_head.txt)"` passes it
    assert ok_json("audit", "verify", "--head", line)["head_found"] is True  # it had said TRUNCATED and exited 1
    assert ok_json("audit", "verify", "--head", line.split()[1].upper())["head_found"] is True
    for bad in ("abc", "", "gated/log_head.txt", "1 2 3"):
        assert "is not a head hash" in refused("audit", "verify", "--head", bad)


def test_export_from_a_home_without_the_dataset_files_is_refused(team, home):
    import shutil

    shutil.move(home / "datasets", home / "elsewhere")  # the database is shared, the files are not
    result = run("export", "--dataset", "toy", "--out", home / "out")
    assert result.exit_code == 2 and "is GANAUG_HOME the folder the dataset was ingested into?" in result.stderr
    assert not (home / "out").exists()


def test_audit_verify_exits_1_when_the_tables_disagree_with_the_log(team, home):
    ok_json("review", "approve", team["b1"], env=REX)
    ok_json("review", "revoke", team["b1"], "--reason", "halo", env=REX)
    assert "the review state matches it" in run("audit", "verify").stdout
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")
    con.execute("UPDATE batches SET status = 'approved' WHERE id = ?", (team["b1"],))  # no hash covers this row
    con.commit()
    con.close()
    result = run("audit", "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["first_broken_id"] is None
    assert report["state_mismatches"] == [f"batch {team['b1']} is 'approved' in the batches table but 'revoked' in the log"]
    assert run("audit", "verify").stdout.startswith("STATE DIFFERS: all 5 events verified")


def _manifest(out):
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


# Run in the child before the export: it waits after writing its first image, a point where it is surely mid-way (a
# FIFO in an image's place did that until the export learnt to refuse what is not a plain file).
PAUSE_AFTER_FIRST_IMAGE = """
import time
import ganaug.export as export
real = export._write_private
def paused(path, data):
    real(path, data)
    time.sleep(600)
export._write_private = paused
"""


def test_an_export_stopped_by_sigterm_leaves_no_partial_folder(team, home, tmp_path):
    import signal
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSE_AFTER_FIRST_IMAGE + "import sys; from ganaug.cli import main; sys.argv = ['ganaug', "
         f"'export', '--dataset', 'toy', '--out', {str(tmp_path / 'out')!r}]; main()"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root,
        env={**os.environ, "GANAUG_HOME": str(home), "PYTHONPATH": str(root)})
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.partial-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".out.partial-*")), proc.communicate()
    proc.send_signal(signal.SIGTERM)  # `kill`, `timeout`: it had died on the spot, its staging folder left behind
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and b"Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


@pytest.mark.parametrize("ratio", ["-1", "nan", "inf"])
def test_export_refuses_a_bad_ratio_naming_the_option(team, home, tmp_path, ratio):
    message = refused("export", "--dataset", "toy", "--out", tmp_path / "out", "--ratio", ratio)
    assert message == f"error: --ratio must be a finite number ≥ 0, got {float(ratio)}"  # was 'the synthetic:real ratio'
    assert not (tmp_path / "out").exists()


def test_export_writes_imagefolder_manifest_and_hash_and_revoke_changes_it(team, home, tmp_path):
    ok_json("review", "approve", team["b1"], env=REX)
    first = ok_json("export", "--dataset", "toy", "--out", tmp_path / "e1", "--ratio", "1")
    out = tmp_path / "e1"
    data = (out / "manifest.csv").read_bytes()
    assert hashlib.sha256(data).hexdigest() == first["manifest_sha256"]
    images_sha, classes_sha = (hashlib.sha256((out / name).read_bytes()).hexdigest() for name in ("images.csv",
                                                                                                   "classes.csv"))
    assert (out / "manifest.sha256").read_text() == (f"{first['manifest_sha256']}  manifest.csv\n{images_sha}  images.csv\n"
                                                     f"{classes_sha}  classes.csv\n")
    rows = _manifest(out)
    assert len(rows) == 9 + 3 and sum(r["source"] == "synthetic" for r in rows) == 3
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(files) == 12 and files[0] == "000_c0/000000_real.png" and "001_c1/000011_synthetic.png" in files
    for i, r in enumerate(rows):  # every exported file is the manifest's bytes
        folder = f"{int(r['class_index']):03d}_c{r['class_index']}"
        blob = (out / folder / f"{i:06d}_{r['source']}.png").read_bytes()
        assert hashlib.sha256(blob).hexdigest() == r["sha256"]
    assert "holds an earlier export (unsigned, or edited since" in refused("export", "--dataset", "toy", "--out", out)

    ok_json("review", "revoke", team["b1"], "--reason", "artifact", env=REX)
    second = ok_json("export", "--dataset", "toy", "--out", tmp_path / "e2")
    assert second["manifest_sha256"] != first["manifest_sha256"]
    assert all(r["source"] == "real" for r in _manifest(tmp_path / "e2"))
    assert not list((tmp_path / "e2").rglob("*synthetic*"))
    assert "unknown dataset" in refused("export", "--dataset", "nope", "--out", tmp_path / "e3")
    assert not (tmp_path / "e3").exists()


def test_pending_names_the_class_and_dates_in_iso_format(team):
    text = run("review", "pending")
    assert text.exit_code == 0 and text.stdout.splitlines() == [f"batch {team['b1']} of toy: class 1 (c1), 3 samples",
                                                                f"batch {team['b2']} of toy: class 1 (c1), 2 samples"]
    rows = ok_json("review", "pending")["batches"]
    assert all(dt.datetime.fromisoformat(r["created_at"]) and "T" in r["created_at"] for r in rows)
    # A batch half reviewed: its line said "3 samples", where the app's picker says "3 samples · 1 rejected".
    ok_json("review", "reject-sample", team["s1"][0], "--reason", "smudge", env=REX)
    first = run("review", "pending").stdout.splitlines()[0]
    assert first == f"batch {team['b1']} of toy: class 1 (c1), 3 samples, 1 rejected"
    assert [r["rejected"] for r in ok_json("review", "pending")["batches"]] == [1, 0]


def test_export_refuses_samples_smaller_than_the_datasets_images(team, home, tmp_path):
    with session_scope() as s:
        from db.datasets import get_dataset

        batch = make_batch(s, home, get_dataset(s, "toy"), n=2, size=4)  # stored at its generator's 4×4
        small, run_id = batch.id, batch.run_id
    ok_json("review", "approve", small, env=REX)
    message = refused("export", "--dataset", "toy", "--out", tmp_path / "mixed").splitlines()[-1]  # after its bar
    assert message.startswith(f"error: batch {small} (class 1) holds 4×4 samples but dataset 'toy' holds 8×8 images")
    assert message.endswith(f"`ganaug review revoke {small} --reason \"stored below the dataset's size\"`, then "
                            f"replace it with `ganaug generate --run {run_id} --class 1 --n 2` and review the "
                            "new batch")
    assert not (tmp_path / "mixed").exists() and not list(tmp_path.glob(".mixed.partial-*"))


def test_an_export_that_admits_no_sample_says_so_and_why(team, home, tmp_path):
    def warnings(*args):
        result = run("export", "--dataset", "toy", *args)
        assert result.exit_code == 0, result.output
        return [line for line in result.stderr.splitlines() if line.startswith("warning:")]

    # Nothing approved yet: the set was written with real images only, and nothing said so beyond '+ 0 synthetic'.
    assert warnings("--out", tmp_path / "a") == [
        "warning: no synthetic sample was admitted, so the set holds the real training images only; "
        "left out: in a pending batch (5 samples)"]
    assert warnings("--out", tmp_path / "b", "--ratio", "0") == []  # asked for: no warning
    ok_json("review", "approve", team["b1"], env=REX)
    assert warnings("--out", tmp_path / "c") == []


def test_export_warns_on_stderr_about_each_kind_of_integrity_exclusion(team, home, tmp_path):
    ok_json("review", "approve", team["b1"], env=REX)
    tampered = ok_json("review", "samples", team["b1"])["samples"][0]["path"]
    (home / tampered).write_bytes(b"not what was approved")
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")
    con.execute("UPDATE batches SET status = 'approved' WHERE id = ?", (team["b2"],))  # never approved in the log
    con.commit()
    con.close()
    expected = ["warning: 1 image left out: synthetic file missing or changed",
                "warning: 2 images left out: batch approved in the table but not in the log"]
    text = run("export", "--dataset", "toy", "--out", tmp_path / "text")
    assert text.exit_code == 0, text.output
    assert [line for line in text.stderr.splitlines() if line.startswith("warning:")] == expected
    as_json = run("export", "--dataset", "toy", "--out", tmp_path / "json", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert [line for line in as_json.stderr.splitlines() if line.startswith("warning:")] == expected
    assert json.loads(as_json.stdout)["excluded"]["synthetic file missing or changed"] == 1


def test_jobs_list_and_cancel(team):
    from db.jobs import submit_job

    with session_scope() as s:
        job_id = submit_job(s, "sleep", {}, "k").id
    assert ok_json("jobs", "cancel", job_id)["status"] == "cancelled"
    jobs = ok_json("jobs", "list")["jobs"]
    assert [(j["id"], j["status"]) for j in jobs] == [(job_id, "cancelled")]
    assert refused("jobs", "cancel", 77) == "error: unknown job 77"


def test_jobs_list_shows_a_failed_jobs_first_line_and_json_the_traceback(team):
    from db.jobs import claim_job, fail_job, submit_job

    error = "no space left on the disk: free some space there\n\nTraceback (most recent call last):\n  File x"
    with session_scope() as s:
        job_id = submit_job(s, "sleep", {}, "k").id
        claim_job(s, job_id, 1)
        fail_job(s, job_id, error)
    text = run("jobs", "list")
    assert text.exit_code == 0 and text.stdout.splitlines() == [
        f"{job_id:>5} sleep           failed      0%  no space left on the disk: free some space there"]
    assert ok_json("jobs", "list")["jobs"][0]["error"] == error


def test_review_samples_lists_a_page_with_scores_and_tags(team):
    ok_json("review", "tag", team["s1"][1], "blur", env=REX)
    out = ok_json("review", "samples", team["b1"], "--sort", "nn_distance", "--desc")
    assert out["total"] == 3 and [x["id"] for x in out["samples"]] == team["s1"][::-1]
    assert out["samples"][1]["tags"] == ["blur"] and "class_confidence" in out["samples"][0]
    assert ok_json("review", "samples", team["b1"], "--tag", "blur")["total"] == 1
    assert "cannot sort by" in refused("review", "samples", team["b1"], "--sort", "sha256")
    assert refused("review", "samples", 999) == "error: unknown batch 999"


def test_a_batch_scored_by_an_older_check_says_so_with_the_rescore(team, home):
    """A reviewer about to approve on a memorization flag from an older, weaker copy check must be able to tell."""
    from db.datasets import get_dataset
    from ganaug_core.scoring import SCORING_VERSION

    with session_scope() as s:  # scored before versions were recorded (NULL), and by an older version
        unknown = make_batch(s, home, get_dataset(s, "toy"), n=2, scoring_version=None).id
        older = make_batch(s, home, get_dataset(s, "toy"), n=2, scoring_version=SCORING_VERSION - 1).id
        unscored = make_batch(s, home, get_dataset(s, "toy"), n=2, scored=False).id
    lines = run("review", "samples", unknown).stdout.splitlines()
    at = lines.index(f"scored by an older check (before versions were recorded; now version {SCORING_VERSION}):")
    assert lines[at + 1] == f"  `ganaug evaluate batch {unknown} --rescore` scores it again" and len(lines) == at + 5
    assert f"scored by an older check (version {SCORING_VERSION - 1}; now version {SCORING_VERSION}):" in run(
        "review", "samples", older).stdout.splitlines()
    for today in (team["b1"], unscored):  # today's scoring, or none yet: nothing said
        assert "older" not in run("review", "samples", today).stdout
    said = ok_json("review", "samples", unknown)
    assert (said["scoring_version"], said["current_scoring_version"], said["scored"]) == (None, SCORING_VERSION, True)
    assert ok_json("review", "samples", team["b1"])["scoring_version"] == SCORING_VERSION
    pending = " ".join(run("review", "pending").stdout.split())  # its lines wrap at 80 columns
    assert pending.count("(scored by an older check)") == 2 and pending.count("(not scored yet)") == 1
    assert [b["scoring_version"] for b in ok_json("review", "pending")["batches"]] == [
        SCORING_VERSION, SCORING_VERSION, None, SCORING_VERSION - 1, None]


def test_export_to_an_impossible_out_names_the_path_given(team, home, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert refused("export", "--dataset", "toy", "--out", afile / "sub") == (
        f"error: --out {afile / 'sub'}: {afile} is a file, not a folder")
    proc = refused("export", "--dataset", "toy", "--out", "/proc/ganaug-export")  # not the internal staging name
    assert proc.startswith("error: --out /proc/ganaug-export: cannot ") and ".partial" not in proc


def test_approve_says_how_many_samples_it_admits(team):
    ok_json("review", "reject-sample", team["s1"][0], "--reason", "smudge", env=REX)
    ok_json("review", "tag", team["s1"][1], "blur", env=REX)  # a blocking tag
    said = run("review", "approve", team["b1"], env=REX)
    assert said.exit_code == 0, said.output  # it had said only 'approve batch 1 recorded as event ...'
    assert said.stdout.splitlines()[0].startswith(f"approve batch {team['b1']} recorded as event ")
    # the event's line, 89 columns with rex and the time as the log stores it, fits in 80 with it to the second
    lines = said.stdout.splitlines()
    assert re.fullmatch(r".* at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", lines[0]) and lines[1:] == [
        f"approved batch {team['b1']}: 1 of its 3 samples are admitted into the gated training set (1",
        "  rejected and 1 with a blocking tag stay out)"]
    out = ok_json("review", "approve", team["b2"], env=REX)
    assert out["admits"] == {"samples": 2, "rejected": 0, "blocked": 0, "elsewhere": 0, "admitted": 2}


def test_export_notes_approved_batches_scored_by_an_older_check(team, home, tmp_path):
    # The gate leaves out what a batch's scoring flagged as memorized: a batch scored before the copy check's colour
    # pass may hold a copy it would flag today, and the export said nothing of it.
    from db.models import Batch

    ok_json("review", "approve", team["b1"], env=REX)
    current = run("export", "--dataset", "toy", "--out", tmp_path / "now")
    assert current.exit_code == 0 and "older copy check" not in current.stderr
    with session_scope() as s:
        s.get(Batch, team["b1"]).scoring_version = None  # scored before versions were recorded
    older = run("export", "--dataset", "toy", "--out", tmp_path / "older")
    assert older.exit_code == 0, older.output
    assert (f"note: approved batch {team['b1']} was scored by an older copy check (before versions were recorded; now "
            f"version 1): `ganaug evaluate batch {team['b1']} --rescore` checks it again, and the next export leaves out "
            "what it flags as memorized") in " ".join(older.stderr.split())


def test_export_says_how_many_approved_samples_the_cap_left_out(team, home, tmp_path):
    ok_json("review", "approve", team["b1"], env=REX)
    ok_json("review", "approve", team["b2"], env=REX)  # 5 approved samples of class 1, which has 3 real images
    result = run("export", "--dataset", "toy", "--out", tmp_path / "capped")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()  # it had said '3 real + 3 synthetic' and nothing of the other 2
    assert lines[2:4] == ["     6          0  0 (c0)", "     3          3  1 (c1)  (2 approved left out over the cap)"]
    assert lines[4:6] == ["2 approved samples were left out over the cap: --ratio 1 caps each class's",
                          "  synthetic samples at 1× its real training images; a higher --ratio admits more"]
    assert ok_json("export", "--dataset", "toy", "--out", tmp_path / "json")["over_cap"] == {"1": 2}
    roomy = run("export", "--dataset", "toy", "--out", tmp_path / "roomy", "--ratio", "2")
    assert roomy.exit_code == 0 and "over the cap" not in roomy.stdout, roomy.output
    assert "     3          5  1 (c1)\n" in roomy.stdout

    # A long class name: its row, the cut name and the note beside it, was 105 columns; it fits 80.
    from db.models import Dataset

    with session_scope() as s:
        rename_classes(s, s.scalars(select(Dataset)).one(), ["c0", "Tomato___Spider_mites Two-spotted_spider_mite"])
    long = run("export", "--dataset", "toy", "--out", tmp_path / "long").stdout.splitlines()
    assert long[3:5] == ["     3          3  1 (Tomato___Spider_mites Two-spotted_spide…)",
                         "                   (2 approved left out over the cap)"], long
    assert max(map(len, long[1:7])) <= 80, long


def test_a_decision_by_a_long_named_reviewer_fits_80_columns(team):
    """'approve batch 1 recorded as event 3 by dr.maria-fernanda.oliveira (admin) at 2026-12-07T20:33:01.910116+00:00'
    was 109 columns, and the next line 117 with what stays out: both wrapped between words."""
    maria = {"GANAUG_USER": "dr.maria-fernanda.oliveira", "GANAUG_PASSWORD": "maria-password"}
    ok_json("users", "add", maria["GANAUG_USER"], "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "maria-password"})
    ok_json("review", "reject-sample", team["s1"][0], "--reason", "smudge", env=maria)
    said = run("review", "approve", team["b1"], env=maria).stdout
    assert max(map(len, said.splitlines())) <= 80, said
    event = ok_json("audit", "log", "--action", "approve")["events"][0]
    assert " ".join(said.split()) == (f"approve batch {team['b1']} recorded as event {event['id']} by "
                                      f"dr.maria-fernanda.oliveira (reviewer) at {utc_time(event['ts'])} approved batch "
                                      f"{team['b1']}: 2 of its 3 samples are admitted into the gated training set "
                                      "(1 rejected stay out)")


def test_review_samples_says_where_each_sample_is_to_look_at(team, home):
    # A reviewer on the command line had the ids and scores of a page, and no image file to open.
    from pathlib import Path

    text = run("review", "samples", team["b1"]).stdout
    head, rows = text.split("\nid ", 1)  # the folder (on a line of its own when the line would pass 80 columns)
    folder = Path(head.split(", in", 1)[1].split()[0])
    assert folder.is_absolute() and folder.is_dir(), head
    assert rows.split("\n")[0].split() == ["conf", "realism", "novelty", "file"]
    paths = [x["path"] for x in ok_json("review", "samples", team["b1"])["samples"]]
    for line, path, sid in zip(rows.split("\n")[1:], paths, team["s1"]):
        name = Path(path).name
        assert line.split()[0] == str(sid) and line.split()[4] == name, line
        assert (folder / name).is_file()


def test_pending_batches_of_a_long_named_class_fit_80_columns(team, home):
    """'batch 2 of plantvillage_leaf_diseases: class 8 (Tomato___Spider_mites Two-spotted_spider_mite), 16
    samples' was 106 columns: the name is cut as `data report` cuts it, the line wrapped; `--json` has it whole."""
    from db.models import Dataset

    with session_scope() as s:
        toy = s.scalars(select(Dataset)).one()
        toy.name = "plantvillage_leaf_diseases"
        toy.class_names = ["c0", "Tomato___Spider_mites Two-spotted_spider_mite"]
    lines = run("review", "pending").stdout.splitlines()
    assert lines[:2] == [f"batch {team['b1']} of plantvillage_leaf_diseases: class 1 (Tomato___Spider_mites",
                         "  Two-spotted_spide…), 3 samples"], lines
    assert max(map(len, lines)) <= 80
    assert ok_json("review", "pending")["batches"][0]["dataset"] == "plantvillage_leaf_diseases"


def test_a_page_of_samples_fits_80_columns(team, home):
    """Each row was 95 columns ('seed' and a 19-digit seed that the file's name repeats, a word before each score)
    and 108 with MEMORIZED, rejected and a tag: what passes 80 goes on the next line, under the file's name."""
    from db.models import Sample

    sid = team["s1"][0]
    with session_scope() as s:
        sample = s.get(Sample, sid)
        sample.memorized, sample.path = True, "batches/1/00000_c1_s4086104717852921413.png"  # as `generate` names it
    ok_json("review", "reject-sample", sid, "--reason", "a copy", env=REX)
    ok_json("review", "tag", sid, "blur", env=REX)
    lines = run("review", "samples", team["b1"]).stdout.splitlines()
    # The batch's folder is a path, kept whole on its own line (the test's own is long on a CI machine).
    assert all(len(line) <= 80 for line in lines if not line.strip().startswith("/")), "\n".join(lines)
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith(f"{sid} "))
    column = lines[at].index("00000_c1_s4086104717852921413.png MEMORIZED")
    assert lines[at + 1] == " " * column + "rejected  [blur]", lines[at:at + 2]
    assert "MEMORIZED" in lines[at]
    assert ok_json("review", "samples", team["b1"])["samples"][0]["seed"] is not None


def test_export_cuts_a_class_name_too_long_for_a_folder(home, tmp_path):
    # A class folder of 255 characters (the file system's most) stopped the export with "File name too long".
    from tests.core.test_datasets import make_image_folder

    long_name = "y" * 255
    src = make_image_folder(tmp_path / "src", classes=("a", "crème", long_name), per_class=(6, 4, 4))
    assert ok_json("data", "ingest", str(src), "--name", "odd", "--resolution", "8")["images"] == 14
    exported = ok_json("export", "--dataset", "odd", "--out", tmp_path / "out")
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert folders == ["000_a", "001_crème", "002_" + "y" * 100]
    assert exported["manifest_sha256"] and len(_manifest(tmp_path / "out")) == 11
    assert len(list((tmp_path / "out").rglob("*.png"))) == 11


def test_tags_list_fits_80_columns(home):
    # The name column was 20 wide whatever the names: the default taxonomy's first line was 81 columns.
    lines = run("tags", "list").stdout.splitlines()
    assert lines[0] == "wrong class       blocking  Does not look like the class it was generated for."
    assert max(map(len, lines)) <= 80
