"""`ganaug demo` reuses what exists; `ganaug app` starts Streamlit and the worker and leaves no orphan behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Batch, Run
from tests.app.conftest import make_batch


def test_demo_second_run_reuses_everything(digits):
    from ganaug.demo import DEMO_PASSWORD, DEMO_USER, prepare_demo, typed_command

    first = make_batch(digits, 7, 4)
    with session_scope() as session:
        run_id = session.get(Batch, first).run_id
    make_batch(digits, 8, 4, run_id=run_id)
    make_batch(digits, 9, 4, run_id=run_id)

    info = prepare_demo(minutes=None, steps=2, per_class=4)
    assert info.run_id == run_id and len(info.batch_ids) == 3
    assert info.created == [f"account {DEMO_USER}"]
    assert f"password {DEMO_PASSWORD!r}" in info.text()
    # A run of a few steps (a busy machine's minutes) is named as such, with the command that trains it further.
    assert info.steps < 500 and f"`{typed_command()} train --resume {run_id} --minutes 2`" in info.notes()[0]
    info.collapsed = ["7", "9"]
    # A generator that young makes every class alike: a note, not a collapse warning; a longer run is warned.
    assert "note: samples still vary too little in class 7, 9, as expected this early" in info.notes()[-1]
    assert "possible mode collapse" not in " ".join(info.notes())
    info.steps = 500
    assert "possible mode collapse, samples vary too little in class 7, 9" in info.notes()[-1]

    again = prepare_demo(minutes=None, steps=2, per_class=4)
    assert again.created == [] and again.batch_ids == info.batch_ids
    assert "nothing new" in again.text() and f"sign in as {DEMO_USER!r}" in again.text()
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_app(home: Path, port: int) -> tuple[subprocess.Popen, set[int]]:
    env = {**os.environ, "GANAUG_HOME": str(home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ganaug", "app", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok" and len(_children(proc.pid)) >= 2:
                    return proc, _children(proc.pid)
        except OSError:
            pass
        assert proc.poll() is None, "ganaug app exited early"
        time.sleep(0.5)
    proc.kill()
    pytest.fail("streamlit did not answer its health check within 90 s")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_app_runs_streamlit_and_worker_and_stops_both(home, sig):
    proc, children = _start_app(home, _free_port())
    commands = [Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ") for p in children]
    assert any(b"streamlit run" in c for c in commands), commands
    assert any(b"ganaug worker" in c for c in commands), commands
    proc.send_signal(sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30  # after SIGKILL the kernel's parent-death signal stops the children
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in children if _alive(p)], "orphaned processes left behind"
