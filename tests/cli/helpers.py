"""What the CLI tests share: invoking `ganaug` in-process and the shape of a refused command."""

from __future__ import annotations

import json
import re
import signal

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


def run(*args, env=None, input=None):
    return runner.invoke(app, [str(a) for a in args], env=env, input=input)


def ok_json(*args, env=None, input=None) -> dict:
    """The one JSON object a command that succeeded printed with --json."""
    result = run(*args, "--json", env=env, input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(*args, env=None, input=None) -> str:
    """The one `error: ...` line a refused command printed last on stderr (exit status 2, no traceback; a progress
    bar may precede it)."""
    result = run(*args, env=env, input=input)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), result.stderr
    return last


def said_lines(stderr: str) -> list[str]:
    """stderr's lines without the progress bars' ("12/40 [00:03<00:07, 3.4it/s]", or "s/it" on a slow machine: a
    loaded one made a test that kept only the lines without "it/s" fail on a bar)."""
    return [line for line in stderr.splitlines() if not re.search(r"it/s|s/it", line)]


def unwrapped(text: str) -> str:
    """`text` with its line breaks and indents as single spaces: a note wrapped at 80 columns read as one line."""
    return " ".join(text.split())


def notes(stderr: str) -> list[str]:
    """The notes and warnings on stderr, each unwrapped into one line: a command wraps each at 80 columns, every line
    after its first indented (the progress bars' lines are not)."""
    paragraphs, inside = [], False
    for line in stderr.splitlines():
        if line.startswith(("note", "warning")):
            paragraphs.append(line)
        elif not (inside and line.startswith("  ")):
            inside = False
            continue
        else:
            paragraphs[-1] += " " + line
        inside = True
    return [unwrapped(p) for p in paragraphs]


def ctrl_c_heard() -> None:
    """A `preexec_fn` for a command a test stops with SIGINT: SIGINT as at a terminal. A suite started as a background
    job (`.ci/run &` in a script) inherits SIGINT ignored, as a shell leaves it for its background commands; Python
    then installs no Ctrl-C handler, `train` (rightly) keeps ignoring it, and the test waited out its 600 s guard."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
