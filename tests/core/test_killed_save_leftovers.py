"""A save killed outright (`kill -9`, out of memory) leaves its temporary file beside the name it was writing
(`paths.written_beside`: the feature extractor's `.feature_extractor.pt.<host>-<pid>.<hex>.tmp`, 270 kB, the map's
`.embedding.npz.….tmp.npz`), which nothing removed. `left_by_dead_writers` tells such a file from one being written:
no process holds its lock, and its writer, a process of this machine, is gone, or it has not been written for a day
(another machine's, on a shared home, whose pid says nothing here)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
import uuid

from ganaug_core import paths


def dead_pid() -> int:
    """The pid of a process that has ended (and was reaped), as a writer's after `kill -9`."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def left(folder, name: str, pid: int, host: str | None = None, suffix: str = ".tmp", size: int = 1000):
    """A temporary file as `written_beside` names it (no host: as it named them before the host was put in)."""
    tag = f"{host}-{pid}" if host is not None else f"{pid}"
    path = folder / f".{name}.{tag}.{uuid.uuid4().hex}{suffix}"
    path.write_bytes(b"x" * size)
    return path


def test_a_dead_writers_file_goes_and_a_living_ones_stays(tmp_path):
    host, gone = paths.host_name(), dead_pid()
    killed = left(tmp_path, "feature_extractor.pt", gone, host, size=270_000)
    killed_map = left(tmp_path, "embedding.npz", gone, host, ".tmp.npz")
    writing = left(tmp_path, "feature_extractor.pt", os.getpid(), host)  # this process: alive
    elsewhere = left(tmp_path, "feature_extractor.pt", gone, "another-machine")  # its pid says nothing here
    unnamed = left(tmp_path, "feature_extractor.pt", gone)  # named before the host was: whose pid?
    (tmp_path / "feature_extractor.pt").write_bytes(b"kept")
    (tmp_path / "notes.tmp").write_bytes(b"the user's")
    os.mkdir(tmp_path / f".x.{host}-{gone}.{uuid.uuid4().hex}.tmp")  # a folder of that name is not a file of ours

    assert paths.left_by_dead_writers(tmp_path) == [(killed_map, 1000), (killed, 270_000)]
    assert killed.exists()  # only listed
    assert paths.left_by_dead_writers(tmp_path, remove=True) == [(killed_map, 1000), (killed, 270_000)]
    assert not killed.exists() and not killed_map.exists()
    assert writing.exists() and elsewhere.exists() and unnamed.exists()

    day_old = time.time() - paths.ABANDONED_AFTER_S - 60  # a day unwritten: whoever wrote it is gone
    for path in (elsewhere, unnamed):
        os.utime(path, (day_old, day_old))
    assert {p for p, _ in paths.left_by_dead_writers(tmp_path, remove=True)} == {elsewhere, unnamed}
    assert sorted(p.name for p in tmp_path.iterdir() if not p.is_dir()) == sorted(
        [writing.name, "feature_extractor.pt", "notes.tmp"])


def test_a_file_whose_writer_holds_its_lock_stays_whatever_its_name_says(tmp_path):
    # A process of another pid namespace (a container) sharing the home: its pid is no process here.
    held = left(tmp_path, "embedding.npz", dead_pid(), paths.host_name(), ".tmp.npz")
    fd = os.open(held, os.O_WRONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert paths.left_by_dead_writers(tmp_path, remove=True) == []
    finally:
        os.close(fd)
    assert paths.left_by_dead_writers(tmp_path, remove=True) == [(held, 1000)]


def test_written_beside_holds_its_file_and_leaves_only_the_file_it_wrote(tmp_path):
    target = tmp_path / "record.json"
    with paths.written_beside(target) as tmp:
        tmp.write_text("{}")
        assert paths._WRITTEN_BESIDE.fullmatch(tmp.name)
        assert paths.left_by_dead_writers(tmp_path, remove=True) == []  # its writer lives and holds it
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"] and target.read_text() == "{}"
