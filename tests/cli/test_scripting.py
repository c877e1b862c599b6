"""`ganaug` driven by a script or a CI job: exit statuses a script can tell apart, nothing but the JSON on stdout, no
traceback when a pipe's reader stops early, logs without redrawn bars, environment variables checked like options
(README, "In a script or a CI job")."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Batch
from tests.cli.helpers import ganaug, run

ROOT = Path(__file__).resolve().parents[2]


def _ganaug_process(home, *args, **popen):
    return subprocess.Popen([sys.executable, "-m", "ganaug", *map(str, args)], cwd=ROOT,
                            env={**os.environ, "GANAUG_HOME": str(home)}, **popen)


def test_generate_stopped_by_sigterm_exits_143_and_writes_nothing(digits, home):
    # `timeout`, `kill`, a CI job cancelled: SIGTERM and Ctrl-C both ended with 130, silently, so a script could not
    # tell its own timeout from a person's Ctrl-C, and the log did not say why the command stopped.
    trained = ganaug("train", "--dataset", digits, "--steps", 1, "--resolution", "8", "--width", "4", "--batch-size",
                     "8", "--json")
    assert trained.exit_code == 0, trained.output
    run_id = json.loads(trained.stdout)["run_id"]
    proc = _ganaug_process(home, "generate", "--run", run_id, "--class", 9, "--n", 100_000, "--json",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = b""
    while b"generate:" not in seen and proc.poll() is None:  # the first progress line: it is generating
        seen += os.read(proc.stderr.fileno(), 4096)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    err = (seen + err).decode()
    assert proc.returncode == 143, err
    assert out == b""  # no JSON: nothing was recorded
    assert err.splitlines()[-1] == "interrupted by SIGTERM" and "Traceback" not in err
    with session_scope() as s:
        assert s.scalar(select(func.count(Batch.id))) == 0
    assert not (home / "batches").exists() or not any((home / "batches").iterdir())


@pytest.mark.parametrize("args", [("runs", "list", "--json"), ("--help",)])
def test_a_reader_that_stops_early_ends_the_command_quietly_with_141(home, args):
    # `ganaug runs list | head -1`: it had said 'error: Broken pipe' with the status of bad input (2); the help, 1.
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte
    proc = _ganaug_process(home, *args, stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141, err
    assert err == b""


def test_a_crash_is_told_from_a_failed_check(home, monkeypatch, capsys):
    # Python's own 1 for a traceback is what `audit verify` answers when it finds the log altered: `ganaug audit
    # verify || page-security` paged on a bug.
    from ganaug.cli import main
    from ganaug_core import paths

    def broken():
        raise RuntimeError("a bug")

    monkeypatch.setattr(paths, "home_path", broken)
    monkeypatch.setattr(sys, "argv", ["ganaug", "runs", "list"])
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # typer's app() installs its own
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1] == "RuntimeError: a bug"


@pytest.mark.parametrize("args", [("data", "report", "nope"), ("runs", "du", "--run", "99"), ("jobs", "cancel", "99"),
                                  ("runs", "list", "--limit", "0"), ("data", "list", "--bogus")])
def test_a_refusal_under_json_prints_nothing_on_stdout(home, args):
    result = run(*args, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""  # `id=$(ganaug ... --json | jq -r .id)` gets nothing, not half a document
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


def test_a_log_gets_progress_as_lines_without_carriage_returns(home, tmp_path):
    from tests.cli.test_ingest_progress import tiny_folder

    result = run("data", "ingest", tiny_folder(tmp_path / "src", 35), "--name", "parts", "--resolution", "8")
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr and "\x1b" not in result.stderr and result.stderr.isascii(), result.stderr
    bars = [line for line in result.stderr.splitlines() if line.startswith(("decode:", "write:"))]
    assert bars and all("/70 [" in line for line in bars), result.stderr


@pytest.mark.parametrize("variable", ["GANAUG_HEARTBEAT_S", "GANAUG_STALE_AFTER_S"])
@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan"])
def test_a_bad_duration_in_the_environment_is_one_line(home, monkeypatch, variable, value):
    # float() of it stopped `jobs list`, `worker` and `app` with a ValueError traceback as ganaug.worker was imported
    # (the durations are read as ganaug.running_job is imported, by the worker and by `jobs list`)
    monkeypatch.delitem(sys.modules, "ganaug.running_job", raising=False)
    monkeypatch.setenv(variable, value)
    result = run("jobs", "list")
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {variable} must be a number of seconds > 0 (default " \
                            f"{5 if variable == 'GANAUG_HEARTBEAT_S' else 60}), got {value!r}\n"


def test_a_home_that_cannot_be_created_names_ganaug_home(home, monkeypatch):
    # It said 'error: No such file or directory: /proc/no-such-place', naming no variable.
    monkeypatch.setenv("GANAUG_HOME", "/proc/no-such-place/home")  # /proc refuses every new folder, even to root
    result = run("runs", "list")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: GANAUG_HOME /proc/no-such-place/home: cannot create it ("), result.stderr


@pytest.mark.parametrize("key, status, said", [
    (KeyboardInterrupt, 130, "interrupted by Ctrl-C (SIGINT)"),
    # Ctrl-D: it ended "…, or run in a terminal" to a user at one
    (EOFError, 2, "error: no password for 'ann': set GANAUG_PASSWORD, pipe it on stdin, or type it at the prompt of a "
                  "terminal\n")])
def test_ctrl_c_or_ctrl_d_at_the_password_prompt(home, monkeypatch, key, status, said):
    # click's prompt turned both into 'Aborted!' and exit status 1, the status of a check that found a problem
    import typer

    def prompt(*args, **kwargs):  # as click's hidden prompt does with the key pressed
        try:
            raise key
        except key:
            raise typer.Abort() from None

    class Terminal(io.BytesIO):  # the runner's stdin wraps it, and asks it whether it is a terminal
        def isatty(self):
            return True

    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr("typer.testing.make_input_stream", lambda input, charset: Terminal())
    monkeypatch.delenv("GANAUG_PASSWORD", raising=False)
    result = run("review", "approve", "1", "--user", "ann")
    assert result.exit_code == status, result.output
    assert result.stderr.startswith(said) and "Aborted" not in result.output
