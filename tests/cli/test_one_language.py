"""The command line says one thing one way: an event's time as '2026-12-07 22:05:55 UTC' in every human line (as the
app and the review's refusals say it; `--json` keeps the log's whole value), lines that begin in lower case, and
the files an ingest's notes name, each from the folder ingested."""

from __future__ import annotations

import re

import pytest

from db.engine import session_scope
from db.models import Run
from ganaug_core.shown_text import utc_time
from tests.cli.helpers import ok_json, run
from tests.db.helpers import make_batch, make_dataset, sample_ids

ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password", "GANAUG_ADMIN_PASSWORD": "ada-password"}
WHOLE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")  # the log's `ts`, as `--json` gives it
SHOWN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


@pytest.fixture
def toy(home):
    """Dataset 'toy', admin ada, and a pending batch of 3 samples."""
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    with session_scope() as s:
        toy = make_dataset(s, home)
        batch = make_batch(s, home, toy, n=3).id
        return dict(batch=batch, samples=sample_ids(s, batch))


def test_an_events_time_reads_alike_in_every_line_and_whole_in_json(toy, home, tmp_path):
    # A decision said '… at 2026-12-07T22:05:55.639153+00:00' where `audit log` said '2026-12-07T22:05:55Z' of the
    # same event, and the review's refusals '2026-12-07 22:05:55 UTC'.
    said = [run("review", "tag", toy["samples"][0], "blur", env=ADA).stdout,
            run("review", "approve", toy["batch"], env=ADA).stdout,
            run("export", "--dataset", "toy", "--out", tmp_path / "gated", env=ADA).stdout]
    tagged, approved, exported = (" ".join(text.split()) for text in said)  # wrapped at 80 columns
    events = {e["action"]: e for e in ok_json("audit", "log")["events"]}
    assert all(WHOLE.fullmatch(e["ts"]) for e in events.values()), events  # --json: unchanged
    tag, approve, export = (utc_time(events[a]["ts"]) for a in ("tag", "approve", "export"))
    assert tagged == f"tag [blur] sample {toy['samples'][0]} recorded as event {events['tag']['id']} by ada (admin) " \
                     f"at {tag}"
    assert f"(admin) at {approve} approved batch" in approved and exported.endswith(f"(admin) at {export}")
    log = run("audit", "log").stdout.splitlines()
    assert log[0].startswith(f"{events['export']['id']:>6} {export} ada ") and log[1].startswith(
        f"{events['approve']['id']:>6} {approve} ada ")
    assert run("audit", "exports").stdout.startswith(f"event {events['export']['id']}  {export}  ada ")
    assert run("audit", "exports", "--long").stdout.startswith(f"event {events['export']['id']} {export} ada exported")
    sample = next((tmp_path / "gated").glob("*/*_synthetic.png"))
    traced = run("audit", "trace", sample).stdout
    assert f" {approve} ada (admin) approve batch " in traced
    assert f"in export event {events['export']['id']} {export} " in traced
    for text in (*said, traced):
        assert "+00:00" not in text and not re.search(r"\d\dZ\b", text), text
    # a time wrapped onto the next line is never split, and the lines stay within 80 columns
    assert [len(SHOWN.findall(text)) for text in said] == [1, 1, 1]
    recorded = [said[0], said[1], "recorded as event" + said[2].split("recorded as event")[1]]
    assert max(len(line) for text in recorded for line in text.splitlines()) <= 80, recorded


def test_runs_list_and_show_give_the_time_as_the_apps_tables_do(home):
    import datetime as dt

    with session_scope() as s:
        ds = make_dataset(s, home).id
        s.add(Run(dataset_id=ds, status="done", run_dir="runs/x", code_version="t", config={"resolution": 8},
                  config_sha256="c" * 64, step=5, total_steps=5, created_at=dt.datetime(2026, 12, 7, 22, 4, 18),
                  finished_at=dt.datetime(2026, 12, 7, 22, 4, 20)))
    (home / "runs" / "x").mkdir(parents=True)
    header, line = run("runs", "list").stdout.splitlines()
    assert "created (UTC)" in header and "  2026-12-07 22:04:18  " in line  # it was 2026-12-07T22:04:18
    assert ok_json("runs", "list")["runs"][0]["created"] == "2026-12-07T22:04:18"
    shown = run("runs", "show", "1").stdout
    # 'created 2026-12-07T22:04:18 UTC', and the wrap put 'UTC' on a line of its own
    assert "\n  created 2026-12-07 22:04:18 UTC, finished 2026-12-07 22:04:20 UTC\n" in shown, shown
    (home / "runs" / "x").rmdir()  # its folder gone: named where it was, by both (`runs list` said 'runs/x')
    said = f"its folder {home / 'runs' / 'x'} is gone: `ganaug runs du` says what to restore"
    assert said in " ".join(run("runs", "list").stdout.split()) and said in " ".join(run("runs", "show", "1").stdout.split())


def test_an_operating_systems_error_begins_in_lower_case_as_every_other_line():
    from ganaug.cli.common import _oserror_said, lower_first

    assert _oserror_said(PermissionError(13, "Permission denied", "/srv/x")) == "permission denied: /srv/x"
    assert [lower_first(w) for w in ("Missing option", "OSError", "CUDA", "")] == ["missing option", "OSError", "CUDA",
                                                                                  ""]


def test_a_lone_16_bit_image_is_named_as_the_other_notes_name_a_file(tmp_path):
    # It said "the image of 16 bits holds …", naming no file; several: the first few, and how many more.
    from ganaug.ingest_notes import depth_notes

    src = tmp_path / "xrays"
    [one] = depth_notes(1, 4095, 16, [str(src / "normal" / "film.png")], str(src))
    assert one.startswith("note: the image of 16 bits holds values up to 4,095 only, ") and one.endswith(
        "--bit-depth 12; the file: normal/film.png"), one
    [many] = depth_notes(5, 65535, 16, [str(src / "a" / f"{k}.png") for k in range(3)], str(src))
    assert many.endswith(" not the 16-bit files; the files: a/0.png, a/1.png, a/2.png and 2 more"), many
    [outside] = depth_notes(2, 65535, 12, ["/elsewhere/b/1.png", "/elsewhere/b/2.png"], str(src))
    assert outside.endswith("a larger --bit-depth; the files: /elsewhere/b/1.png, /elsewhere/b/2.png"), outside


def test_a_new_passwords_second_prompt_is_in_our_words(monkeypatch):
    # click's own second prompt, 'Repeat for confirmation:', stood under ours, 'new password for bob:'
    import io
    import sys

    import typer

    from ganaug.cli.common import read_password

    asked = {}

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(typer, "prompt", lambda text, **kwargs: asked.update(kwargs, text=text) or "pw12345678")
    assert read_password("new password for bob", "no password", confirm=True) == "pw12345678"
    assert (asked["text"], asked["confirmation_prompt"]) == ("new password for bob", "repeat the new password for bob")


def test_a_worker_back_from_a_sweep_says_when_as_every_line_does(home, capsys):
    # 'a sweep had marked it failed at 2026-12-07T22:00:00.123456+00:00' in the worker's log
    import datetime as dt

    from db.jobs import submit_job
    from ganaug.running_job import back_again

    with session_scope() as s:
        job = submit_job(s, "sleep", {"seconds": 1}, None)
        job.status, job.finished_at = "failed", dt.datetime(2026, 12, 7, 22, 0, tzinfo=dt.timezone.utc)
        job.stats = {"swept": "2026-12-07T22:00:00.123456+00:00"}
        job_id = job.id
    with session_scope(immediate=True) as s:  # it writes: the worker calls it in a write transaction
        assert back_again(s, job_id) is None
    assert capsys.readouterr().err == (f"worker: job {job_id}: a sweep had marked it failed at 2026-12-07 22:00:00 UTC, "
                                       "while this worker was out of reach of the database; it runs on\n")
