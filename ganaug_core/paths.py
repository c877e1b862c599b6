"""Where ganaug keeps its files: everything lives under GANAUG_HOME (default ./.ganaug)."""

from __future__ import annotations

import fcntl
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

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
        raise GanaugError(f"GANAUG_HOME {path}: cannot create it: {e.strerror or e}"
                          + (f": {e.filename}" if e.filename and str(e.filename) != str(path) else "")) from None
    return path


def _nearest_existing(path: Path):
    """`path` itself or its nearest ancestor that exists (None if none does)."""
    return next((p for p in [path, *path.parents] if p.exists()), None)


def datasets_dir() -> Path:
    return home() / "datasets"


def runs_dir() -> Path:
    return home() / "runs"


def batches_dir() -> Path:
    return home() / "batches"


def models_dir() -> Path:
    """Domain feature extractors and UMAP models, one folder per dataset."""
    return home() / "models"


def reports_dir() -> Path:
    return home() / "reports"


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
    the error had just asked the user to free (the feature extractor's 270 kB on a 300 kB tmpfs)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` through a temporary file beside it: readers see the old file or the new, never half."""
    with written_beside(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
