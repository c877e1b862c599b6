"""What the CLI tests share: invoking `ganaug` in-process and the shape of a refused command."""

from __future__ import annotations

from typer.testing import CliRunner

from ganaug.cli import app

runner = CliRunner()


def ganaug(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_bad_input(result, *needles):
    """Exit status 2, no traceback, and a last line `error: ...` naming each of `needles`."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, line
