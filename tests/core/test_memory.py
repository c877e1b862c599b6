"""keep_freed_memory: the heap keeps what a step freed, so the next step does not fault it back in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Allocates and frees a 40 MiB buffer (touching every page) four times and prints the minor page faults it cost.
# 40 MiB is above glibc's largest dynamic mmap threshold (32 MiB), so by default every round maps fresh pages.
PROBE = """
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from ganaug_core.memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[2] == "1" else False
b = bytearray(40 << 20); del b
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    b = bytearray(40 << 20); del b
print(json.dumps({"applied": applied, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def probe(apply: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), "1" if apply else "0"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_reused_without_page_faults():
    default, kept = probe(False), probe(True)
    if not kept["applied"]:
        pytest.skip("this libc has no mallopt (not glibc)")
    # By default each round faults its pages in again: 10,240 of 4 KiB, or at least 20 where the kernel backs the
    # buffer with 2 MiB pages. With the setting the heap kept the buffer and the rounds reuse its pages.
    assert default["faults"] >= 4 * (40 << 20) // (2 << 20)
    assert kept["faults"] * 10 <= default["faults"]
