"""Where ganaug keeps its files: everything lives under GANAUG_HOME (default ./.ganaug)."""

from __future__ import annotations

import fcntl
import os
import re
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


# An absolute path in a message: quoted as Python's OSError and repr() quote it, or bare, up to a space or quote. One
# that follows a letter, a dot, a colon or a slash is the rest of a relative path, a fraction or a URL: not a path.
_QUOTED_PATH = re.compile(r"""(['"])(/[^'"\n]*)\1""")
_BARE_PATH = re.compile(r"""(?<![\w/.~:-])/[^\s'"]+""")
_FILE_URL = re.compile(r"""([A-Za-z][\w+.-]*:///?)(/[^\s'"]+)""")  # sqlite:////srv/ganaug.db, file:///srv/x
SERVER_PATH = "(a path on the server)"


def without_server_paths(text: str) -> str:
    """`text` (a failed job's line) as any reviewer may read it: a path in the home relative to it ('runs/000003/…',
    as the database stores it), the home itself 'GANAUG_HOME', and any other absolute path SERVER_PATH. The line
    named where the server keeps its code, its Python and other people's files; the launcher and admins still see it
    whole (pages/jobs.py)."""
    roots = {home_path(), Path(os.path.abspath(os.environ.get("GANAUG_HOME") or home_path()))}

    def shown(path: str) -> str:
        lexical = Path(os.path.normpath(path))
        for root in roots:
            if lexical == root:
                return "GANAUG_HOME"
            if root in lexical.parents:
                return lexical.relative_to(root).as_posix()
        return SERVER_PATH

    def unquoted(found: str) -> str:
        path = found.rstrip(".,;:)]}")  # the sentence's punctuation after it
        return shown(path) + found[len(path):]

    text = _FILE_URL.sub(lambda m: m.group(1) + unquoted(m.group(2)), text)
    return _BARE_PATH.sub(lambda m: unquoted(m.group()), _QUOTED_PATH.sub(lambda m: shown(m.group(2)), text))


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


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` through a temporary file beside it: readers see the old file or the new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
