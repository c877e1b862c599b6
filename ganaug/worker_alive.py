"""Which job workers of this GANAUG_HOME are alive: each running worker touches its own file,
GANAUG_HOME/workers/<host>-<pid>-<token>.alive, and removes it when it stops. The app tells "no worker" from "busy"
by the freshest of them (`worker_seen_s`), and a worker that stops leaves the others seen."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Optional

from ganaug_core import paths

WORKERS_DIR = "workers"  # under GANAUG_HOME: one <host>-<pid>-<token>.alive file per running worker
FORGET_AFTER_S = 24 * 3600  # a starting worker removes the files of workers silent this long (killed outright)


def alive_file() -> Path:
    """A new worker's own file under GANAUG_HOME/workers/: named by its host and pid (and a token, as a process may
    run more than one worker in turn or at once), so that workers sharing a home never remove one another's."""
    return paths.home_folder(WORKERS_DIR) / f"{paths.host_name()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.alive"


def say_alive(done: threading.Event, path: Path, every_s: float) -> None:
    """Touch this worker's `path` every `every_s` seconds until `done`, then remove it: the app tells a job queued
    behind another from one that no worker will ever take (an app started with `streamlit run app.py` alone). Files of
    workers killed outright stop being touched (ignored once old, removed after FORGET_AFTER_S by the next worker to
    start)."""
    _forget_silent_workers(path.parent)
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{socket.gethostname()} {os.getpid()}\n")
        except OSError:  # a home we cannot write to: the jobs will say so themselves
            pass
        if done.wait(every_s):
            path.unlink(missing_ok=True)
            return


def _forget_silent_workers(folder: Path) -> None:
    for old in folder.glob("*.alive"):
        try:
            if time.time() - old.stat().st_mtime > FORGET_AFTER_S:
                old.unlink()
        except OSError:  # another worker removed it first
            pass


def worker_seen_s() -> Optional[float]:
    """Seconds since the freshest job worker of this GANAUG_HOME last said it was alive; None when none runs (none
    ever did, or all stopped). A worker killed outright leaves a file that only grows older: the caller decides
    how old means gone."""
    ages = []
    for path in (paths.home() / WORKERS_DIR).glob("*.alive"):
        try:
            ages.append(max(0.0, time.time() - path.stat().st_mtime))
        except OSError:  # removed as we looked: that worker stopped
            pass
    return min(ages, default=None)
