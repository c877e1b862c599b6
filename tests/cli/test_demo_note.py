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
