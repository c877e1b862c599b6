"""Folders being written, held by the process writing them, so that another process can tell them from the
leftovers of one that died.

Staging folders (a batch, a dataset, a run's first files, a benchmark report, an export) are removed by their
writer when it fails or is interrupted; a `kill -9`, the OOM killer or a power cut leaves them behind, and a run's
row says "running" for good. So the writer holds an exclusive `flock` on the folder itself for as long as it
works in it: the kernel drops the lock when the process dies, however it dies, and the lock follows the folder
through its final rename (a run keeps it on its run folder until the run is finished). Whoever finds such a folder
unlocked knows that its writer is gone.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

_OURS = re.compile(r"[0-9a-f]{8}|[0-9a-f]{32}")  # the random part of the names `create` makes (8: older exports)


class HeldFolder:
    """A new, empty folder locked by this process until `release` (or the process's end)."""

    def __init__(self, path: Path, fd: int):
        self.path, self._fd = path, fd

    @classmethod
    def create(cls, root: Path, prefix: str) -> "HeldFolder":
        """`root/<prefix><random>`, made and locked, for its owner only (0700: an export of patient images outside
        the home is as private as the home). A sweep that took the lock in the instant between the two (and
        removed the folder) makes us try another name."""
        root.mkdir(parents=True, exist_ok=True)
        while True:
            path = root / f"{prefix}{uuid.uuid4().hex}"
            path.mkdir(mode=0o700)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)  # only a sweep can hold it, and only for an instant
            if _same_folder(path, fd):
                return cls(path, fd)
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "HeldFolder":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_folder(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


@contextmanager
def abandoned(path: Path) -> Iterator[bool]:
    """True, while holding its lock, when `path` is a folder that no living process holds; False when one does, or
    when there is no such folder (nothing can be said about it)."""
    try:
        fd: Optional[int] = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield _same_folder(path, fd)
    finally:
        os.close(fd)


def sweep_abandoned(root: Path, prefix: str) -> list[Path]:
    """Remove the folders in `root` named `prefix` + a random hex name (ours, old ones included) whose writer died;
    returns them. A folder of the user's that merely starts with `prefix` is never touched."""
    if not root.is_dir():
        return []
    removed = []
    for path in sorted(root.iterdir()):
        if not _OURS.fullmatch(path.name[len(prefix):]) or not path.name.startswith(prefix):
            continue
        with abandoned(path) as gone:
            if gone:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed
