"""`runs list` and `runs du` show a dataset's name and a run's error on their line, as they read: a tab, a line
break, a terminal's escape or a bidi override in them is shown as an escape (`common.one_line`)."""

from __future__ import annotations

from db.engine import session_scope
from db.models import Run
from tests.cli.helpers import run
from tests.db.helpers import make_dataset

# A name that reads 'toyfdp.exe' where it is printed raw: U+202E reverses what follows it, up to the line's end
# (the columns of the table after it too).
NAME = "toy\u202eexe.pdf"
ERROR = "ValueError: bad\tvalue \x1b[2J\u2066at\u2069 step 3\nTraceback ..."


def _failed_run(home) -> int:
    with session_scope() as s:
        dataset = make_dataset(s, home, name=NAME)
        r = Run(dataset_id=dataset.id, status="failed", run_dir="runs/1", config={}, config_sha256="c" * 64,
                code_version="test", error=ERROR)
        s.add(r)
        s.flush()
        (home / "runs" / "1").mkdir(parents=True)
        return r.id


def test_runs_list_and_du_show_names_and_errors_escaped(home):
    run_id = _failed_run(home)
    listed = run("runs", "list")
    assert listed.exit_code == 0, listed.output
    header, row, error = listed.stdout.splitlines()
    assert row.split()[:3] == [str(run_id), "toy\\u202eexe.pdf", "failed"], row
    assert error == "       ValueError: bad\\tvalue \\x1b[2J\\u2066at\\u2069 step 3", error
    du = run("runs", "du")
    assert du.exit_code == 0, du.output
    assert du.stdout.splitlines()[1].split()[:3] == [str(run_id), "toy\\u202eexe.pdf", "failed"], du.stdout
    for text in (listed.stdout, du.stdout):
        assert not set(text) & set("\u202e\u2066\u2069\u2028\t\x1b"), text


def test_a_zero_width_space_shows_where_two_names_would_read_alike():
    from ganaug.shown_text import one_line

    assert one_line("dig\u200bits") == "dig\\u200bits" and one_line("\ufeffdigits") == "\\ufeffdigits"
    # The joiners spell Persian, Indic scripts and emoji: they stay as they are.
    assert one_line("می\u200cخواهم 👩\u200d🔬") == "می\u200cخواهم 👩\u200d🔬"


def test_runs_du_fits_80_columns_beside_a_long_dataset_name(home):
    """Every row of `runs du` was 98 columns (fixed widths), 108 beside 'plantvillage_leaf_diseases', and the home's
    line 141: the columns are as wide as their cells, the name is cut, the home's parts wrap between parts."""
    from db.models import Dataset

    _failed_run(home)
    with session_scope() as s:
        s.get(Dataset, 1).name = "plantvillage_leaf_diseases"
    lines = run("runs", "du").stdout.splitlines()
    assert lines[0].split() == ["run", "dataset", "status", "step", "checkpoints", "grids", "other", "total"]
    assert lines[1].split()[:3] == ["1", "plantvillage_le…", "failed"], lines
    assert lines[2] == f"home {home}: {lines[2].split(': ')[-1]}" and lines[3].startswith("  (runs ")
    assert max(len(line) for line in lines if str(home) not in line) <= 80, "\n".join(lines)
    assert not any(line.split()[0] in ("B", "kB", "MB", "GB") for line in lines[3:])  # a size is never broken
