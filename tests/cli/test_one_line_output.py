"""Text from users and files (class and folder names, reasons, tag descriptions, job messages) printed in a table or
a one-line list stays on its line: a line break or a terminal's escape in it is shown as an escape (`a\\nb`)."""

from __future__ import annotations

import json

import pytest

from db.engine import session_scope
from tests.cli.helpers import ok_json, run
from tests.core.test_datasets import make_image_folder
from tests.db.helpers import make_batch, make_dataset, rename_classes

ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password"}
FORGED = "typo\n    99 2026-12-07 00:00:00 ada            approve        batch 1"


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


def test_two_classes_whose_escaped_names_read_alike_keep_a_row_each(home, tmp_path):
    # A folder 'a\nb' and a folder named with a backslash, 'a\\nb', both printed as a\nb: their counts were put on one
    # row (the second class's), and the other class was gone from the table. The ambiguous two are quoted now.
    src = make_image_folder(tmp_path / "src", classes=("a\nb", "a\\nb", "ok"), per_class=(2, 3, 6))
    ingested = run("data", "ingest", src, "--name", "alike", "--resolution", "8")
    assert ingested.exit_code == 0, ingested.output
    for text in (ingested.stdout, run("data", "report", "alike").stdout):
        rows = [row.split() for row in _table(text)]
        assert [row[0] for row in rows] == ["'a\\nb'", "'a\\\\nb'", "ok"], text  # 'ok' prints as ever, unquoted
        assert [int(row[1]) + int(row[2]) for row in rows] == [2, 3, 6], text  # each its own images (train + test)


def test_names_that_read_alike_are_told_apart_even_when_one_is_spelled_like_anothers_quoted_form():
    from ganaug.shown_text import distinct_lines

    names = ["a\nb", "a\\nb", "'a\\nb'", "ok", "e\x1b[31mx"]
    shown = distinct_lines(names)
    assert len(set(shown.values())) == len(names), shown
    assert shown["ok"] == "ok" and "\x1b" not in "".join(shown.values()) and "\n" not in "".join(shown.values())
    assert distinct_lines(["a\nb", "ok"]) == {"a\nb": "a\\nb", "ok": "ok"}  # alone, a name prints as one_line has it


def test_the_export_review_and_runs_tables_tell_apart_names_that_read_alike(home, tmp_path):
    # `data report` quoted classes 'a\nb' and 'a\\nb', but `export`'s class table showed both as "a\nb", so did
    # `runs show`'s diversity table and `review pending`: which class was the line break no one could tell.
    from tests.cli.test_runs_show import FINISHED, a_run

    with session_scope() as s:
        dataset = make_dataset(s, home, train=(20, 20, 3), test=(1, 1, 1))
        rename_classes(s, dataset, ["a\nb", "a\\nb", "ok"])
        batch = make_batch(s, home, dataset, class_index=1, n=2).id
    run_id = a_run(home, lines=FINISHED)
    exported = run("export", "--dataset", "toy", "--out", tmp_path / "out")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.splitlines()[2:5] == ["    20          0  0 ('a\\nb')", "    20          0  1 ('a\\\\nb')",
                                                 "     3          0  2 (ok)"]  # an ordinary name as ever
    assert run("review", "pending").stdout == f"batch {batch} of toy: class 1 ('a\\\\nb'), 2 samples\n"
    shown = run("runs", "show", run_id).stdout
    assert "  0 ('a\\nb')" in shown and "  1 ('a\\\\nb')" in shown and "  2 (ok) rare" in shown, shown
