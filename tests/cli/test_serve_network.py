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


@pytest.mark.parametrize("host, warned", [("0.0.0.0", True), ("127.0.0.1", False)])
def test_an_app_open_to_the_network_warns_that_it_is_plain_http(monkeypatch, capsys, host, warned):
    monkeypatch.setattr(serve_module.subprocess, "Popen", _ExitedChild)  # Streamlit that stops at once
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve_module.serve(host, port, with_worker=False)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"ganaug app on http://{host}:{port} (worker: off); Ctrl-C stops both"
    assert any("over plain http" in line and "TLS reverse proxy" in line for line in lines) == warned


def test_the_warning_names_a_readme_section_that_exists():
    # It sent readers to README "Security", a section the README calls "Security and integrity".
    import re
    from pathlib import Path

    named = re.search(r'README, "([^"]+)"', serve_module.network_warning("0.0.0.0")).group(1)
    readme = (Path(serve_module.__file__).resolve().parents[2] / "README.md").read_text()
    assert f"\n## {named}\n" in readme
