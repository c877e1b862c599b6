"""Keep freed memory in the process for training and sampling, instead of handing it back to the OS each step.

A training step or a sampling chunk allocates and frees the same few-megabyte feature maps again and again. glibc's
malloc returns the top of its heap to the OS whenever more than its trim threshold (dynamically ≤ 64 MiB) lies
free there, and serves large blocks from fresh `mmap`s. Each time, the next allocation faults those pages back in
and the kernel zeroes them. On a 2-core Zen 3 that meant ≈ 5,200 page faults per training step at 32² and
8,000–10,000 per 256-image sampling chunk. Without those faults, sampling ran 1.39× as fast (medians, 5 alternating
pairs of processes); training gained a few per cent at most, within that machine's noise (BENCHMARKS.md).
The classifiers of the evaluation and the downstream benchmark gain too (5 alternating pairs of processes, 150
steps each at 32²: page faults ≈ 280,000–1,100,000 → 22,000–44,000; the domain feature extractor 1.19×, the
benchmark's classifier 1.08×, medians), so `ganaug evaluate` and `ganaug benchmark` set it as well.
With these thresholds the heap keeps up to `TRIM_THRESHOLD` of freed memory, and blocks below `MMAP_THRESHOLD`
come from the heap. Bigger ones, such as a whole dataset's arrays, are still mapped and unmapped on their own.
"""

from __future__ import annotations

import ctypes
import sys

MMAP_THRESHOLD = 256 << 20  # blocks at least this large are mapped (and returned to the OS when freed)
TRIM_THRESHOLD = 512 << 20  # free memory kept at the top of the heap before any is returned
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)

_applied = False


def keep_freed_memory() -> bool:
    """Set glibc's trim and mmap thresholds for this process; True when it applied (Linux with glibc).

    Process-wide and idempotent. Elsewhere (macOS, musl) it does nothing and returns False: those allocators
    behave differently and nothing here depends on it, only speed.
    """
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this Python runs on
    except (OSError, AttributeError):  # no mallopt to call
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return _applied
