"""The process pool that decodes and encodes images for an ingest (`ganaug_core.dataset_sources`,
`ganaug_core.datasets`): workers from a fork server, which end with the process that made the pool."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import wait


@contextmanager
def worker_pool(workers: int):
    """A process pool for decoding and encoding, or None when one worker will do.

    Workers come from a fork server, not from forking this process: ingestion runs inside the app, the job worker
    and the tests, which all have threads, and a child forked while another thread holds a lock can hang forever
    (seen here: a test run that never finished). A worker that dies raises BrokenProcessPool instead of hanging.
    Leaving the block early (an error, a refused image) cancels what has not started.
    """
    if workers <= 1:
        yield None
        return
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["ganaug_core.datasets"])  # the decoding and writing jobs (and dataset_sources)
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_end_with_parent)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _end_with_parent() -> None:
    """A pool worker's first act: a thread that ends the worker once the process that made the pool is gone.

    An ingest killed outright (`kill -9`, the OOM killer) left its workers waiting for work forever, each holding the
    queue's pipe open itself, and with them the fork server and its resource tracker: 4 processes of ~115 MB still
    there 40 minutes on, and a `ganaug data ingest … | tee log` whose `tee` never ended, the workers holding its pipe
    open. The parent's sentinel (a pipe the parent alone holds open) is readable once it is gone."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)  # the whole worker, from this thread: a job it was running has no one to hand its result to

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
