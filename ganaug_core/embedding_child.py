"""A large UMAP fit in a child process of its own, so that a stop ends it at once.

UMAP cannot be stopped from inside: its nearest-neighbour search (pynndescent's NN-descent, which UMAP uses from
4,096 points on) runs in numba code that neither a job's Cancel nor Ctrl-C reaches until it returns, 42 s of a
47 s fit at 10,000 points on a busy 2-core machine, minutes at 48,000. In a child, the fit ends when the child is
killed: the parent waits in steps of WAIT_S and calls `waiting()` at each (a job's progress, which raises there once
the job is to stop: `stopping_at_reports`), and whatever ends the wait (that error, Ctrl-C or SIGTERM on the command
line) kills the child on its way out. The child starts in a session of its own, so a terminal's Ctrl-C reaches the
parent alone, and on Linux it dies with its parent (a worker killed outright). The features go in and the
coordinates come out through pipes as .npy bytes: nothing is written to disk. It costs the child's start, mostly
importing umap again (3–9 s on a busy machine, measured 2026-12-07), which is why small fits stay in the process.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import numpy as np

WAIT_S = 0.25  # how often the parent looks up from the wait (a job reads its cancel flag at most once a second)
ROOT = Path(__file__).resolve().parent.parent  # where the child imports ganaug_core from, as this process does


def fit_in_child(features: np.ndarray, seed: int, n_epochs: int, waiting: Callable[[], None]) -> np.ndarray:
    """UMAP's coordinates of float32 `features`, as `embedding.umap_coords` gives them, fitted in a child process."""
    sent = io.BytesIO()
    np.save(sent, features, allow_pickle=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    code = f"from ganaug_core.embedding_child import child_main; child_main({os.getpid()})"
    proc = subprocess.Popen([sys.executable, "-c", code, str(seed), str(n_epochs)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    return np.load(io.BytesIO(_exchange(proc, sent.getvalue(), waiting)), allow_pickle=False)


def _exchange(proc: subprocess.Popen, given: bytes, waiting: Callable[[], None]) -> bytes:
    """What the child writes on stdout for `given` on its stdin, calling `waiting()` every WAIT_S until it ends; the
    child is killed when anything ends the wait early (`waiting()` raising, Ctrl-C, SIGTERM).

    The features go in from a thread of their own, and the output comes out through two more. `communicate` with a
    timeout cannot be retried with its input: CPython's retry (input=None) writes nothing more, so a child that had
    not read it all within the first WAIT_S (it reads once it has imported numpy) waited on its stdin for good, and
    its parent with it (a fit of 10,000 points: 4 min at 0 s of CPU, 2026-12-07)."""
    out: dict[str, bytes] = {}

    def send() -> None:
        try:
            proc.stdin.write(given)
            proc.stdin.close()
        except (OSError, ValueError):  # the child ended, or was killed, before it read it all
            pass

    def drain(name: str, stream) -> None:
        out[name] = stream.read()

    threads = [threading.Thread(target=send, daemon=True),
               threading.Thread(target=drain, args=("stdout", proc.stdout), daemon=True),
               threading.Thread(target=drain, args=("stderr", proc.stderr), daemon=True)]
    for thread in threads:
        thread.start()
    try:
        while True:
            try:
                proc.wait(timeout=WAIT_S)
                break
            except subprocess.TimeoutExpired:
                waiting()
    finally:
        if proc.returncode is None:  # stopped while it fits: end it, which ends its pipes
            proc.kill()
            proc.wait()
        for thread in threads:
            thread.join()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
    if proc.returncode != 0:
        said = out.get("stderr", b"").decode(errors="replace").strip().splitlines() or [
            f"exit status {proc.returncode}"]
        raise RuntimeError(f"fitting the map in a process of its own failed: {said[-1]}")
    return out["stdout"]


def child_main(parent: int) -> None:
    """The child: features on stdin, seed and epochs in argv, coordinates on stdout."""
    _die_with(parent)
    from ganaug_core.embedding import umap_coords

    features = np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False)
    coords = umap_coords(features, int(sys.argv[1]), int(sys.argv[2]))
    np.save(sys.stdout.buffer, coords, allow_pickle=False)
    sys.stdout.flush()


def _die_with(parent: int) -> None:
    """Be killed when the parent dies (Linux's PR_SET_PDEATHSIG): a worker killed outright leaves no fit running
    for minutes. Elsewhere the child ends when it writes to the closed pipe."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
