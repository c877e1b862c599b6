"""Runs whose training process died without a word: `kill -9`, the OOM killer, a machine that went down.

Such a run's row says "running" for good, since nothing was left to record its end. Its training process held its
run folder (`ganaug.held_folders`) from the run's creation until its end was recorded, so a folder that no living
process holds marks the run as dead. No torch here, so `runs list`, `generate` and the job worker look cheaply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from sqlalchemy import select, update

from db.engine import session_scope
from db.models import Run, db_now
from ganaug.held_folders import abandoned
from ganaug_core import paths


def fail_abandoned_runs(run_ids: Optional[list[int]] = None) -> list[int]:
    """Mark failed the runs still recorded as running whose process is gone (`kill -9`, out of memory, a machine
    that went down): nobody holds their folder. Returns their ids. A run with a checkpoint can be resumed."""
    query = select(Run.id, Run.run_dir, Run.step, Run.checkpoint_path).where(Run.status == "running")
    if run_ids is not None:
        query = query.where(Run.id.in_(run_ids))
    with session_scope() as s:
        rows = s.execute(query).all()
    failed = []
    for run_id, run_dir, step, checkpoint in rows:
        with abandoned(paths.resolve(run_dir)) as gone:
            if not gone:
                continue
            then = (f"continue from its last checkpoint ({Path(checkpoint).name}) with `ganaug train --resume {run_id}`"
                    if checkpoint else "it wrote no checkpoint: train again")
            error = (f"the training process stopped without finishing, at step {step or 0} (killed, out of memory, "
                     f"or its machine went down); {then}")
            with session_scope(immediate=True) as s:
                done = s.execute(update(Run).where(Run.id == run_id, Run.status == "running").values(
                    status="failed", error=error, finished_at=db_now(s)))
            if done.rowcount:
                failed.append(run_id)
    return failed
