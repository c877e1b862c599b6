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


@pytest.mark.parametrize("url", ["postgresql+psycopg://ganaug:secret@127.0.0.1:notaport/ganaug",  # a typo
                                 "mysql://ganaug:secret@127.0.0.1/ganaug"])  # a driver not installed
def test_the_app_without_its_worker_stops_at_its_start_on_a_database_no_wait_mends(home, monkeypatch, url):
    # `ganaug app --no-worker` is the team's service ("Deploying for a team"): it served on, every page saying that
    # whoever runs the app must mend what its log names, while its unit looked active. Here the app would be a
    # child that ends at once (exit status 1), so a refusal that came too late shows as that status.
    import sys

    from ganaug.cli import serve

    monkeypatch.setattr(serve, "streamlit_command", lambda host, port: [sys.executable, "-c", "pass"])
    monkeypatch.setenv("GANAUG_DB_URL", url)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = ganaug("app", "--no-worker", "--port", port)
    assert_bad_input(result, "the database URL", "***")
    assert "secret" not in result.output and "ganaug app on" not in result.output  # nothing started
