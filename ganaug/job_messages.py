"""What a job's row says in words: its progress, its failure in one line, what a cancelled or stopped job left.

The worker (`ganaug.worker`) writes these; the pages and `ganaug jobs list` show them as they are. A job that
recorded part of its work before it failed or was stopped says what it recorded and what to launch for the rest:
launching the whole job again would train anew and make its batches a second time.
"""

from __future__ import annotations

import errno
import traceback
from typing import Optional

from db.engine import database_failure
from ganaug.errors import FREE_SPACE_IN_APP, RunFailedOnFullDisk, full_disk, full_disk_said
from ganaug_core.progress import Progress


def progress_message(p: Progress) -> str:
    """The job's last message in words: 'training: step 225 of 600', 'class 8 (2 of 3): generate 16/16'."""
    if p.stage == "train":
        return f"training: step {p.done:,} of {p.total:,}" if p.total else f"training: step {p.done:,}"
    count = f"{p.stage} {p.done}/{p.total}" if p.total else f"{p.stage} {p.done}"
    phase = (p.stats or {}).get("phase")
    return f"{phase}: {count}" if phase else count


def job_error(e: BaseException) -> str:
    """A failed job's error: one line that names the problem (and, where we know it, what to do), then the
    traceback for a bug report. The page shows the line; `ganaug jobs list --json` gives both. A job that failed
    after recording part of its work (`FailedPartWay`) says what it recorded and what to launch instead of it all."""
    from ganaug.job_handlers import FailedPartWay

    if isinstance(e, FailedPartWay) and e.__cause__ is not None:
        line = f"{_problem(e.__cause__, again=False)}. {e}"
    else:
        line = _problem(e, again=True)
    return f"{' '.join(line.split())}\n\n{traceback.format_exc(limit=8)}"


def _problem(e: BaseException, again: bool) -> str:
    """The failure in one line; `again`: ending with "launch it again" where that is the way on (not for a job that
    recorded part of its work: launching it again would make that again)."""
    from db.datasets import UnknownDataset
    from db.errors import DecisionError
    from ganaug_core.errors import GanaugError

    database = database_failure(e)
    if database is not None:  # a server that restarted or went out of reach while the job read or wrote
        return f"{database}: the job stopped there{'; launch it again' if again else ''}"
    if isinstance(e, RunFailedOnFullDisk):  # the run's own error keeps the command line's `ganaug train --resume`
        return e.in_app
    if isinstance(e, (GanaugError, DecisionError, UnknownDataset)):  # bad input, said in one line already
        return str(e)
    if full_disk(e):  # said as a failed run says it (`ganaug.errors`), a quota too, for a reader of the app's pages
        return f"{full_disk_said(e)}: {FREE_SPACE_IN_APP}{', then launch the job again' if again else ''}"
    if isinstance(e, OSError) and e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"cannot write{f' {e.filename}' if e.filename else ''} ({e.strerror}): the worker needs to write "
                f"under GANAUG_HOME; fix its permissions{', then launch the job again' if again else ''}")
    return f"{type(e).__name__}: {e}"


def cancel_message(session, run_id: Optional[int], batch_ids: list, stopped: Optional[str] = None,
                   verb: str = "cancelled", trained: bool = True) -> str:
    """What a cancelled job left: where its run stopped and whether it can go on, the batches made before, and what
    the handler says it left undone (`stopped`: 'batch 7 not scored yet: `ganaug evaluate batch 7`, …'). `trained`:
    the job trained its run; a generate-only job did not, and its run is as it was (it said "cancelled after training:
    run 1 finished …", of a run trained days before)."""
    from db.models import Run

    run = session.get(Run, run_id) if run_id is not None else None
    if run is None:
        said = f"{verb} on request"
    elif not trained:
        said = f"{verb} while making batches from run {run.id}"
    elif run.status == "done":
        said = f"{verb} after training: run {run.id} finished ({run.step or 0:,} steps) and can generate more"
    elif run.checkpoint_path:
        of = f" of {run.total_steps:,}" if run.total_steps else ""
        said = (f"{verb} at step {run.step or 0:,}{of}: run {run.id} keeps its checkpoint and can be resumed "
                f"(`ganaug train --resume {run.id}`, or “Start from run” on the Generate page)")
    else:
        said = f"{verb} at step {run.step or 0:,}: run {run.id} wrote no checkpoint to resume from"
    if batch_ids:
        many = len(batch_ids) > 1
        said += (f"; the job made batch{'es' * many} {', '.join(map(str, batch_ids))}, "
                 f"which await{'' if many else 's'} review")
    if stopped:
        said += f"{':' if run is None else ';'} {stopped}"
    return said


def worker_stopped_message(session, run_id: Optional[int], batch_ids: list, stopped: Optional[str],
                           trained: bool = False) -> str:
    """The error of a job whose worker was stopped (Ctrl-C, `ganaug app` quitting) while it ran: what it recorded
    and what to launch for the rest (`trained`: the job trained the run). Submitting the whole job again would
    start over: train again, make its batches again."""
    from db.models import Run

    run = session.get(Run, run_id) if run_id is not None else None
    if run is None or (not batch_ids and (not trained or (run.status != "done" and not run.checkpoint_path))):
        # it recorded nothing to go on from: a generate job that made no batch, a run with no checkpoint
        return f"the worker was stopped while the job ran{f' ({stopped})' if stopped else ''}; submit it again"
    left = cancel_message(session, run_id, batch_ids, stopped, verb="it stopped", trained=trained)
    said = f"the worker was stopped while the job ran; {left}"
    if trained and run.status != "done":
        return f"{said}; resume it rather than submitting the job again, which would train anew"
    if stopped and "not generated" not in stopped:  # only scoring left: `stopped` says how, batch by batch
        return f"{said}, rather than submitting the job again, which would start over"
    rest = (f"generate {'only those ' if stopped else ''}from run {run.id} (“Start from run” with “Only "
            "generate from it” on the Generate page)")
    return f"{said}; {rest} rather than submitting the job again, which would start over"


def silent_worker_message(silent_s: float) -> str:
    """What a running job says while its worker has sent no heartbeat for longer than the stale limit but no sweep
    may fail it: on PostgreSQL its lease holds (`db.job_lease`), as for a worker cut off from the database alone."""
    from db.job_lease import SILENT_LIMIT_S

    silent = f"{silent_s:.0f} s" if silent_s < 90 else f"{round(silent_s / 60)} min"
    return (f"no heartbeat for {silent} — its worker is out of reach of the database, or dead; the job is marked "
            f"failed once the database has lost the worker's connection too (within {SILENT_LIMIT_S // 60} min of "
            "losing touch), and runs on if the worker answers before")
