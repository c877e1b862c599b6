"""Opening a file that must be a plain one: without waiting on a pipe (its open waits for a writer, for good where
none comes), never reading a device (/dev/zero never ends), and, where asked, without following a link.

A folder is listed before its files are read: a dataset's image, or an export's manifest.csv, swapped for a pipe
meanwhile held the job worker's ingest, the Audit page and `audit exports` for good. The image decoder
(`imageio`), the gate's hashing (`db.gate.file_sha256s`) and the Audit page's download (pages/export_download.py)
open their files through here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO


class NotAPlainFile(OSError):
    """A pipe, socket or device where a plain file was expected."""


def open_plain_fd(path: str | os.PathLike, follow_links: bool = True,
                  beneath: str | os.PathLike | None = None) -> tuple[int, os.stat_result]:
    """A file descriptor of `path` opened for reading, and its stat, where it is a plain file; NotAPlainFile where it is
    not, OSError where it cannot be opened (a link, with `follow_links` False: ELOOP). Non-blocking changes nothing for
    a plain file's reads. `beneath` (with `follow_links` False): a folder above `path` below which no folder on the
    way may be a link either (ENOTDIR): O_NOFOLLOW refuses a link in the file's own place only, and a class folder
    swapped for a link after the listing had its images read where it led."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_links else os.O_NOFOLLOW)
    fd = os.open(path, flags) if follow_links or beneath is None else _open_beneath(Path(path), Path(beneath), flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAPlainFile(f"{Path(path).name} is not a plain file (a pipe, socket or device)")
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def _open_beneath(path: Path, top: Path, flags: int) -> int:
    """`path` opened from `top` a folder at a time, each with O_NOFOLLOW (`top` itself, and above it, as given)."""
    try:
        *folders, name = path.relative_to(top).parts
    except ValueError:  # not below it (nor a name in it): nothing to walk down
        return os.open(path, flags)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for folder in folders:
            below = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = below
        return os.open(name, flags, dir_fd=fd)
    finally:
        os.close(fd)


def through_link(path: str | os.PathLike, beneath: str | os.PathLike | None = None) -> bool:
    """Whether `path`, or a folder on the way to it below `beneath`, is a link now."""
    path, top = Path(path), Path(beneath) if beneath is not None else None
    for p in [path, *path.parents]:
        if p == top or (top is None and p != path):
            return False
        if p.is_symlink():
            return True
    return False


def open_plain(path: str | os.PathLike, follow_links: bool = True, beneath: str | os.PathLike | None = None) -> BinaryIO:
    """`open_plain_fd` as a binary file object."""
    fd, _ = open_plain_fd(path, follow_links, beneath)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
