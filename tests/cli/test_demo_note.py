"""The demo's "too few steps" note gives a command the shell that ran `make demo` can run: make runs
.venv/bin/ganaug without activating the venv, so a bare `ganaug` was "command not found"."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def test_the_note_names_the_venvs_ganaug_unless_it_is_on_the_path(monkeypatch):
    from ganaug.demo import DemoInfo

    bin_dir = Path(sys.executable).parent
    if bin_dir.parent.name != ".venv" or not (bin_dir / "ganaug").exists():
        pytest.skip("runs from the repository's .venv, as `make test` does")
    info = DemoInfo(dataset="digits", run_id=3, batch_ids=[1, 2, 3], user=None, password=None, role=None, steps=152)
    monkeypatch.chdir(bin_dir.parent.parent)  # where `make demo` runs
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")  # the venv not activated
    assert "`.venv/bin/ganaug train --resume 3 --minutes 2`" in info.notes()[0]
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")  # `source .venv/bin/activate`
    assert "`ganaug train --resume 3 --minutes 2`" in info.notes()[0]


def test_on_a_home_with_an_admin_the_demo_says_who_adds_an_account(monkeypatch):
    # It said `ganaug users add NAME --role reviewer`, which such a home refuses: "who is deciding? pass --user".
    from ganaug.demo import DemoInfo

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    info = DemoInfo(dataset="digits", run_id=1, batch_ids=[1], user=None, password=None, role=None, steps=1000)
    assert "users add NAME --role reviewer --user ADMIN`" in info.text().splitlines()[-1]


def test_the_demos_notes_go_to_stderr_wrapped_as_every_commands_do(digits, home, monkeypatch):
    from ganaug.runs import default_config
    from tests.cli.helpers import ganaug

    # The demo's generator, made tiny (two steps at 8×8); every class is "collapsed" at a threshold of 1.
    tiny = dict(minutes=None, steps=2, resolution=8, width=4, batch_size=8, diversity_threshold=1)
    monkeypatch.setattr("ganaug.runs.default_config", lambda name, **k: default_config(name, **{**k, **tiny}))
    monkeypatch.setattr("ganaug.demo._minority_classes", lambda name: [])  # no batches to generate and score
    monkeypatch.setattr("ganaug.demo.typed_command", lambda: "ganaug")
    result = ganaug("demo", "--prepare-only")
    assert result.exit_code == 0, result.output
    # They were lines of its summary on stdout, unwrapped (the first 226 columns), where `train` and `generate` say
    # theirs on stderr.
    assert result.stdout.startswith("demo ready: ") and "note:" not in result.stdout, result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("sign in as 'demo'"), result.stdout
    notes = result.stderr[result.stderr.index("note: run 1 trained only 2 steps"):]
    assert max(map(len, notes.splitlines())) <= 80, notes
    said = " ".join(notes.split())
    assert said.startswith("note: run 1 trained only 2 steps, likely too few for realistic samples (a busy machine "
                           "buys fewer steps in the same minutes); train it further with `ganaug train --resume 1 "
                           "--minutes 2`, then run the demo again for new batches note: samples still vary too "
                           "little in class "), said
    assert "`ganaug train --resume 1 --minutes 2`" in notes  # whole, to copy


def test_on_a_home_with_an_admin_the_demos_summary_fits_80_columns_its_command_whole(digits, home, monkeypatch):
    from db.engine import session_scope
    from db.users import add_user
    from ganaug.runs import default_config
    from tests.cli.helpers import ganaug

    with session_scope(immediate=True) as session:
        add_user(session, "ada", "ada-password", role="admin")
    tiny = dict(minutes=None, steps=2, resolution=8, width=4, batch_size=8)
    monkeypatch.setattr("ganaug.runs.default_config", lambda name, **k: default_config(name, **{**k, **tiny}))
    monkeypatch.setattr("ganaug.demo._minority_classes", lambda name: [])  # no batches to generate and score
    monkeypatch.setattr("ganaug.demo.typed_command", lambda: "ganaug")
    result = ganaug("demo", "--prepare-only")
    assert result.exit_code == 0, result.output
    # "an admin already exists: …" was one line of 107 columns (124 with `.venv/bin/ganaug`).
    assert max(map(len, result.stdout.splitlines())) <= 80, result.stdout
    said = result.stdout[result.stdout.index("an admin already exists"):]
    assert "`ganaug users add NAME --role reviewer --user ADMIN`" in said.splitlines()[-1], said
    assert " ".join(said.split()) == ("an admin already exists: an admin creates your account with `ganaug users add "
                                      "NAME --role reviewer --user ADMIN`")
