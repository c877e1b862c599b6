"""Generated batches, recorded in the database (`batches`, `samples`): drawn from a run's latest checkpoint.

A batch is all-or-nothing: its PNGs are staged, the rows inserted in one transaction, and the folder renamed into
place just before the commit; the staging folder of a killed process is removed by the next batch
(`ganaug.held_folders`), and so is a folder a kill left placed but not committed. A job's batch is named on the
job's row in its own transaction. The runs themselves, and the checks on their checkpoints, are `ganaug.runs`.
"""

from __future__ import annotations

import difflib
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Optional

from sqlalchemy import func, select

from db.engine import session_scope
from db.jobs import note_recorded_batch
from db.models import Batch, Dataset, RealImage, Sample
from ganaug.abandoned_runs import fail_abandoned_runs
from ganaug.disk import prune_lock
from ganaug.errors import UserError
from ganaug.held_folders import (NOT_RECORDED_WHY, UNCOMMITTED, HeldFolder, mark_committed, mark_uncommitted,
                                  removed_if_left_by_a_kill, sweep_abandoned)
from ganaug.runs import STAGING, _get_run, code_version, verified_checkpoint
from ganaug_core import paths
from ganaug_core.errors import GanaugError
from ganaug_core.imbalance import NAMED_AT_MOST, some_names
from ganaug_core.imageio import save_png
from ganaug_core.memory import keep_freed_memory
from ganaug_core.progress import Progress, ProgressCallback, no_progress
from ganaug_core.rescale import upsample_images
from ganaug_core.training.config import check_device

MAX_BATCH = 100_000
MAX_SEED = 2**63  # seeds are stored as signed 64-bit integers (db migration 0003)
SAMPLE_FILE = re.compile(r"\d{5,}_c\d+_s\d+\.png")  # a sample's PNG as generate_batch names it
WRITE_REPORT_EVERY = 256  # PNGs written between two progress reports of `generate_batch`


def generate_batch(run_id: int, class_index: int, n: int, seed: int, progress: ProgressCallback = no_progress,
                   device: str = "cpu", job_id: Optional[int] = None) -> int:
    """Generate n samples of one class from the run's latest checkpoint; returns the batch id (status pending).

    Samples are stored at the dataset's side: a run working below it has them upsampled (`upsample_images`).
    Each sample is reproducible from (checkpoint, class, its seed) on the same kind of device (`device`)."""
    from ganaug_core.sampling import GeneratorPipeline

    fail_abandoned_runs([run_id])  # a run killed before its first checkpoint is not "still training"
    with session_scope() as s:
        run = _get_run(s, run_id)
        dataset = s.get(Dataset, run.dataset_id)
        if not run.checkpoint_path:
            training = f": it is still training, at step {run.step or 0}" if run.status == "running" else ""
            raise UserError(f"run {run_id} has no checkpoint yet{training}")
        ckpt, ckpt_sha, config_sha, names = (paths.resolve(run.checkpoint_path), run.checkpoint_sha256,
                                            run.config_sha256, list(dataset.class_names))
        dataset_id, side = dataset.id, dataset.resolution
        train_images = s.scalar(select(func.count(RealImage.id)).where(
            RealImage.dataset_id == dataset_id, RealImage.split == "train", RealImage.class_index == class_index))
    if not 0 <= class_index < len(names):
        raise UserError(f"class {class_index} is not in dataset {dataset.name!r} (classes 0..{len(names) - 1}: "
                        f"{some_names(names)})")
    if not train_images:
        from ganaug.shown_text import class_label

        raise UserError(f"class {class_label(class_index, names)} has no training images in dataset {dataset.name!r}: "
                        "the generator never learned it")
    if not 1 <= n <= MAX_BATCH:
        raise UserError(f"--n must be between 1 and {MAX_BATCH}, got {n}")
    if not 0 <= seed < MAX_SEED:
        raise UserError(f"--seed must be between 0 and 2**63 - 1, got {seed}")
    check_device(device)
    verified_checkpoint(run_id, ckpt, ckpt_sha)
    keep_freed_memory()  # every chunk reallocates the same feature maps (ganaug_core/memory.py)
    pipe = GeneratorPipeline.from_checkpoint(ckpt, device=device)
    out = pipe(class_index, n, seed, progress)
    # Stored at the dataset's side, as reviewers see and training uses them (the run may work below it).
    images = upsample_images(out.images, side)

    root = paths.batches_dir()
    sweep_abandoned(root, STAGING)
    held = HeldFolder.create(root, STAGING)
    staging = held.path
    try:
        files = []
        for i, (img, s_seed) in enumerate(zip(images, out.seeds)):
            name = f"{i:05d}_c{class_index}_s{s_seed}.png"
            files.append((name, save_png(img, staging / name), s_seed))
            if (i + 1) % WRITE_REPORT_EVERY == 0 or i + 1 == n:  # encoding PNGs takes longer than sampling them
                progress(Progress("write", i + 1, n))
        # No prune runs between checking that the checkpoint is still there and recording the batch that names it:
        # one that deleted it while the samples were drawn (from a run still training then) fails the batch here.
        with prune_lock():
            if not ckpt.is_file():  # a prune only deletes: the bytes were checked before sampling
                raise UserError(f"run {run_id}'s checkpoint {ckpt.name} was pruned while the batch was generated "
                                "(`ganaug runs prune`); generate again")
            return _record_batch(run_id, dataset_id, class_index, n, seed, ckpt_sha, config_sha, files, root, staging,
                                 job_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        held.release()


def _record_batch(run_id: int, dataset_id: int, class_index: int, n: int, seed: int, ckpt_sha: str, config_sha: str,
                  files: list, root: Path, staging: Path, job_id: Optional[int]) -> int:
    """The batch's rows, and its staged folder renamed into place just before they are committed; a job's row
    names the batch in the same transaction (`job_id`)."""
    final: Optional[Path] = None
    renamed = False
    try:
        with session_scope(immediate=True) as s:  # it writes, and reads the job's row (`note_recorded_batch`)
            batch = Batch(run_id=run_id, dataset_id=dataset_id, class_index=class_index, count=n, seed=seed,
                          status="pending", checkpoint_sha256=ckpt_sha, config_sha256=config_sha,
                          code_version=code_version(), folder="")
            s.add(batch)
            s.flush()
            final = root / str(batch.id)
            if final.exists() and not removed_if_left_by_a_kill(final, _only_samples):
                raise GanaugError(f"{final} exists but is not a recorded batch ({NOT_RECORDED_WHY}); move it away "
                                  "first")
            rel = paths.relative_to_home(final)
            batch.folder = rel
            s.execute(Sample.__table__.insert(), [
                dict(batch_id=batch.id, class_index=class_index, seed=sd, path=f"{rel}/{name}", sha256=sha)
                for name, sha, sd in files
            ])
            if job_id is not None:
                note_recorded_batch(s, job_id, run_id, batch.id)
            mark_uncommitted(staging)
            staging.rename(final)
            renamed = True
            batch_id = batch.id
        mark_committed(final)
        return batch_id
    except BaseException:
        if renamed and final is not None:
            shutil.rmtree(final, ignore_errors=True)
        raise


def _only_samples(folder: Path) -> bool:
    """Whether `folder` holds nothing but PNGs named as `generate_batch` names them (`removed_if_left_by_a_kill`)."""
    return all(p.is_file() and (SAMPLE_FILE.fullmatch(p.name) or p.name == UNCOMMITTED) for p in folder.iterdir())


def resolve_class(run_id: int, value: str) -> int:
    """A class given by name or by index (a name wins when both could match). A name also matches when Unicode
    spells it otherwise: a folder from macOS may write 'crème' as 'e' + a combining accent, which no terminal types."""
    with session_scope() as s:
        run = _get_run(s, run_id)
        dataset = s.get(Dataset, run.dataset_id)
        names, dataset_name = list(dataset.class_names), dataset.name
    if value in names:
        return names.index(value)
    composed = [unicodedata.normalize("NFC", n) for n in names]
    if unicodedata.normalize("NFC", value) in composed:
        return composed.index(unicodedata.normalize("NFC", value))
    listed = f"classes: {', '.join(names)}"
    if len(names) > NAMED_AT_MOST:  # a 100-class dataset's every name made a 2,500-character error
        listed = f"its {len(names)} classes: `ganaug data report {dataset_name}`"
    try:
        idx = int(value)
    except ValueError:
        close = difflib.get_close_matches(unicodedata.normalize("NFC", value), composed, n=3, cutoff=0.6)
        near = f"; did you mean {', '.join(repr(names[composed.index(c)]) for c in close)}?" if close else ""
        raise UserError(f"class {value!r} is not in the dataset ({listed}){near}") from None
    if not 0 <= idx < len(names):
        raise UserError(f"class {idx} is not in the dataset (indices 0..{len(names) - 1}; {listed})")
    return idx
