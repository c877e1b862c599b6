"""`make demo` on a fresh Debian without python3-venv: `python3 -m venv` makes .venv/bin/python, then stops at
"ensurepip is not available". The half-made venv stayed, so the next `make`, after `apt install python3-venv`,
skipped making it and stopped at ".venv/bin/pip: No such file or directory"."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]

# What Debian's python3 does for `-m venv DIR` without python3-venv: the venv's python first, then the error.
DEBIAN_WITHOUT_VENV = """#!/bin/sh
mkdir -p "$3/bin" && ln -s /bin/true "$3/bin/python"
echo "The virtual environment was not successfully created because ensurepip is not available." >&2
exit 1
"""


@pytest.fixture
def checkout(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("needs make, as `make demo` does")
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    python = tmp_path / "python3-without-venv"
    python.write_text(DEBIAN_WITHOUT_VENV)
    python.chmod(0o755)
    return tmp_path


def _setup(checkout: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "setup", f"PY={checkout / 'python3-without-venv'}"], cwd=checkout,
                          capture_output=True, text=True, timeout=60)


def test_a_venv_that_could_not_be_made_is_not_left_behind(checkout):
    result = _setup(checkout)
    assert result.returncode != 0 and "ensurepip is not available" in result.stderr
    assert not (checkout / ".venv").exists()


def test_a_venv_left_without_pip_is_made_again(checkout):
    (checkout / ".venv" / "bin").mkdir(parents=True)  # left by an earlier failed `make`
    (checkout / ".venv" / "bin" / "python").symlink_to("/bin/true")
    result = _setup(checkout)
    assert "ensurepip is not available" in result.stderr, result.stderr  # it tried again, not `.venv/bin/pip`
    assert not (checkout / ".venv").exists()
