"""Regenerate a batch's samples from what the database recorded, and compare them byte for byte.

Every sample is meant to be reproducible from (checkpoint, class, its own seed). An auditor checks that claim for
one batch: the checkpoint is found among its run's checkpoints by the sha256 the batch recorded (a later checkpoint
of the same run will not do), each chosen sample is generated again from its seed with `GeneratorPipeline.from_seeds`,
stored at the dataset's side as `generate_batch` stores it, encoded as PNG, and its sha256 compared with the one
recorded for the sample. Batches generated before 2026-12-03 (cd54834) were stored at the generator's own side, not
upsampled: a sample whose bytes differ at the dataset's side is also compared at the generator's, so an old home's
batches still reproduce. Nothing is written but one sample's regenerated PNG where `--out` asks for it. Bytes
reproduce on the same kind of device and torch build (oneDNN and cuDNN pick kernels per instruction set): a
difference on another machine says that, not tampering. torch's thread count (`OMP_NUM_THREADS`) changes none
(`ganaug_core/sampling.py`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

import numpy as np
from sqlalchemy import select

from db.engine import session_scope
from db.models import Batch, Dataset, Sample
from ganaug.errors import UserError
from ganaug_core import paths
from ganaug_core.imageio import encode_png, sha256_file
from ganaug_core.progress import Progress, ProgressCallback, no_progress
from ganaug_core.runstats import checkpoints

CHUNK = 256  # samples regenerated per pass, as generate_batch samples them


def find_checkpoint(run_dir: Path, latest: Optional[str], sha256: str) -> Optional[Path]:
    """The checkpoint of the run whose bytes have `sha256`: the run's latest first (the usual one), then the
    others, newest first; None when none has."""
    candidates = [paths.resolve(latest)] if latest else []
    candidates += [path for _, path in sorted(checkpoints(run_dir).items(), reverse=True)]
    seen: set[Path] = set()
    for path in candidates:
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        if sha256_file(path) == sha256:
            return path
    return None


def spread(items: list, k: Optional[int]) -> list:
    """`k` of `items`, evenly spread from the first to the last (all of them without `k`)."""
    if k is None or k >= len(items):
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, k).round().astype(int)]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def reproduce_batch(batch_id: int, samples: Optional[int] = None, device: str = "cpu",
                    progress: ProgressCallback = no_progress, sample_id: Optional[int] = None,
                    out: Optional[Path] = None) -> dict:
    """Regenerate `samples` of the batch (evenly spread; all by default), or the one sample `sample_id`, and compare
    their sha256 with the recorded ones. Returns what was checked: the checkpoint found, how many reproduced, and
    the samples that did not. With `out` (one sample only), its regenerated PNG is written there, whole or not at
    all, so that an auditor holds the bytes themselves."""
    from ganaug_core.rescale import upsample_images
    from ganaug_core.sampling import GeneratorPipeline
    from ganaug_core.training.config import check_device

    if samples is not None and samples < 1:
        raise UserError(f"--samples must be at least 1, got {samples}")
    if out is not None and sample_id is None:
        raise UserError("--out writes one sample's image: give its id with --sample")
    if out is not None and (out.exists() or out.is_symlink()):
        raise UserError(f"--out {out} already exists; choose another file")
    check_device(device)
    with session_scope() as s:
        batch = s.get(Batch, batch_id)
        if batch is None:
            raise UserError(f"unknown batch {batch_id}")
        run, side = batch.run, s.get(Dataset, batch.dataset_id).resolution
        run_id, run_dir, latest, ckpt_sha = run.id, paths.resolve(run.run_dir), run.checkpoint_path, batch.checkpoint_sha256
        class_index = batch.class_index
        rows = s.execute(select(Sample.id, Sample.seed, Sample.sha256).where(Sample.batch_id == batch_id)
                         .order_by(Sample.id)).all()
    if sample_id is not None:
        rows = [r for r in rows if r[0] == sample_id]
        if not rows:
            raise UserError(f"sample {sample_id} is not one of batch {batch_id}'s (`ganaug audit trace FILE` finds "
                            "an image's batch and sample)")
    chosen = spread(list(rows), samples)
    ckpt = find_checkpoint(run_dir, latest, ckpt_sha)
    result = dict(batch_id=batch_id, run_id=run_id, class_index=class_index, checkpoint_sha256=ckpt_sha,
                  checkpoint=None if ckpt is None else str(ckpt), samples=len(rows), checked=0, reproduced=0,
                  differ=[], out=None)
    if ckpt is None:
        return result
    pipe = GeneratorPipeline.from_checkpoint(ckpt, device=device)
    for start in range(0, len(chosen), CHUNK):
        part = chosen[start:start + CHUNK]
        made = pipe.from_seeds([class_index] * len(part), [seed for _, seed, _ in part])
        for image, stored, (one, _, recorded) in zip(made.images, upsample_images(made.images, side), part):
            png = encode_png(stored)
            if _sha256(png) != recorded and image.shape != stored.shape:
                as_generated = encode_png(image)  # how a batch was stored before 2026-12-03
                png = as_generated if _sha256(as_generated) == recorded else png
            if _sha256(png) == recorded:
                result["reproduced"] += 1
            else:
                result["differ"].append(one)
            if out is not None:
                paths.write_atomically(out, png)
                result["out"] = str(out)
        result["checked"] += len(part)
        progress(Progress("reproduce", result["checked"], len(chosen)))
    return result

