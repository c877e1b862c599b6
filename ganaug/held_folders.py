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
from typing import Callable, Iterator, Optional

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

    @classmethod
    def hold(cls, path: Path) -> "HeldFolder":
        """A folder this process made and is alone in knowing of (one a writer made inside its own held folder),
        locked until `release`: the lock follows it through a rename."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return cls(path, fd)

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


# Written into a run's, batch's or dataset's folder before it is renamed into place, removed once its record is
# committed. A folder without it was committed: a home restored from a database backup older than its files holds
# complete batches (runs, datasets) that the database does not know, holding only what a writer puts there, and the
# next `generate` took batches/N for a killed writer's leftover and deleted its samples.
UNCOMMITTED = ".uncommitted"
# Said when such a folder is found unrecorded and kept: the likeliest cause after a kill is gone (the mark).
NOT_RECORDED_WHY = "the database does not know it: one restored from a backup older than the home's files?"


def mark_uncommitted(folder: Path) -> None:
    """Mark a folder about to be placed and recorded (`removed_if_left_by_a_kill` removes only such a folder)."""
    (folder / UNCOMMITTED).touch()


def mark_committed(folder: Path) -> None:
    """Its record is committed: the folder is no longer a leftover to remove, whatever the database says later. A
    mark that cannot be removed is left (the record stands; only a database older than it would then miss it)."""
    try:
        (folder / UNCOMMITTED).unlink(missing_ok=True)
    except OSError:
        pass


def removed_if_left_by_a_kill(folder: Path, holds_only_ours: Callable[[Path], bool]) -> bool:
    """Remove `folder`, where a new record's folder goes (a run's or a batch's new id, a dataset's name), when it is
    what a process killed outright (`kill -9`) left in the instant between placing its folder and committing that
    record; whether it did. SQLite gives the next run or batch the same id, and a user retries the same name, so the
    leftover refused every later such command of the home. It is ours when it still holds its UNCOMMITTED mark, no
    living process holds it (the writer's lock follows its folder through the rename to the commit) and
    `holds_only_ours(folder)`, asked while holding that lock, finds nothing in it but what that writer puts there
    (and the mark); anything else is the user's, or a committed record's that an older database does not know."""
    with abandoned(folder) as gone:
        if not gone or not (folder / UNCOMMITTED).is_file() or not holds_only_ours(folder):
            return False
        shutil.rmtree(folder)
    return True


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
