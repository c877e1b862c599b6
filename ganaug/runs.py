"""Training runs, recorded in the database (`runs`); the batches drawn from them are `ganaug.batches`.

With `ganaug.batches`, the only place the GAN engine (`ganaug_core.training`, `ganaug_core.sampling`) meets `db`.
A run that fails to start leaves nothing behind (no row, no folder; one killed outright between placing its folder
and committing its row leaves the folder, which the next run given that id removes); once training has begun, a
failure marks the run failed and keeps its folder for inspection, and a run whose process was killed outright is
marked failed by the next look at the runs (`ganaug.abandoned_runs.fail_abandoned_runs`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

from sqlalchemy.orm import Session

from db.datasets import get_dataset
from db.engine import database_failure, once_answering, session_scope
from db.models import Dataset, Run, db_now
from ganaug.errors import (FREE_SPACE_IN_APP, RunFailedOnFullDisk, RunInterrupted, UserError, full_disk,
                           full_disk_said)
from ganaug.held_folders import (NOT_RECORDED_WHY, UNCOMMITTED, HeldFolder, mark_committed, mark_uncommitted,
                                  removed_if_left_by_a_kill, sweep_abandoned)
from ganaug_core import paths
from ganaug_core.errors import FREE_SPACE, GanaugError
from ganaug_core.imageio import sha256_file
from ganaug_core.memory import keep_freed_memory
from ganaug_core.progress import Progress, ProgressCallback, no_progress
from ganaug_core.datasets import load_split
from ganaug_core.runstats import diversity_said, last_diversity
from ganaug_core.training.checkpoint import check_dataset, load_checkpoint
from ganaug_core.training.config import TrainConfig, default_resolution, fast_bf16
from ganaug_core.training.loop import TrainData, Trainer

STAGING = ".staging-"  # the prefix of a run's or a batch's folder before it is recorded
RESUME_KEEPS = ("steps", "minutes", "device", "grid_every", "ckpt_every", "stats_every", "diversity_every")


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package version and a digest of the engine's sources: what produced a checkpoint or a batch."""
    from importlib.metadata import PackageNotFoundError, version

    import ganaug_core

    root = Path(ganaug_core.__file__).parent
    h = hashlib.sha256()
    for f in sorted([*root.glob("training/*.py"), root / "sampling.py"]):
        h.update(f.read_bytes())
    try:
        v = version("ganaug")
    except PackageNotFoundError:
        v = "dev"
    return f"{v}+{h.hexdigest()[:12]}"


def default_config(dataset: str, **overrides) -> TrainConfig:
    """TrainConfig for `dataset`: its channels and classes, the largest power-of-two resolution it allows."""
    with session_scope() as s:
        ds = get_dataset(s, dataset)
        res, ch, k = ds.resolution, ds.channels, len(ds.class_names)
    cfg = dataclasses.replace(TrainConfig(resolution=default_resolution(res), channels=ch, num_classes=k), **overrides)
    if "bf16" not in overrides:
        cfg.bf16 = fast_bf16(cfg.device)
    return cfg


def _get_run(s, run_id: int) -> Run:
    run = s.get(Run, run_id)
    if run is None:
        raise UserError(f"unknown run {run_id}")
    return run


def latest_checkpoint(run_id: int) -> Path:
    with session_scope() as s:
        run = _get_run(s, run_id)
        if not run.checkpoint_path:
            raise UserError(f"run {run_id} has no checkpoint yet")
        return paths.resolve(run.checkpoint_path)


def run_dataset(run_id: int) -> str:
    """The name of the dataset a run trained on."""
    with session_scope() as s:
        return s.get(Dataset, _get_run(s, run_id).dataset_id).name


def verified_checkpoint(run_id: int, path: Path, recorded_sha256: Optional[str]) -> Path:
    """`path`, once its bytes are checked against the sha256 the run recorded: a swapped or edited checkpoint is
    refused before anything loads it."""
    if not path.is_file() or not recorded_sha256 or sha256_file(path) != recorded_sha256:
        raise UserError(f"run {run_id}'s checkpoint {path} is missing or does not match its recorded sha256")
    return path


def _prepare(dataset: str, config: TrainConfig, resume_run: Optional[int]):
    """Everything that can be refused, checked before anything is written."""
    from ganaug.datasets import verified_dataset

    ds, folder = verified_dataset(dataset)  # UnknownDataset / missing data → one-line errors
    payload = None
    if resume_run is not None:
        with session_scope() as s:
            old = _get_run(s, resume_run)
            if not old.checkpoint_path:
                raise UserError(f"run {resume_run} has no checkpoint to resume from")
            ckpt, ckpt_sha = paths.resolve(old.checkpoint_path), old.checkpoint_sha256
        payload = load_checkpoint(verified_checkpoint(resume_run, ckpt, ckpt_sha))
        check_dataset(payload, dataset, ds.arrays_sha256, ckpt)
        kept = {k: getattr(config, k) for k in RESUME_KEEPS}
        stored = TrainConfig.from_dict(payload["config"], stored=True)
        if kept["steps"] is None and kept["minutes"] is None:  # no budget asked for: the run's own
            if stored.steps is None:
                raise UserError(f"run {resume_run} had a {stored.minutes:g}-minute budget; say how much longer to "
                                "train with --minutes M or --steps N")
            kept["steps"] = stored.steps
        config = dataclasses.replace(stored, **kept)
        if config.steps is not None and int(payload["step"]) >= config.steps:
            raise UserError(f"run {resume_run} is already at step {payload['step']}; ask for more than that with --steps")
    else:
        config = dataclasses.replace(config, channels=ds.channels, num_classes=len(ds.class_names))
    if config.resolution > ds.resolution:
        raise UserError(f"--resolution {config.resolution} is above the resolution of dataset {dataset!r}, {ds.resolution}")
    config.validate()
    # Read from arrays.npz a block at a time, each resized as it comes: never the whole images array, nor the split
    # at the dataset's side beside it (BENCHMARKS.md, "A large dataset": the start of a run on 60,000 64² images took
    # 1.56 GB at 64² and 1.23–1.32 GB at 32² before, 0.87 and 0.54–0.58 GB now).
    images, y = load_split(folder, "train", config.resolution)
    present = set(int(c) for c in set(y.tolist()))
    if len(present) < 2:
        raise UserError(f"dataset {dataset!r} has training images in fewer than two classes")
    data = TrainData(images, y, list(ds.class_names), dataset, ds.arrays_sha256)
    return ds, config, data, payload


def _create_run(ds: Dataset, config: TrainConfig, resume_run: Optional[int],
                requested_by: Optional[int]) -> tuple[int, HeldFolder]:
    """The run's row and folder (config.json alone). The folder comes back held (`ganaug.held_folders`): a run
    whose folder no process holds is one whose training died (`fail_abandoned_runs`)."""
    root = paths.runs_dir()
    sweep_abandoned(root, STAGING)
    held = HeldFolder.create(root, STAGING)
    staging = held.path
    final: Optional[Path] = None
    renamed = False  # only a folder this run renamed into place is its own to remove: one found there is the user's
    try:
        text = config.to_json()
        (staging / "config.json").write_text(text)
        # Read back and validate what was written, so a run never starts from a config it cannot reload.
        TrainConfig.from_dict(json.loads((staging / "config.json").read_text())).validate()
        with session_scope() as s:
            run = Run(dataset_id=ds.id, status="running", run_dir="", config=config.to_dict(),
                      config_sha256=sha256_file(staging / "config.json"), code_version=code_version(),
                      total_steps=config.steps, resumed_from=resume_run, requested_by=requested_by)
            s.add(run)
            s.flush()
            final = root / f"{run.id:06d}"
            if final.exists() and not removed_if_left_by_a_kill(final, _only_config):
                raise GanaugError(f"{final} exists but is not a recorded run ({NOT_RECORDED_WHY}); move it away "
                                  "first")
            run.run_dir = paths.relative_to_home(final)
            mark_uncommitted(staging)
            staging.rename(final)
            renamed = True
            held.path = final
            run_id = run.id
        mark_committed(final)
        return run_id, held
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if renamed:  # renamed, then the commit failed
            shutil.rmtree(final, ignore_errors=True)
        held.release()
        raise


def _only_config(folder: Path) -> bool:
    """Whether `folder` holds config.json alone, as `_create_run` places it (`removed_if_left_by_a_kill`)."""
    return {p.name for p in folder.iterdir()} == {"config.json", UNCOMMITTED} and (folder / "config.json").is_file()


def _discard_run(run_id: int, run_dir: Path) -> None:
    """Remove a run that never started training: its row and its folder (config.json alone), so nothing is left."""
    with session_scope(immediate=True) as s:
        run = s.get(Run, run_id)
        if run is not None:
            s.delete(run)
    shutil.rmtree(run_dir, ignore_errors=True)


RECORD_PATIENCE_S = 300  # how long a run waits for a database that fails to record a checkpoint or its end


def _patience(seconds: float = RECORD_PATIENCE_S) -> Callable[[], bool]:
    """For `once_answering`: give up after `seconds` (a run left `running` is found by `fail_abandoned_runs`)."""
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() > deadline


def _finish(run_id: int, status: str, error: Optional[str] = None) -> None:
    def record(s: Session) -> None:
        run = s.get(Run, run_id)
        run.status, run.error = status, error
        run.finished_at = db_now(s)  # the job's times are the database's: the time after training compares both
        if status == "done":
            run.progress = 1.0

    once_answering(record, f"run {run_id} ended ({status}); recorded once the database answers again",
                   give_up=_patience())


def train_run(
    dataset: str,
    config: TrainConfig,
    progress: ProgressCallback = no_progress,
    should_stop: Optional[Callable[[], bool]] = None,
    requested_by: Optional[int] = None,
    resume_run: Optional[int] = None,
) -> int:
    """Train (or resume) a generator on `dataset`; returns the run id. Status: running → done/failed/cancelled.

    With `resume_run`, the networks and config come from that run's latest checkpoint and a new run (with
    `resumed_from` set) continues it up to `config.steps` total steps or for `config.minutes` more minutes.
    `should_stop()` is polled between steps: a checkpoint is saved and the run marked cancelled.
    """
    ds, config, data, payload = _prepare(dataset, config, resume_run)
    run_id, held = _create_run(ds, config, resume_run, requested_by)
    with held:  # until the run's end is recorded: a run whose folder nobody holds has lost its process
        return _train(run_id, held.path, config, data, payload, progress, should_stop)


def _train(run_id: int, run_dir: Path, config: TrainConfig, data: TrainData, payload: Optional[dict],
           progress: ProgressCallback, should_stop: Optional[Callable[[], bool]]) -> int:
    keep_freed_memory()  # every step reallocates the same feature maps (ganaug_core/memory.py)
    started = False
    try:
        trainer = Trainer(config, data, run_dir)
        if payload is not None:
            trainer.load_state(payload)

        # Read-then-write sessions take the write lock at BEGIN (see db.engine.session_scope).
        # A PostgreSQL server that restarts meanwhile stops no training: a checkpoint saved is recorded once it
        # answers (a resume needs it), and a report it misses is made good by the next one, 25 steps later.
        def on_checkpoint(path: Path, sha: str, step: int) -> None:
            def record(s: Session) -> None:
                run = s.get(Run, run_id)
                run.checkpoint_path, run.checkpoint_sha256, run.step = paths.relative_to_home(path), sha, step

            once_answering(record, f"run {run_id}: checkpoint {step} saved; recorded once the database answers again",
                           give_up=_patience())

        def report(p: Progress) -> None:
            try:
                with session_scope(immediate=True) as s:
                    run = s.get(Run, run_id)
                    run.step = p.done
                    run.progress = (min(1.0, p.done / p.total) if p.total
                                    else float(p.stats.get("budget_fraction", 0.0)))
            except Exception as e:
                if database_failure(e) is None:
                    raise
            progress(Progress(p.stage, p.done, p.total, {"run_id": run_id, **p.stats}))

        started = True
        # The loop reports every `stats_every` steps; the bar (or the job's row) appears now, not after them: at
        # 64² on 2 busy cores the first 25 steps took 53 s.
        report(Progress("train", trainer.step, trainer.cfg.steps or 0))
        result = trainer.run(progress=report, should_stop=should_stop, on_checkpoint=on_checkpoint)
    except BaseException as e:
        if not started:  # a start that failed or was interrupted (building the networks, loading a checkpoint)
            _discard_run(run_id, run_dir)
        elif isinstance(e, KeyboardInterrupt):
            # Past the loop's own handler: a second Ctrl-C (or SIGTERM) while the final checkpoint was saved (542 MB
            # at 16² with --width 256). The run was stored with "KeyboardInterrupt: " and `train` said "interrupted
            # before a checkpoint could be written", though an earlier checkpoint may well be recorded.
            said = (f"interrupted before the checkpoint of step {trainer.step} was written (Ctrl-C or SIGTERM while "
                    f"it saved); {_how_it_goes_on(run_id)}")
            _finish(run_id, "cancelled", said)
            raise RunInterrupted(f"run {run_id} cancelled: {said}", run_id, trainer.step) from e
        else:
            said = _failure_said(run_id, e)
            _finish(run_id, "failed", said[:2000])
            if full_disk(e):  # one line, as bad input is (exit status 2), not `cli_errors`' "… was removed"
                raise RunFailedOnFullDisk(f"run {run_id} failed: {said}",
                                          f"run {run_id} failed: {_failure_said(run_id, e, in_app=True)}") from e
        raise
    _finish(run_id, "done" if result.status == "done" else "cancelled")
    return run_id


def _failure_said(run_id: int, e: BaseException, in_app: bool = False) -> str:
    """The failed run's error in one line. A full disk (a quota, `ulimit -f`) says where, what to free and how the
    run goes on: it was stored as "OSError: [Errno 28] No space left on device: '…'", which `runs list` showed.
    `in_app`: said for the app's pages (a training job's error), with the Generate page's picker for the command."""
    if not full_disk(e):
        return f"{type(e).__name__}: {e}"
    return f"{full_disk_said(e)}: {FREE_SPACE_IN_APP if in_app else FREE_SPACE}, then {_how_it_goes_on(run_id, in_app)}"


def _how_it_goes_on(run_id: int, in_app: bool = False) -> str:
    """What continues a run that ended without saving the state it reached: its last recorded checkpoint, else the
    run it resumed, else nothing (train again)."""
    try:
        with session_scope() as s:
            run = s.get(Run, run_id)
            checkpoint, resumed_from = run.checkpoint_path, run.resumed_from
    except Exception:  # the database too is out of reach (or on the full disk): the advice without the checkpoint
        checkpoint, resumed_from = None, None

    def resume(run: int) -> str:
        return (f"“Start from run” {run} on the Generate page" if in_app else f"`ganaug train --resume {run}`")

    if checkpoint:
        return f"continue from its last checkpoint ({Path(checkpoint).name}) with {resume(run_id)}"
    if resumed_from is not None:
        return f"resume run {resumed_from} again ({resume(resumed_from)}): this run wrote no checkpoint"
    return "train again: the run wrote no checkpoint"


def _last_reading(run_id: int) -> tuple[list[str], dict]:
    """The run's dataset's class names and its last mode-collapse reading (`runstats.last_diversity`)."""
    with session_scope() as s:
        run = _get_run(s, run_id)
        names = list(s.get(Dataset, run.dataset_id).class_names)
        run_dir = paths.resolve(run.run_dir)
    return names, last_diversity(run_dir)


def final_diversity(run_id: int) -> tuple[dict[str, float], list[str]]:
    """The run's last mode-collapse reading from its stats.jsonl: (class name → generated / real diversity, the
    names of the classes it flagged). Empty when the run measured none."""
    names, last = _last_reading(run_id)
    ratios = {names[int(c)]: v for c, v in last.get("diversity", {}).items()}
    return ratios, [names[int(c)] for c in last.get("collapsed", [])]


def diversity_in_words(run_id: int) -> dict[str, str]:
    """The run's last mode-collapse reading, class name → in words (`runstats.diversity_said`: "0.62 of real", or
    what a class of one real image is measured against)."""
    names, last = _last_reading(run_id)
    return {names[int(c)]: diversity_said(last, int(c)) for c in last.get("diversity", {})}


def collapse_note(run_id: int, class_index: int) -> Optional[str]:
    """What the command line says of a batch of `class_index` from run `run_id` where the run's diversity monitor
    flagged that class at its last reading, as the Review page says it: `generate` and `review samples` said
    nothing, and a reviewer on the command line was handed 64 near-identical samples of a run flagged 0.10 of real
    without a word. None where the class was not flagged."""
    from ganaug.shown_text import class_label
    from ganaug_core.runstats import too_young_to_tell

    names, last = _last_reading(run_id)
    if class_index not in last.get("collapsed", []):
        return None
    label, said = class_label(class_index, names), diversity_said(last, class_index)
    if too_young_to_tell(last.get("step")):  # every class of a generator this young looks alike: no collapse yet
        return (f"note: run {run_id} trained only {last['step']} steps: its samples of class {label} still vary "
                f"little ({said}), as every class does that early; train it further (`ganaug train --resume {run_id} "
                "--minutes M`) before relying on this batch")
    return (f"warning: run {run_id} ended with class {label} flagged by its diversity monitor: its samples' spread is "
            f"{said} (possible mode collapse: many samples alike); look for repeats among the batch's images, and "
            f"where they repeat, train the run further (`ganaug train --resume {run_id} --minutes M`)")
