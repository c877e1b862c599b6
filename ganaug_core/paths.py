"""Where ganaug keeps its files: everything lives under GANAUG_HOME (default ./.ganaug)."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def home() -> Path:
    """The ganaug home folder, created on first use."""
    path = Path(os.environ.get("GANAUG_HOME") or Path.cwd() / ".ganaug").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def relative_to_home(path: Path) -> str:
    """Paths are stored relative to the home so a home folder can be moved or mounted elsewhere."""
    return Path(path).resolve().relative_to(home()).as_posix()


def resolve(stored: str) -> Path:
    """Inverse of `relative_to_home`; absolute paths pass through unchanged."""
    p = Path(stored)
    return p if p.is_absolute() else home() / p


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
