"""An ingest killed outright (`kill -9`, the OOM killer) while its decoding pool ran: its workers, their fork server
and its resource tracker end with it. They stayed, waiting for work, 4 processes of ~115 MB still there 40 minutes on,
and held the killed command's stdout and stderr open: `ganaug data ingest … 2>&1 | tee log` never ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# In the child: a pool of two workers, both busy once, then the pids of every process it started (the fork server and
# the resource tracker are its children, the workers the fork server's), and SIGKILL, as the OOM killer sends it.
KILLED_WITH_ITS_POOL = """
import os, signal, time
from ganaug_core.worker_pool import worker_pool

def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
        except OSError:  # ended meanwhile
            pass
    return found

with worker_pool(2) as pool:
    list(pool.map(time.sleep, [0.2, 0.2]))  # two jobs at once: both workers started
    started = children(os.getpid())
    print(*started, *[w for p in started for w in children(p)], flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _running(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (a zombie, not yet reaped by its new parent, has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the processes from /proc (Linux)")
def test_a_killed_ingests_pool_ends_with_it_and_lets_go_of_its_output():
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WITH_ITS_POOL], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    try:
        # Until every process holding the pipes has ended, this waits: it waited for good (the guard's 60 s).
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL, err
    started = [int(pid) for pid in out.split()]
    assert len(started) >= 4, out  # the fork server, its resource tracker and the two workers
    deadline = time.monotonic() + 30  # a guard, not a speed: each ends as soon as it reads its parent's end
    while any(map(_running, started)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in started if _running(pid)], "the killed ingest's processes are still running"
