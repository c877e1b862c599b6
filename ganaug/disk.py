"""What a home holds on disk, and how to take back what finished runs no longer need.

A run writes a checkpoint every `ckpt_every` steps and a folder of per-class grids (with an overview PNG) every
`grid_every` steps, and keeps them all. `plan_prune` chooses, per run, the intermediate checkpoints and old grids
that can go; `prune` deletes them. It never deletes:

- anything of a run still training (its process holds the run folder, `ganaug.held_folders`; the folder's lock is
  taken for as long as the run is pruned, so that no process can take it up meanwhile);
- a run's latest checkpoint, the one the database records (`train --resume` and `generate` start from it);
- a checkpoint whose sha256 a generated batch recorded (`audit reproduce` finds it by that sha256), whichever run
  the batch came from;
- the newest `keep_last` checkpoints and grid steps of the run (the final grid is the one the app shows).

What goes is first moved, one rename each, into the run's `.pruning` folder, which is then removed: a prune killed
midway leaves whole files and whole grid steps, and the leftover `.pruning` folder is removed by the next prune.
A batch drawn from a run still training names one of its intermediate checkpoints; `generate_batch` checks that
file again and records the batch under `prune_lock`, so a prune that deleted it meanwhile fails that batch whole.
Deleting these files decides nothing about a sample, so nothing is written to the decision log.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from sqlalchemy import select

from db.engine import database_url, session_scope
from db.models import Batch, Dataset, Run
from ganaug.abandoned_runs import fail_abandoned_runs
from ganaug.errors import UserError
from ganaug.held_folders import abandoned
from ganaug_core import paths
from ganaug_core.imageio import sha256_file
from ganaug_core.runstats import checkpoints

GRID = re.compile(r"step(\d+)(\.png)?")
TRASH = ".pruning"  # inside a run folder: what a prune is deleting
BATCH_STAGING = ".staging-"  # a batch being generated (ganaug.runs.STAGING; not imported from there: it loads torch)
HOME_PARTS = ("runs", "batches", "datasets", "models", "reports")


def tree_bytes(path: Path) -> int:
    """Bytes of the files under `path` (or of `path` itself, a file); links are not followed. 0 if missing."""
    try:
        if not path.is_dir() or path.is_symlink():
            return path.lstat().st_size if path.is_file() else 0
    except OSError:
        return 0
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # removed meanwhile (a prune, a sweep)
                pass
    return total


def grid_steps(run_dir: Path) -> dict[int, list[Path]]:
    """The run's grids by step: each step's per-class folder and overview PNG."""
    folder = run_dir / "grids"
    found: dict[int, list[Path]] = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        m = GRID.fullmatch(path.name)
        if m:
            found.setdefault(int(m.group(1)), []).append(path)
    return found


def leftovers(run_dir: Path) -> list[Path]:
    """What killed writers left in a run folder: a checkpoint's temporary file, a grid folder being dropped by the
    training loop (`.drop-step…`), a prune's `.pruning` folder."""
    ckpts, grids = run_dir / "checkpoints", run_dir / "grids"
    tmp = [p for p in ckpts.iterdir() if p.name.startswith(".checkpoint-") and p.name.endswith(".tmp")] \
        if ckpts.is_dir() else []
    dropped = [p for p in grids.iterdir() if p.name.startswith(".drop-step")] if grids.is_dir() else []
    return sorted(tmp) + sorted(dropped) + ([run_dir / TRASH] if (run_dir / TRASH).exists() else [])


def run_usage(run_dir: Path) -> dict:
    """A run folder's bytes: checkpoints, grids, the rest (config, stats, leftovers) and the total."""
    ckpts, grids = checkpoints(run_dir), grid_steps(run_dir)
    ckpt_bytes = sum(tree_bytes(p) for p in ckpts.values())
    grid_bytes = sum(tree_bytes(p) for parts in grids.values() for p in parts)
    total = tree_bytes(run_dir)
    return dict(checkpoints=len(ckpts), checkpoint_bytes=ckpt_bytes, grid_steps=len(grids), grid_bytes=grid_bytes,
                other_bytes=total - ckpt_bytes - grid_bytes, total_bytes=total)


def runs_usage(run_ids: Optional[Iterable[int]] = None) -> list[dict]:
    """Each run's row (newest first; all runs, or `run_ids`) with its folder's usage (`run_usage`)."""
    query = select(Run.id, Dataset.name, Run.status, Run.step, Run.run_dir).join(Dataset, Run.dataset_id == Dataset.id)
    if run_ids is not None:
        query = query.where(Run.id.in_(list(run_ids)))
    with session_scope() as s:
        rows = s.execute(query.order_by(Run.id.desc())).all()
    return [dict(run=i, dataset=name, status=status, step=step or 0, run_dir=run_dir,
                 **run_usage(paths.resolve(run_dir)))
            for i, name, status, step, run_dir in rows]


# The folder names `ganaug.runs` and `ganaug.batches` give a run's and a batch's new id.
_RECORD_FOLDER = {"runs": re.compile(r"\d{6}"), "batches": re.compile(r"\d+")}


def records_and_folders() -> dict:
    """Per kind ("runs", "batches"): the ids whose recorded folder is gone (`missing`) and the folders under
    GANAUG_HOME/runs or /batches that no row names (`unrecorded`). Either comes of a database and files that are not
    of one backup: an older database restored beside newer files, or older files beside a newer database. Named,
    since nothing else says so: `runs list` showed a run that no longer existed at 0 B, and a run on disk not at all."""
    with session_scope() as s:
        recorded = {"runs": dict(s.execute(select(Run.id, Run.run_dir)).all()),
                    "batches": dict(s.execute(select(Batch.id, Batch.folder)).all())}
    home, found = paths.home(), {}
    for kind, rows in recorded.items():
        known = {paths.resolve(f) for f in rows.values() if f}
        root = home / kind
        on_disk = sorted(root.iterdir()) if root.is_dir() else []
        found[kind] = dict(
            missing=sorted(i for i, f in rows.items() if f and not paths.resolve(f).is_dir()),
            unrecorded=[f"{kind}/{p.name}" for p in on_disk
                        if p.is_dir() and _RECORD_FOLDER[kind].fullmatch(p.name) and p not in known])
    return found


def records_and_folders_said(found: dict) -> list[str]:
    """`records_and_folders` in lines, each with what mends it."""
    lines = []
    for kind, one in (("runs", "run"), ("batches", "batch")):
        for key in ("missing", "unrecorded"):
            names = list(map(str, found[kind][key]))
            if not names:
                continue
            many = len(names) > 1
            them, more = "them" if many else "it", f" and {len(names) - 10} more" if len(names) > 10 else ""
            lines.append(
                f"{kind if many else one} {', '.join(names[:10])}{more}: the database records {them}, but "
                f"{'their folders are' if many else 'its folder is'} gone (files restored from a backup older than "
                "the database?): restore the files backed up with this database" if key == "missing" else
                f"{', '.join(names[:10])}{more}: no {one} of the database names {them} (a database restored from a "
                f"backup older than {'these files' if many else 'it'}?): restore the database backed up with "
                f"{them}, or move {them} out of the home")
    return lines


def database_files() -> Optional[list[Path]]:
    """The SQLite database's files (with its WAL and shared-memory files); None for a database on a server."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url())
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    db = Path(url.database)
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def home_usage() -> dict:
    """Bytes under GANAUG_HOME by part (runs, batches, datasets, models, reports), the SQLite database (None on a
    server), the rest (the job queue, locks) and the total of the home folder."""
    home = paths.home()
    parts = {name: tree_bytes(home / name) for name in HOME_PARTS}
    db = database_files()
    db_bytes = None if db is None else sum(tree_bytes(p) for p in db)
    total = tree_bytes(home)
    inside = sum(tree_bytes(p) for p in db or () if home in p.resolve().parents)
    return dict(home=str(home), **{f"{k}_bytes": v for k, v in parts.items()}, database_bytes=db_bytes,
                other_bytes=total - sum(parts.values()) - inside, total_bytes=total)


def models_leftovers(remove: bool = False) -> list[tuple[Path, int]]:
    """The temporary files that saves killed outright (`kill -9`, out of memory) left in GANAUG_HOME/models/<dataset>/
    (a feature extractor's, a map's, the scoring's kept features and pixel bank and their records), with their sizes:
    `paths.left_by_dead_writers`, which a file being written never is. `remove`: delete them. The next scoring of
    their dataset removes them too."""
    root = paths.models_dir()
    found: list[tuple[Path, int]] = []
    for folder in sorted(root.iterdir()) if root.is_dir() else ():
        if folder.is_dir() and not folder.is_symlink():
            found += paths.left_by_dead_writers(folder, remove)
    return found


def leftovers_listed(found: list[tuple[Path, int]]) -> dict:
    """`models_leftovers` for `--json`: how many, their bytes, their paths relative to the home."""
    home = paths.home()
    return dict(files=len(found), bytes=sum(n for _, n in found),
                paths=[p.relative_to(home).as_posix() for p, _ in found])


def human(n: Optional[int]) -> str:
    """Bytes for people: '512 B', '3.4 kB', '21.0 MB', '1.25 GB' (powers of 1,000, as `du --si` and file managers)."""
    if n is None:
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}" if unit == "GB" else f"{n / scale:.1f} {unit}"
    return f"{n} B"


# --- pruning ---------------------------------------------------------------------------------------------------


@dataclass
class RunPrune:
    """What pruning one run deletes and keeps, and why."""

    run: int
    run_dir: Path
    status: str
    skipped: Optional[str] = None  # why the run is left alone entirely
    delete: list[Path] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # checkpoint file name → why it stays
    checkpoints: int = 0  # of `delete`, checkpoint files
    grid_steps: int = 0  # grid steps deleted
    leftovers: int = 0  # of `delete`, what killed writers left (`leftovers`)
    freed_bytes: int = 0

    def to_dict(self) -> dict:
        return dict(run=self.run, status=self.status, skipped=self.skipped, checkpoints=self.checkpoints,
                    grid_steps=self.grid_steps, leftovers=self.leftovers, freed_bytes=self.freed_bytes,
                    delete=[p.relative_to(self.run_dir).as_posix() for p in self.delete], kept=self.kept)


def _target_runs(run_ids: Optional[list[int]]) -> list[tuple[int, str, str, Optional[str], Optional[str]]]:
    query = select(Run.id, Run.status, Run.run_dir, Run.checkpoint_path, Run.checkpoint_sha256)
    with session_scope() as s:
        if run_ids is not None:
            known = set(s.scalars(select(Run.id).where(Run.id.in_(run_ids))))
            unknown = [r for r in run_ids if r not in known]
            if unknown:
                raise UserError(f"unknown run {unknown[0]}")
            query = query.where(Run.id.in_(run_ids))
        return list(s.execute(query.order_by(Run.id)).all())


def _referenced() -> dict[str, list[int]]:
    """Checkpoint sha256 → the batches generated from it."""
    with session_scope() as s:
        rows = s.execute(select(Batch.checkpoint_sha256, Batch.id).order_by(Batch.id)).all()
    refs: dict[str, list[int]] = {}
    for sha, batch_id in rows:
        refs.setdefault(sha, []).append(batch_id)
    return refs


def _plan_run(plan: RunPrune, latest: Optional[Path], latest_sha: Optional[str], keep_last: int,
              refs: dict[str, list[int]]) -> None:
    """Fill `plan` for a run folder nobody is writing."""
    run_dir = plan.run_dir
    ckpts = checkpoints(run_dir)
    newest = sorted(ckpts, reverse=True)[:keep_last]
    for step, path in sorted(ckpts.items()):
        if latest is not None and path.resolve() == latest.resolve():
            plan.kept[path.name] = "latest"
            continue
        sha = sha256_file(path)
        if sha == latest_sha:
            plan.kept[path.name] = "latest"
        elif sha in refs:
            plan.kept[path.name] = "batch " + ", ".join(str(b) for b in refs[sha])
        elif step in newest:
            plan.kept[path.name] = f"newest {keep_last}"
        else:
            plan.delete.append(path)
            plan.checkpoints += 1
    grids = grid_steps(run_dir)
    for step in sorted(grids)[:-keep_last]:
        plan.delete.extend(grids[step])
        plan.grid_steps += 1
    left = leftovers(run_dir)
    plan.delete.extend(left)
    plan.leftovers = len(left)
    plan.freed_bytes = sum(tree_bytes(p) for p in plan.delete)


def plan_prune(run_ids: Optional[list[int]], keep_last: int = 1) -> list[RunPrune]:
    """What `prune` would delete from each run (all runs when `run_ids` is None), deleting nothing."""
    return _walk(run_ids, keep_last, delete=False)


def prune(run_ids: Optional[list[int]], keep_last: int = 1) -> list[RunPrune]:
    """Delete each run's intermediate checkpoints and old grids (see the module's docstring); returns the plans."""
    return _walk(run_ids, keep_last, delete=True)


def prune_lock():
    """Held by a prune, and by `generate_batch` while it checks its checkpoint and records the batch."""
    return paths.file_lock(paths.runs_dir() / ".prune.lock")


def batches_being_generated() -> int:
    """Batches being written now: their checkpoint's sha256 is not recorded until their rows are committed."""
    root = paths.batches_dir()
    held = 0
    for path in root.glob(f"{BATCH_STAGING}*") if root.is_dir() else ():
        with abandoned(path) as gone:
            held += path.is_dir() and not gone
    return held


def _walk(run_ids: Optional[list[int]], keep_last: int, delete: bool) -> list[RunPrune]:
    if keep_last < 1:
        raise UserError(f"--keep-last must be at least 1 (a run's latest checkpoint always stays), got {keep_last}")
    fail_abandoned_runs(run_ids)  # a run whose process was killed is not "running"
    targets = _target_runs(run_ids)
    with prune_lock():  # one prune at a time, and no batch recorded meanwhile (`ganaug.batches.generate_batch`)
        # A batch generated from a run that was still training may record one of its intermediate checkpoints.
        if delete and batches_being_generated():
            raise UserError("a batch is being generated and its checkpoint is not recorded yet; prune once it is done")
        refs = _referenced()
        plans = []
        for run_id, status, run_dir, latest, latest_sha in targets:
            folder = paths.resolve(run_dir)
            plan = RunPrune(run_id, folder, status)
            plans.append(plan)
            if not run_dir or not folder.is_dir():
                plan.skipped = "its folder is missing"
                continue
            # Holding the folder's lock: a training process holds it until the run's end is recorded.
            with abandoned(folder) as free:
                if status == "running" or not free:
                    plan.skipped = "still training"
                    continue
                _plan_run(plan, paths.resolve(latest) if latest else None, latest_sha, keep_last, refs)
                if delete and plan.delete:
                    _delete(folder, plan.delete)
    return plans


def _delete(run_dir: Path, doomed: list[Path]) -> None:
    """Move each of `doomed` into the run's trash folder (one atomic rename each), then remove the trash: a kill
    midway leaves each file and grid step whole, here or in the trash, which the next prune removes."""
    trash = run_dir / TRASH
    trash.mkdir(exist_ok=True)
    for i, path in enumerate(doomed):
        if path == trash:
            continue
        try:
            os.replace(path, trash / f"{i:06d}-{path.name}")
        except FileNotFoundError:
            pass
    shutil.rmtree(trash)
