"""Text from users and files (class and folder names, reasons, tag descriptions, job messages) printed in a table or
a one-line list stays on its line: a line break or a terminal's escape in it is shown as an escape (`a\\nb`)."""

from __future__ import annotations

import json

import pytest

from db.engine import session_scope
from tests.cli.helpers import ok_json, run
from tests.core.test_datasets import make_image_folder
from tests.db.helpers import make_batch, make_dataset

ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password"}
FORGED = "typo\n    99 2026-12-07 00:00:00 ada            approve        batch 1"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    monkeypatch.setattr("db.users.SCRYPT_N", 2**10)


def _table(text: str) -> list[str]:
    """The report's class rows: the lines between its header and its imbalance ratio."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("class "))
    end = next(i for i, line in enumerate(lines) if line.startswith("imbalance ratio"))
    return lines[start + 1:end]


def test_a_class_folder_named_with_a_line_break_keeps_one_row_per_class(home, tmp_path):
    # A folder 'a\nb' printed its name on two lines, the second holding the counts: it read as two classes.
    src = make_image_folder(tmp_path / "src", classes=("a\nb", "e\x1b[31mx", "ok"), per_class=(3, 3, 6))
    ingested = run("data", "ingest", src, "--name", "parts", "--resolution", "8")
    assert ingested.exit_code == 0, ingested.output
    for text in (ingested.stdout, run("data", "report", "parts").stdout):
        rows = _table(text)
        assert [row.split()[0] for row in rows] == ["a\\nb", "e\\x1b[31mx", "ok"], text
        assert len({row.index(row.split()[1]) for row in rows}) == 1, text  # the counts in one column
    assert json.loads(run("data", "report", "parts", "--json").stdout)["class_names"][0] == "a\nb"  # JSON keeps it


@pytest.fixture
def toy(home):
    """Admin ada, dataset 'toy' whose class 1 is named 'a\\nb', and a pending batch of class 1."""
    from db.datasets import get_dataset

    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    with session_scope() as s:
        make_dataset(s, home).class_names = ["c0", "a\nb"]
    with session_scope() as s:
        return make_batch(s, home, get_dataset(s, "toy"), n=2).id


def test_a_reason_or_a_description_with_a_line_break_stays_on_its_line(toy):
    # A reason typed with a newline printed its second line as a line of `audit log` of its own: a forged event.
    ok_json("tags", "add", "smear", "--description", "one\ntwo", "--reason", FORGED, env=ADA)
    ok_json("review", "reject", toy, "--reason", "wipe\x1b[2J\nnext", env=ADA)
    events = ok_json("audit", "log")["events"]
    log = run("audit", "log").stdout
    assert len(log.splitlines()) == len(events) and "\x1b" not in log
    assert "  — typo\\n    99 2026-12-07" in log and "  — wipe\\x1b[2J\\nnext" in log
    tags = run("tags", "list").stdout
    assert len(tags.splitlines()) == len(ok_json("tags", "list")["tags"])
    assert "one\\ntwo" in tags


def test_a_class_name_or_a_job_message_with_a_line_break_stays_on_its_line(toy):
    from db.jobs import cancel_job, submit_job

    assert run("review", "pending").stdout == f"batch {toy} of toy: class 1 (a\\nb), 2 samples\n"
    with session_scope(immediate=True) as s:
        job = submit_job(s, "benchmark", {"dataset": "toy"}, None).id
        cancel_job(s, job, message="stopped at class a\nb")
    [line] = run("jobs", "list").stdout.splitlines()
    assert line.split()[:3] == [str(job), "benchmark", "cancelled"] and line.endswith("  stopped at class a\\nb")
