"""`ganaug demo`: land a newcomer on a working review in one command; a second run reuses everything.

Steps, each skipped when its result already exists: ingest demo:digits as the dataset "digits"; train a quick
generator (a wall-clock budget, ≤ 2 minutes on 2 cores); generate one batch per minority class; score and embed
those batches (feature extractor, memorization check, UMAP coordinates); create the demo account.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from sqlalchemy import select

from db.engine import session_scope
from db.models import Batch, Run
from ganaug.busy_machine import BusyMachine, busy_machine
from ganaug.errors import RunInterrupted
from ganaug_core.errors import GanaugError
from ganaug_core.imbalance import some_names
from ganaug_core.progress import ProgressCallback, no_progress
from ganaug_core.runstats import FEW_STEPS, too_young_to_tell

DEMO_SOURCE = "demo:digits"
DEMO_DATASET = "digits"
DEMO_RESOLUTION = 16  # the scans are 8×8; 16×16 keeps the quick generator within its two minutes
DEFAULT_MINUTES = 1.5
DEMO_PER_CLASS = 48
DEMO_SEED = 0
DEMO_USER = "demo"
DEMO_PASSWORD = "demo-review"  # printed on purpose: a local demo account, not a secret


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM while the demo trained: the training loop stops at a whole step, saves a checkpoint and
    returns (marking the run cancelled) rather than raise, so the demo raises this instead of generating from it.
    A second one during that final save stops the save (`RunInterrupted`): `saved` is False, and `checkpoint` names
    the run's last recorded one, which it goes on from (None: it wrote none)."""

    def __init__(self, run_id: int, step: int, saved: bool = True, checkpoint: Optional[str] = None):
        super().__init__(f"run {run_id} interrupted at step {step}")
        self.run_id, self.step, self.saved, self.checkpoint = run_id, step, saved, checkpoint

    def text(self) -> str:
        """What the demo says of it, the command that trains the run further included."""
        cmd = typed_command()
        further = (f"`{cmd} train --resume {self.run_id} --minutes 2` trains it further as a new run, which the next "
                   f"`{cmd} demo` generates from (without it, the next demo trains a run of its own)")
        if self.saved:
            return f"run {self.run_id} stopped at step {self.step}, its checkpoint saved: {further}"
        stopped = f"run {self.run_id} stopped at step {self.step} before its checkpoint was written (Ctrl-C or SIGTERM "
        if self.checkpoint is None:  # its first: nothing to resume from
            return stopped + f"while it saved), its first: the next `{cmd} demo` trains a run of its own"
        return stopped + f"while it saved); it goes on from its last checkpoint ({self.checkpoint}): {further}"


@dataclass
class DemoInfo:
    dataset: str
    run_id: int
    batch_ids: list[int]
    user: Optional[str]
    password: Optional[str]
    role: Optional[str]
    created: list[str] = field(default_factory=list)  # what this invocation made (empty on a second run)
    steps: int = 0  # how far the run trained: a busy machine buys fewer steps in the demo's minutes
    collapsed: list[str] = field(default_factory=list)  # the classes the run's diversity monitor flagged last
    busy: Optional[BusyMachine] = None  # the machine's load as this invocation started training, when too high
    # batch id → its status now: a home reviewed since its first demo (an upgrade's `make demo` again) holds decided
    # batches, which the line called "pending review" too. Empty: every batch is pending.
    statuses: dict[int, str] = field(default_factory=dict)

    def _batches(self) -> str:
        """'batches [3, 2, 1] pending review', or grouped by status where some were decided: 'batch 3 pending review,
        batch 1 approved, batch 2 rejected'."""
        if all(self.statuses.get(b, "pending") == "pending" for b in self.batch_ids):
            return f"batches {self.batch_ids} pending review"
        by_status: dict[str, list[int]] = {}
        for b in self.batch_ids:
            by_status.setdefault(self.statuses.get(b, "pending"), []).append(b)
        return ", ".join(f"batch{'es' * (len(ids) > 1)} {', '.join(map(str, ids))} "
                         f"{'pending review' if status == 'pending' else status}" for status, ids in by_status.items())

    def text(self) -> str:
        """What the demo made and how to sign in (stdout); its notes are `notes`."""
        made = ", ".join(self.created) if self.created else "nothing new (everything was already there)"
        lines = [f"demo ready: dataset {self.dataset!r}, run {self.run_id}, {self._batches()}",
                 f"made this time: {made}"]
        if self.user:
            lines.append(f"sign in as {self.user!r} with password {self.password!r} ({self.role})")
        else:
            # Without --user, `users add` on a home with an admin stops at "who is deciding?".
            lines.append("an admin already exists: an admin creates your account with "
                         f"`{typed_command()} users add NAME --role reviewer --user ADMIN`")
        return "\n".join(lines)

    def notes(self) -> list[str]:
        """Its notes and warnings, each a paragraph, for stderr as every command's (they were lines of `text`)."""
        lines = []
        if self.steps < FEW_STEPS:
            lines.append(f"note: run {self.run_id} trained only {self.steps} steps, likely too few for realistic "
                         "samples (a busy machine buys fewer steps in the same minutes); train it further with "
                         f"`{typed_command()} train --resume {self.run_id} --minutes 2`, then run the demo again for "
                         "new batches")
        if self.busy is not None:  # its threads waited on each other: fewer steps in the same minutes
            lines.append(self.busy.note(f"{typed_command()} train --resume {self.run_id} --minutes 2"))
        if self.collapsed and too_young_to_tell(self.steps):  # every class of a generator this young looks alike
            lines.append(f"note: samples still vary too little in class {some_names(self.collapsed)}, as expected "
                         "this early: no collapse yet")
        elif self.collapsed:
            lines.append(f"warning: possible mode collapse, samples vary too little in class {some_names(self.collapsed)}"
                         "; look at them on the Review page before approving")
        return lines


def typed_command() -> str:
    """How to type this ganaug in the shell that ran it: `ganaug` where that is this one on the PATH, else its path
    (`make demo` runs .venv/bin/ganaug without activating the venv, so a bare `ganaug` was "command not found")."""
    ours = Path(sys.executable).parent / "ganaug"
    found = shutil.which("ganaug")
    if not ours.exists() or (found is not None and Path(found).resolve() == ours.resolve()):
        return "ganaug"
    inside = Path(os.path.relpath(ours))
    return str(inside) if not str(inside).startswith("..") else str(ours)


def _dataset(name: str, resolution: int, progress: ProgressCallback, created: list[str]) -> None:
    from db.datasets import find_dataset
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    with session_scope() as session:
        if find_dataset(session, name) is not None:
            return
    ingest_dataset(DEMO_SOURCE, name, IngestOptions(resolution=resolution, seed=DEMO_SEED), progress)
    created.append(f"dataset {name}")


def _finished_run(name: str) -> Optional[int]:
    from db.datasets import get_dataset

    with session_scope() as session:
        ds = get_dataset(session, name)
        return session.scalar(
            select(Run.id).where(Run.dataset_id == ds.id, Run.status == "done", Run.checkpoint_path.is_not(None))
            .order_by(Run.id.desc()).limit(1)
        )


def _minority_classes(name: str) -> list[int]:
    from ganaug.datasets import dataset_report

    report = dataset_report(name)
    return [report.class_names.index(c) for c in report.minority_classes]


def _user(created: list[str]) -> tuple[Optional[str], Optional[str]]:
    from db.users import add_user, authenticate, get_user, has_active_admin
    from db.errors import DecisionError

    with session_scope(immediate=True) as session:
        existing = get_user(session, DEMO_USER)
        if existing is not None:
            try:
                authenticate(session, DEMO_USER, DEMO_PASSWORD)
            except DecisionError:
                return None, None  # someone changed or disabled it: do not print a password that will not work
            return existing.name, existing.role
        if has_active_admin(session):
            return None, None
        # The first account of a fresh home must be an admin (it bootstraps the others); the demo reviewer is it.
        user = add_user(session, DEMO_USER, DEMO_PASSWORD, role="admin")
        created.append(f"account {DEMO_USER}")
        return user.name, user.role


def prepare_demo(minutes: Optional[float] = DEFAULT_MINUTES, steps: Optional[int] = None,
                 per_class: int = DEMO_PER_CLASS, name: str = DEMO_DATASET, resolution: int = DEMO_RESOLUTION,
                 progress: ProgressCallback = no_progress) -> DemoInfo:
    from ganaug.evaluation import measure_batch
    from ganaug.batches import generate_batch
    from ganaug.runs import default_config, final_diversity, train_run

    if minutes is not None and not 0 < minutes < math.inf:  # before the dataset is ingested, not after
        raise GanaugError(f"--minutes must be a finite number > 0, got {minutes}")
    created: list[str] = []
    _dataset(name, resolution, progress, created)
    run_id = _finished_run(name)
    busy = None
    if run_id is None:
        config = default_config(name, minutes=minutes, steps=steps, seed=DEMO_SEED)
        busy = busy_machine(config.device)
        try:
            run_id = train_run(name, config.validate(), progress=progress)
        except RunInterrupted as e:  # a second Ctrl-C in the final save: the demo said only "interrupted by Ctrl-C
            with session_scope() as session:  # (SIGINT)", neither the run nor the checkpoint it goes on from
                checkpoint = session.get(Run, e.run_id).checkpoint_path
            raise TrainingInterrupted(e.run_id, e.step, saved=False,
                                      checkpoint=Path(checkpoint).name if checkpoint else None) from None
        created.append(f"run {run_id}")
        with session_scope() as session:
            run = session.get(Run, run_id)
            if run.status != "done":  # the demo's config has no should_stop: only Ctrl-C or SIGTERM cancels it
                raise TrainingInterrupted(run_id, run.step or 0)

    batch_ids = []
    for c in _minority_classes(name):
        with session_scope() as session:
            batch_id = session.scalar(
                select(Batch.id).where(Batch.run_id == run_id, Batch.class_index == c).order_by(Batch.id).limit(1))
        if batch_id is None:
            batch_id = generate_batch(run_id, c, per_class, seed=DEMO_SEED + c, progress=progress)
            created.append(f"batch {batch_id}")
        batch_ids.append(batch_id)
    for batch_id in batch_ids:
        with session_scope() as session:
            scored = session.get(Batch, batch_id).scores_computed
        if not scored:
            measure_batch(batch_id, progress=progress)
            created.append(f"scores of batch {batch_id}")

    user, role = _user(created)
    with session_scope() as session:
        steps = session.get(Run, run_id).step or 0
        statuses = {b: session.get(Batch, b).status for b in batch_ids}
    return DemoInfo(name, run_id, batch_ids, user, DEMO_PASSWORD if user else None, role, created, steps,
                    final_diversity(run_id)[1], busy, statuses)
