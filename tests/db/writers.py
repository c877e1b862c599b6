"""Code that the reliability tests and benchmarks/db_speed.py run in separate processes.

`python -m tests.db.writers decide URL HOME USER PASSWORD SAMPLE N` records N tag/untag decisions, each in its own
transaction, and prints "ok <slowest decision in seconds>" or the first error. `python -m tests.db.writers insert-batch URL HOME DATASET N MARKER`
records a batch of N samples in one transaction, touching MARKER halfway so that a test can kill it there.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def _connect(url: str, home: str) -> None:
    os.environ["GANAUG_HOME"] = home
    os.environ["GANAUG_DB_URL"] = url


def decide(url: str, home: str, user: str, password: str, sample_id: int, n: int) -> str:
    _connect(url, home)
    from db.engine import session_scope
    from db.review import tag_sample, untag_sample
    from db.users import authenticate

    with session_scope() as s:
        me = authenticate(s, user, password)
    slowest = 0.0
    for i in range(n):
        t = time.perf_counter()
        try:
            with session_scope(immediate=True) as s:
                (tag_sample if i % 2 == 0 else untag_sample)(s, sample_id, "blur", me)
        except Exception as e:  # report, don't retry: any error here is a failure of the test
            return f"decision {i}: {type(e).__name__}: {e}"
        slowest = max(slowest, time.perf_counter() - t)
    return f"ok {slowest:.3f}"  # the longest a single decision waited, lock included


def insert_batch(url: str, home: str, dataset_id: int, n: int, marker: str) -> None:
    _connect(url, home)
    from db.engine import session_scope
    from db.models import Batch, Run, Sample

    with session_scope(immediate=True) as s:
        run = Run(dataset_id=dataset_id, status="done", run_dir="runs/x", config={}, config_sha256="c" * 64,
                  code_version="test")
        s.add(run)
        s.flush()
        batch = Batch(run_id=run.id, dataset_id=dataset_id, class_index=1, count=n, seed=0, status="pending",
                      checkpoint_sha256="k" * 64, config_sha256="c" * 64, code_version="test", folder="batches/x")
        s.add(batch)
        s.flush()
        for i in range(n):
            s.add(Sample(batch_id=batch.id, class_index=1, seed=i, path=f"batches/x/{i}.png", sha256=f"{i:064x}"))
            s.flush()  # one INSERT at a time, so the kill lands between rows the server has already taken
            if i == n // 2:
                Path(marker).touch()
                time.sleep(float(os.environ.get("GANAUG_TEST_PAUSE", "30")))


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "decide":
        url, home, user, password, sample, n = args
        print(decide(url, home, user, password, int(sample), int(n)), flush=True)
    elif cmd == "insert-batch":
        url, home, dataset, n, marker = args
        insert_batch(url, home, int(dataset), int(n), marker)
        print("committed", flush=True)
