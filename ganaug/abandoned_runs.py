"""Runs whose training process died without a word: `kill -9`, the OOM killer, a machine that went down.

Such a run's row says "running" for good, since nothing was left to record its end. Its training process held its
run folder (`ganaug.held_folders`) from the run's creation until its end was recorded, so a folder that no living
process holds marks the run as dead. A process killed between writing a checkpoint and recording it leaves that file
in the folder, unrecorded: a resume says so (`unrecorded_checkpoints_said`). No torch here, so `runs list`,
`generate`, the job worker and the Generate page look cheaply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Optional

from sqlalchemy import select, update

from db.engine import session_scope
from db.models import Run, db_now
from ganaug.held_folders import abandoned
from ganaug_core import paths
from ganaug_core.imbalance import some_names
from ganaug_core.runstats import checkpoint_step, checkpoints


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


def unrecorded_checkpoints_said(run_id: int, shown: Callable[[Path], str] = str) -> Optional[str]:
    """What a resume of `run_id` says when the run's folder holds checkpoints from after the one it recorded: which
    step it resumes from, and why the later files are not used (each named by `shown`). None when there are none.

    A process killed between writing a checkpoint and recording it leaves such a file, whole (it is renamed into
    place only once written). It is still not used: only the run's row records a sha256, and a file nothing vouches
    for could have been put there by anyone who can write the folder (`ganaug.runs.verified_checkpoint`)."""
    with session_scope() as s:
        row = s.execute(select(Run.run_dir, Run.checkpoint_path).where(Run.id == run_id)).first()
    if row is None or not row.checkpoint_path:
        return None
    return _unrecorded_said(run_id, paths.resolve(row.run_dir), row.checkpoint_path, shown)


def _unrecorded_said(run_id: int, run_dir: Path, recorded: str, shown: Callable[[Path], str]) -> Optional[str]:
    found = checkpoints(run_dir)
    step = next((k for k, path in found.items() if path.name == Path(recorded).name), None)
    later = [shown(found[k]) for k in sorted(found) if step is not None and k > step]
    if not later:
        return None
    many = len(later) > 1
    return (f"resuming run {run_id} from step {step}, its last recorded checkpoint: {some_names(later)} "
            f"{'were' if many else 'was'} written after it but never recorded (its process was killed before "
            f"recording {'them' if many else 'it'}), so no recorded sha256 vouches for {'their' if many else 'its'} "
            f"bytes and {'they are' if many else 'it is'} not used")


def resume_points(run_ids: Iterable[int]) -> dict[int, dict]:
    """Run id → where a resume of it starts, for the Generate page: `step`, that of its recorded checkpoint (a run
    whose process died reported steps past it: `runs.step` is not where it goes on from; None when the file's name
    does not say), and `unrecorded`, what `unrecorded_checkpoints_said` says, naming files by `in_home`."""
    with session_scope() as s:
        rows = s.execute(select(Run.id, Run.run_dir, Run.checkpoint_path)
                         .where(Run.id.in_(list(run_ids)), Run.checkpoint_path.is_not(None))).all()
    return {run_id: dict(step=checkpoint_step(checkpoint),
                         unrecorded=_unrecorded_said(run_id, paths.resolve(run_dir), checkpoint, in_home))
            for run_id, run_dir, checkpoint in rows}


def in_home(path: Path) -> str:
    """`path` as the app shows it to any reviewer: relative to the home, or its name alone (no server path)."""
    try:
        return paths.relative_to_home(path)
    except ValueError:
        return Path(path).name
