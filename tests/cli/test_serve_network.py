"""`ganaug app --host` on an address other machines reach serves plain http: it says so, once, as it starts."""

from __future__ import annotations

import socket

import pytest

import ganaug.cli.serve as serve_module


class _ExitedChild:
    pid, returncode = 0, 0

    def __init__(self, *args, **kwargs):
        pass

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("host, warned", [("0.0.0.0", True), ("127.0.0.1", False)])
def test_an_app_open_to_the_network_warns_that_it_is_plain_http(home, monkeypatch, capsys, host, warned):
    monkeypatch.setattr(serve_module.subprocess, "Popen", _ExitedChild)  # Streamlit that stops at once
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    port = _free_port()
    serve_module.serve(host, port, with_worker=False)
    lines = capsys.readouterr().err.splitlines()
    # --no-worker said "Ctrl-C stops both" of an app that starts no worker (a team runs theirs as services)
    assert lines[0] == f"ganaug app on http://{host}:{port} (worker: off: run `ganaug worker`); Ctrl-C stops it"
    warning = [line for line in lines if "over plain http" in line]
    assert bool(warning) == warned
    if warned:  # a proxy on another machine must be named, or every browser is one address to the lockout
        assert "TLS reverse proxy" in warning[0] and "FORWARDED_ALLOW_IPS" in warning[0]


def test_behind_a_named_proxy_the_warning_is_about_the_hop_from_it(home, monkeypatch, capsys):
    # A team whose proxy runs on another machine needs --host, and was told to put a proxy in front.
    monkeypatch.setattr(serve_module.subprocess, "Popen", _ExitedChild)
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.9")
    serve_module.serve("0.0.0.0", _free_port(), with_worker=True)
    err = capsys.readouterr().err
    assert "(worker: on); Ctrl-C stops both" in err
    warning = [line for line in err.splitlines() if "over plain http" in line]
    assert len(warning) == 1 and "between the proxy (FORWARDED_ALLOW_IPS=10.0.0.9) and the app" in warning[0]
    assert "put a TLS reverse proxy in front" not in warning[0]


def test_the_warning_names_a_readme_section_that_exists():
    # It sent readers to README "Security", a section the README calls "Security and integrity".
    import re
    from pathlib import Path

    named = re.search(r'README, "([^"]+)"', serve_module.network_warning("0.0.0.0")).group(1)
    readme = (Path(serve_module.__file__).resolve().parents[2] / "README.md").read_text()
    assert f"\n## {named}\n" in readme
