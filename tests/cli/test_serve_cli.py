"""`ganaug app` and `ganaug demo` refuse a busy port, and the demo a bad budget, before starting anything."""

from __future__ import annotations

import socket

import pytest

from tests.cli.helpers import assert_bad_input, ganaug


@pytest.mark.parametrize("command", ["app", "demo"])
def test_busy_port_is_one_line_exit_2_before_anything_starts(home, command):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = ganaug(command, "--port", port)
    assert_bad_input(result)
    assert result.stderr.splitlines() == [f"error: port {port} on 127.0.0.1 is in use; pass --port"]
    assert result.stdout == "" and not (home / "datasets").exists()  # no banner, no demo preparation


@pytest.mark.parametrize("minutes", ["-1", "0", "nan"])
def test_the_demo_refuses_a_bad_budget_before_ingesting(home, minutes):
    result = ganaug("demo", "--prepare-only", "--minutes", minutes)
    assert_bad_input(result, f"--minutes must be a finite number > 0, got {float(minutes)}")
    assert not (home / "datasets").exists()  # it had ingested the whole demo dataset first
