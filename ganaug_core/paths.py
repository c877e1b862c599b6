"""Where ganaug keeps its files: everything lives under GANAUG_HOME (default ./.ganaug)."""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import socket
import stat
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

from ganaug_core.errors import GanaugError


def home_path() -> Path:
    """Where the ganaug home folder is (GANAUG_HOME, else ./.ganaug), whether or not it exists yet."""
    return Path(os.environ.get("GANAUG_HOME") or Path.cwd() / ".ganaug").resolve()


def home() -> Path:
    """The ganaug home folder, created on first use, for its owner only (0700): it holds the images, patient images
    perhaps, and the database with its password hashes."""
    path = home_path()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # its own strerror, 'File exists: PATH', did not say what was wrong
        raise GanaugError(f"GANAUG_HOME {path}: {_nearest_existing(path)} is a file, not a folder") from None
    except OSError as e:  # 'No such file or directory: /proc/x' or 'Permission denied: /srv' named no variable
        raise GanaugError(f"GANAUG_HOME {path}: cannot create it ({e.strerror or e}"  # as `cannot create` says below
                          + (f": {e.filename}" if e.filename and str(e.filename) != str(path) else "") + ")") from None
    if _tell_open_home is not None and path not in _homes_looked_at:
        _homes_looked_at.add(path)
        if (note := open_home_note(path)) is not None:
            _tell_open_home(note)
    return path


# Who is told that a home is open to other accounts, once per home: the command line sets it as each command starts
# (`tell_open_home_to`) and says a `note:`; unset (the app's pages, a library's user), nothing is said.
_tell_open_home: Optional[Callable[[str], None]] = None
_homes_looked_at: set[Path] = set()


def tell_open_home_to(tell: Optional[Callable[[str], None]]) -> None:
    """From now on, `tell` hears `open_home_note` of each home used, once (a new command: told again)."""
    global _tell_open_home
    _tell_open_home = tell
    _homes_looked_at.clear()


def open_home_note(path: Path) -> Optional[str]:
    """A `note:` where other accounts of the machine may enter or read the home: one made by hand (`mkdir`, 0755)
    keeps its mode. What ganaug makes in it is its owner's (`home_folder`), but what an older ganaug wrote there
    (before 2026-12-08) is readable by all. A home shared by group (group-writable) keeps its group in the fix."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o007 or not _others_may_reach(path):
        return None
    fix, whose = ("o-rwx", "its owner's and its group's") if mode & 0o020 else ("700", "its owner's")
    return (f"note: GANAUG_HOME {path} is open to every account of this machine (mode {mode:04o}), and it holds "
            f"the images and the database: `chmod {fix} {shlex.quote(str(path))}` makes it {whose} only")


def _others_may_reach(path: Path) -> bool:
    """Whether every folder above `path` lets other accounts through (o+x): a 0755 home inside a 0700 or 0750 folder
    (a user's own home folder on many systems) is out of their reach, and noting it was a false alarm."""
    try:
        return all(stat.S_IMODE(p.stat().st_mode) & 0o001 for p in path.parents)
    except OSError:
        return False


def _nearest_existing(path: Path):
    """`path` itself or its nearest ancestor that exists (None if none does)."""
    return next((p for p in [path, *path.parents] if p.exists()), None)


def home_folder(name: str) -> Path:
    """One of HOME_FOLDERS, created for its owner only (0700) when missing, whatever the home's own mode and the
    umask: a home made by hand (0755) gave datasets/ and its images 0755 and 0644, readable by every account of the
    machine. Everything inside is then out of other accounts' reach. One that exists keeps its mode; one that cannot
    be made is left to its writer's own error."""
    folder = home() / name
    try:
        os.mkdir(folder, 0o700)
        os.chmod(folder, 0o700)  # the umask may have taken the owner's bits (077 leaves them; 277 would not)
    except OSError:  # it exists, or the home is read-only: its writer says why, as before
        pass
    return folder


def datasets_dir() -> Path:
    return home_folder("datasets")


def runs_dir() -> Path:
    return home_folder("runs")


def batches_dir() -> Path:
    return home_folder("batches")


def models_dir() -> Path:
    """Domain feature extractors and UMAP models, one folder per dataset."""
    return home_folder("models")


def reports_dir() -> Path:
    return home_folder("reports")


# What ganaug itself writes in a home: these folders (ganaug/worker_alive.py's WORKERS_DIR among them), and the database
# with its -wal, -shm and -journal files and its migration lock ("ganaug.*"). A folder of the user's own (an export)
# inside one of them was taken for ganaug's: an export to runs/000002 stopped every later training ("exists but is not a
# recorded run"), and `data remove` deleted an export made inside the dataset's folder.
HOME_FOLDERS = ("datasets", "runs", "batches", "models", "reports", "workers")


def managed_by_home(path: Path) -> Optional[Path]:
    """The entry of the home that ganaug writes itself (see HOME_FOLDERS) which is or holds `path`; None when `path`
    lies outside the home or in a folder of the user's own there."""
    path, root = Path(path).resolve(), home_path()
    try:
        first = path.relative_to(root).parts[:1]
    except ValueError:
        return None
    if first and (first[0] in HOME_FOLDERS or first[0].startswith("ganaug.")):
        return root / first[0]
    return None


def relative_to_home(path: Path) -> str:
    """Paths are stored relative to the home so a home folder can be moved or mounted elsewhere."""
    return Path(path).resolve().relative_to(home()).as_posix()


def resolve(stored: str) -> Path:
    """Inverse of `relative_to_home`; absolute paths pass through unchanged."""
    p = Path(stored)
    return p if p.is_absolute() else home() / p


def writable_folder(folder: Path, what: str, create: bool = False) -> None:
    """Refuse, naming `what` (the option and the path the user gave), a folder we cannot write files in: one under
    a file, one missing (unless `create`, which makes it), one without write permission. Checked before long work,
    so that it is not lost at the end."""
    folder = Path(folder).absolute()
    blocking = _nearest_existing(folder)
    if blocking is not None and not blocking.is_dir():
        raise GanaugError(f"{what}: {blocking} is a file, not a folder")
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GanaugError(f"{what}: cannot create {folder} ({e.strerror or e})") from None
    elif not folder.is_dir():
        raise GanaugError(f"{what}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GanaugError(f"{what}: cannot write in {folder}")


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock on `path` (created if missing): excludes other processes, and other threads too, since
    each call opens the file anew. Released on exit, or by the kernel if the holder dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextmanager
def written_beside(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary name beside `path` to write to, unique (writers may race); renamed over `path` once the block
    ends, removed if it raises. A full disk left each writer's half-written temporary file behind, taking the room
    the error had just asked the user to free (the feature extractor's 270 kB on a 300 kB tmpfs). A `kill -9` leaves
    it too: its name says which machine's process wrote it, and the writer holds a lock on it, so that
    `left_by_dead_writers` can tell it from a file being written."""
    tmp = path.with_name(f".{path.name}.{host_name()}-{os.getpid()}.{uuid.uuid4().hex}{suffix}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the writer opens it again, by its name
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a file system without locks: its name's pid (and age) still keep it from a sweep
            pass
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        os.close(fd)


# `written_beside`'s names: `.<name>.<host>-<pid>.<32 hex><suffix>` (`.tmp`, `.tmp.npz`); before 2026-12-07 without
# the host. Nothing else that ganaug or a user puts in a folder is named so.
_WRITTEN_BESIDE = re.compile(
    r"\.(?P<name>.+)\.(?:(?P<host>[A-Za-z0-9_-]+)-)?(?P<pid>\d+)\.[0-9a-f]{32}\.tmp(?:\.npz)?")
# A temporary file not written to for this long is a dead writer's whoever wrote it: on a home shared by several
# machines (NFS), another machine's pid says nothing here, and a lock there may be dropped before the rename.
ABANDONED_AFTER_S = 24 * 3600


def host_name() -> str:
    """This machine's name as a file's name carries it (ASCII letters, digits, - and _; 32 at most, so that a long
    file name still fits the file system's 255 bytes): a temporary file's and a job worker's `.alive` file's."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in socket.gethostname())[:32] \
        or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's process
        return True
    return True


def left_by_dead_writers(folder: Path, remove: bool = False) -> list[tuple[Path, int]]:
    """`written_beside`'s temporary files in `folder` that no writer will rename any more, with their sizes:
    no process holds its lock, and either this machine's process named in it is gone (`kill -9`, out of memory) or
    it was last written ABANDONED_AFTER_S ago (another machine's, or named before the host was). `remove`: delete
    them, each while holding its lock. A folder's sub-folders, links and every other name are left alone."""
    found = []
    try:
        entries = sorted(Path(folder).iterdir())
    except OSError:  # no such folder yet
        return []
    for path in entries:
        named = _WRITTEN_BESIDE.fullmatch(path.name)
        if named is None:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:  # renamed or removed meanwhile, or a link
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # its writer holds it
                continue
            except OSError:  # no locks here: the name and the age decide
                pass
            ours = named["host"] == host_name()
            if (ours and not _pid_alive(int(named["pid"]))) or time.time() - info.st_mtime > ABANDONED_AFTER_S:
                if remove:
                    try:
                        path.unlink(missing_ok=True)
                    except OSError:  # another account's, in a folder we may not write: the scoring goes on
                        continue
                found.append((path, info.st_size))
        finally:
            os.close(fd)
    return found


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` through a temporary file beside it: readers see the old file or the new, never half."""
    with written_beside(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
