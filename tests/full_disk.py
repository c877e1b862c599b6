"""A disk that fills for real in a test, with no file system mounted: a file-size limit (`ulimit -f`,
RLIMIT_FSIZE) set in the test's own process. A write past it fails with EFBIG, which ganaug says as a full disk
(`ganaug.errors.FULL_DISK`), and SQLite fails as it does on a full disk (SQLITE_IOERR_SHMSIZE, SQLITE_FULL)."""

from __future__ import annotations

import resource
import signal
from contextlib import contextmanager


@contextmanager
def files_end_at(size: int):
    """Every write past `size` bytes of a file fails, in this process, until the block ends. Nothing in it may print
    to a file (pytest's capture of a test's output is one): keep the block to the call that should fail."""
    sig = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process at the limit
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, sig)
