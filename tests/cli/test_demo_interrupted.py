"""`ganaug demo` stopped while it prepares: SIGTERM as Ctrl-C, exit 143 or 130, nothing generated from a half-trained
run (README, "In a script or a CI job")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Batch, Run
from tests.cli.helpers import ctrl_c_heard

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a subprocess that imports torch and trains 25 steps: 7–9 s on a shared 2-core machine
@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])  # kill, timeout, a cancelled CI job; Ctrl-C
def test_the_demo_stopped_while_it_trains_exits_as_a_shell_reports_the_signal_and_generates_nothing(digits, home,
                                                                                                   signum):
    # SIGTERM killed it on the spot (-15), its run left marked running; Ctrl-C stopped the training, and the demo
    # then generated and scored batches from the half-trained run.
    proc = subprocess.Popen([sys.executable, "-m", "ganaug", "demo", "--prepare-only", "--minutes", "10"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "GANAUG_HOME": str(home), "OMP_NUM_THREADS": "1"},
                            preexec_fn=ctrl_c_heard)
    stats = home / "runs" / "000001" / "stats.jsonl"  # `digits` is there: the demo trains at once
    deadline = time.monotonic() + 300  # a guard against a hang, not a speed limit
    while not (stats.exists() and stats.read_text().strip()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)  # the loop's first stats line: the signal lands in the training loop, between two steps
    proc.send_signal(getattr(signal, signum))
    out, err = proc.communicate(timeout=300)
    err = err.decode()
    assert proc.returncode == (143 if signum == "SIGTERM" else 130), err
    assert "Traceback" not in err and out == b""
    lines = err.strip().splitlines()
    assert lines[-1] == f"interrupted by {'SIGTERM' if signum == 'SIGTERM' else 'Ctrl-C (SIGINT)'}"
    said = err[err.index("run 1 stopped at step "):err.rindex("interrupted by")]
    assert max(map(len, said.splitlines())) <= 80, said  # wrapped as every note: it was one line of 200 columns
    assert "train --resume 1 --minutes 2` trains it further" in " ".join(said.split())
    with session_scope() as s:
        assert s.get(Run, 1).status == "cancelled" and s.get(Run, 1).checkpoint_path
        assert s.scalar(select(func.count(Batch.id))) == 0
