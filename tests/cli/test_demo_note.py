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
    assert "`.venv/bin/ganaug train --resume 3 --minutes 2`" in info.text()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")  # `source .venv/bin/activate`
    assert "`ganaug train --resume 3 --minutes 2`" in info.text()


def test_on_a_home_with_an_admin_the_demo_says_who_adds_an_account(monkeypatch):
    # It said `ganaug users add NAME --role reviewer`, which such a home refuses: "who is deciding? pass --user".
    from ganaug.demo import DemoInfo

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    info = DemoInfo(dataset="digits", run_id=1, batch_ids=[1], user=None, password=None, role=None, steps=1000)
    assert "users add NAME --role reviewer --user ADMIN`" in info.text().splitlines()[-1]
