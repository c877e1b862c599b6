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


def open_plain_fd(path: str | os.PathLike, follow_links: bool = True) -> tuple[int, os.stat_result]:
    """A file descriptor of `path` opened for reading, and its stat, where it is a plain file; NotAPlainFile where it is
    not, OSError where it cannot be opened (a link, with `follow_links` False: ELOOP). Non-blocking changes nothing for
    a plain file's reads."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | (0 if follow_links else os.O_NOFOLLOW))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAPlainFile(f"{Path(path).name} is not a plain file (a pipe, socket or device)")
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def open_plain(path: str | os.PathLike, follow_links: bool = True) -> BinaryIO:
    """`open_plain_fd` as a binary file object."""
    fd, _ = open_plain_fd(path, follow_links)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
