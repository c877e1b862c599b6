"""What each kind of job does: `HANDLERS[kind](params, progress, should_stop) -> result dict`.

The worker looks the job's kind up here. Handlers import the engine lazily, so the worker (and this registry)
loads without torch until a job actually needs it. Params are the JSON the app stored with the job,
plus `job_id` and `requested_by` added by the worker:

- train_generate: dataset, config (TrainConfig fields), classes, per_class, seed, resume_run, score (default
  true) → trains a run, generates `per_class` samples for each class in `classes`, measures each batch (scores and
  metrics, `measure_batch`); the result names the classes the run's mode-collapse monitor flagged at its end
  (`collapsed_classes`) and, for a resume, the checkpoints written but never recorded that it did not use
  (`resume_note`, in every progress report's stats too).
- generate: run_id, classes (or class_index), per_class (or n), seed, score → batches of an existing run.
- evaluate: batch_id → measures one batch (scores and metrics); the result holds its scores.
- benchmark: dataset, arms, seeds, quick, run_id, out_dir → the downstream benchmark report.
- ingest: source (a folder on the server, or demo:digits), dataset (its name), resolution, test_fraction, seed,
  follow_links, bit_depth → a dataset, all of it or nothing; the result counts what it holds and what was left out,
  with what `data ingest` would have said beside its report (`notes`, in the app's words) and the job's closing
  `message`.
- sleep: seconds, steps → does nothing for a while; checks that a worker is alive and reporting.

Every handler asks `should_stop()` at its safe points (between training steps, generated chunks, scoring stages,
a benchmark's classifier steps; a large map's fit, in a process of its own, is ended) and stops there, leaving
nothing half-written; a handler that stopped part-way says what it left
undone in its result's `stopped` ("classes 8, 9 not generated"), which the worker puts in
the cancelled job's message. A handler that fails after recording part of its work (a run, some batches, a
batch's scores) raises `FailedPartWay` from the failure: its message names what was recorded and what to launch for
the rest, since launching the whole job again would train again and generate those batches a second time. Both
texts are made in `ganaug.job_part_way`.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from ganaug.job_part_way import generation_left, not_measured, scores_stored, scoring_left, stopped_generating
from ganaug_core.errors import GanaugError
from ganaug_core.progress import Progress, ProgressCallback, stop_if, stopping_at_reports

Handler = Callable[[dict, ProgressCallback, Callable[[], bool]], dict]


def _classes(params: dict) -> list[int]:
    classes = params.get("classes")
    if classes is None and params.get("class_index") is not None:
        classes = [params["class_index"]]
    return [int(c) for c in classes or []]


def in_phase(progress: ProgressCallback, phase: str) -> ProgressCallback:
    """`progress` with the job's phase ('class 8 (2 of 3)') in its stats: a stage's bar restarts at 0 for each
    class, so the page says which part of the job it is."""
    return lambda p: progress(Progress(p.stage, p.done, p.total, {**(p.stats or {}), "phase": phase}))


def training_pace(progress: ProgressCallback) -> ProgressCallback:
    """`progress` with the step training started from in its stats (`first_step`; a resumed run starts past 0), so
    that the page can tell the time left from the steps done and the time they took."""
    first: dict[str, int] = {}

    def report(p: Progress) -> None:
        if p.stage == "train":
            first.setdefault("step", p.done)
            p = Progress(p.stage, p.done, p.total, {**(p.stats or {}), "first_step": first["step"]})
        progress(p)

    return report


def recording(progress: ProgressCallback, run_id: int, batch_ids: list[int]) -> ProgressCallback:
    """`progress` with what the job recorded so far in its stats (`run_id`, `batch_ids`, read at each report): the
    worker writes them to the job's row, and a sweep that finds the worker dead keeps them on the failed job
    (`db.jobs.fail_stale_jobs`), as a handler's `FailedPartWay` does."""
    return lambda p: progress(Progress(p.stage, p.done, p.total,
                                       {**(p.stats or {}), "run_id": run_id, "batch_ids": list(batch_ids)}))


class GenerationStopped(InterruptedError):
    """Raised from a batch's progress report when the job is to stop: `generate_batch` then removes what it had
    written of that batch (its staging folder) and records nothing."""


class FailedPartWay(Exception):
    """A job failed (the exception it is raised from) after recording part of its work: the message says what it
    recorded and what to launch instead of the whole job again (the worker puts it after the failure's line).
    `run_id` and `batch_ids` are what it recorded, kept on the failed job for the page's buttons."""

    def __init__(self, message: str, run_id: Optional[int] = None, batch_ids: Optional[list[int]] = None):
        super().__init__(message)
        self.run_id, self.batch_ids = run_id, list(batch_ids or [])


def _generate_and_score(run_id: int, params: dict, progress: ProgressCallback,
                        should_stop, trained: bool = False) -> tuple[list[int], Optional[str]]:
    """The batches made (one per class, in order) and, when the job stopped part-way, what it left undone.
    `trained`: the job trained the run itself (a failure then leaves that run recorded)."""
    from ganaug.batches import generate_batch

    n = int(params.get("per_class", params.get("n", 0)) or 0)
    seed = int(params.get("seed", 0))
    classes = _classes(params)
    batch_ids: list[int] = []
    progress = recording(progress, run_id, batch_ids)
    for i, c in enumerate(classes):
        if n <= 0:
            break
        if should_stop():
            return batch_ids, stopped_generating(batch_ids, classes[i:], params)
        # Each class gets its own seed, so batches of different classes never share latents.
        phase = f"generating class {c} ({i + 1} of {len(classes)})"
        watched = stopping_at_reports(in_phase(progress, phase), should_stop, GenerationStopped("generation stopped"))
        try:
            # The batch's commit names it in the job's row too: a worker killed before the report below lost it.
            batch_ids.append(generate_batch(run_id, c, n, seed + i, progress=watched, job_id=params.get("job_id")))
        except GenerationStopped:
            return batch_ids, stopped_generating(batch_ids, classes[i:], params)
        except Exception as e:
            if not (trained or batch_ids):  # nothing recorded: launching the job again is the way on
                raise
            raise FailedPartWay(generation_left(run_id, batch_ids, classes[:i], classes[i:], n, trained), run_id,
                                batch_ids) from e
        # A stage's last report is written whatever the throttle: the row's message says the batch is written.
        in_phase(progress, phase)(Progress("write", n, n))
    if params.get("score", True):
        from ganaug.evaluation import ScoringStopped, measure_batch

        for i, b in enumerate(batch_ids):
            if should_stop():
                return batch_ids, not_measured(batch_ids[i:])
            try:
                measure_batch(b, progress=in_phase(progress, f"scoring batch {b} ({i + 1} of {len(batch_ids)})"),
                              should_stop=should_stop)
            except ScoringStopped:
                return batch_ids, not_measured(batch_ids[i:])
            except Exception as e:
                raise FailedPartWay(scoring_left(run_id, batch_ids, classes, batch_ids[i:], trained), run_id,
                                    batch_ids) from e
    return batch_ids, None


def _run_step(run_id: int) -> int:
    """The steps the run trained: under runstats.FEW_STEPS its collapse flags are a note on the Generate page."""
    from db.engine import session_scope
    from db.models import Run

    with session_scope() as s:
        return int(s.get(Run, run_id).step or 0)


def with_note(progress: ProgressCallback, note: Optional[str]) -> ProgressCallback:
    """`progress` with `note` in its stats (`resume_note`) at every report, so the job's row keeps it whatever
    stage it is in and after it ends: the Generate page shows it under the job."""
    if not note:
        return progress
    return lambda p: progress(Progress(p.stage, p.done, p.total, {**(p.stats or {}), "resume_note": note}))


def train_generate(params: dict, progress: ProgressCallback, should_stop: Callable[[], bool]) -> dict:
    from ganaug.abandoned_runs import in_home, unrecorded_checkpoints_said
    from ganaug.runs import final_diversity, train_run
    from ganaug_core.training.config import TrainConfig

    if not params.get("dataset"):
        raise GanaugError("train_generate needs a dataset")
    config = TrainConfig.from_dict(dict(params.get("config") or {}))
    resume = params.get("resume_run")
    # What `ganaug train --resume` says of a checkpoint written but never recorded, in the job's row (every reviewer
    # may see it: the files named relative to the home).
    note = unrecorded_checkpoints_said(int(resume), in_home) if resume is not None else None
    progress = with_note(progress, note)
    run_id = train_run(params["dataset"], config, progress=training_pace(progress), should_stop=should_stop,
                       requested_by=params.get("requested_by"), resume_run=resume)
    batch_ids, stopped = (([], None) if should_stop()
                          else _generate_and_score(run_id, params, progress, should_stop, trained=True))
    return {"run_id": run_id, "batch_ids": batch_ids, "collapsed_classes": final_diversity(run_id)[1],
            "run_step": _run_step(run_id), **({"stopped": stopped} if stopped else {}),
            **({"resume_note": note} if note else {})}


def generate(params: dict, progress: ProgressCallback, should_stop: Callable[[], bool]) -> dict:
    run_id = int(params["run_id"])
    batch_ids, stopped = _generate_and_score(run_id, params, progress, should_stop)
    return {"run_id": run_id, "batch_ids": batch_ids, **({"stopped": stopped} if stopped else {})}


def evaluate(params: dict, progress: ProgressCallback, should_stop: Callable[[], bool]) -> dict:
    from ganaug.evaluation import ScoringStopped, measure_batch

    batch_id = int(params["batch_id"])
    try:
        # `rescore`: the Review page's "Compute scores again", for a batch scored by an older check than today's.
        return {"batch_id": batch_id, "scores": measure_batch(batch_id, progress=progress, should_stop=should_stop,
                                                              rescore=bool(params.get("rescore")))[0]}
    except ScoringStopped as e:
        return {"batch_id": batch_id, "stopped": str(e)}
    except Exception as e:
        if not scores_stored(batch_id):  # one transaction: nothing of them was written; launching again is the way
            raise
        raise FailedPartWay(f"Batch {batch_id}'s scores are stored but not its metrics: `ganaug evaluate batch "
                            f"{batch_id}` computes them and keeps the scores (as launching the scoring again "
                            "would).") from e


def benchmark(params: dict, progress: ProgressCallback, should_stop: Callable[[], bool]) -> dict:
    from pathlib import Path

    from ganaug.benchmarking import run_benchmark

    out_dir = Path(params["out_dir"]) if params.get("out_dir") else None
    return run_benchmark(params["dataset"], params.get("arms"), int(params.get("seeds", 3)),
                         bool(params.get("quick", False)), out_dir, run_id=params.get("run_id"), progress=progress,
                         should_stop=should_stop, job_id=params.get("job_id"))


class IngestStopped(InterruptedError):
    """Raised from an ingest's progress report when its job is to stop: `ingest_dataset` then removes what it had
    written (its staging folder) and records nothing, and the worker marks the job cancelled."""


def ingest(params: dict, progress: ProgressCallback, should_stop: Callable[[], bool]) -> dict:
    """A dataset from a folder on the server (or demo:digits), all of it or nothing (`ingest_dataset`); the log's
    event names the admin who launched the job."""
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import DEMO_NAME, IngestOptions
    from ganaug_core.folder_preview import source_refusal

    source, name = str(params.get("source") or ""), str(params.get("dataset") or "")
    # Asked again here: the page asked when the job was queued, and the folder may have changed while it waited.
    if source != DEMO_NAME and (refused := source_refusal(source)):
        raise GanaugError(refused)
    options = IngestOptions(test_fraction=params.get("test_fraction"), seed=int(params.get("seed", 0)),
                            follow_links=bool(params.get("follow_links", True)), bit_depth=params.get("bit_depth"),
                            within_roots=True)
    if params.get("resolution") is not None:
        options.resolution = int(params["resolution"])
    stop = IngestStopped("the ingest was stopped: nothing of the dataset was written")
    stop_if(should_stop, stop)
    dataset, result = ingest_dataset(source, name, options, stopping_at_reports(progress, should_stop, stop),
                                     by=params.get("requested_by"))
    try:
        notes = ingest_notes_in_app(source, dataset, result)
    except Exception as e:  # noqa: BLE001 — the dataset is written: a note that fails must not fail the ingest
        notes = [f"note: what the ingest would warn of could not be worked out ({type(e).__name__}: {e}); "
                 f"`ganaug data report {dataset.name}` gives the dataset's report"]
    return {"dataset": dataset.name, "images": len(result.images), "classes": len(result.class_names),
            "resolution": dataset.resolution, "channels": dataset.channels, "skipped": len(result.skipped),
            "links": len(result.links), "source_side": result.source_side, "stretched": len(result.stretched),
            "frames": len(result.frames), "small": len(result.small), "notes": notes,
            "message": ingested_message(len(result.images), notes)}


def ingest_notes_in_app(source: str, dataset, result) -> list[str]:
    """What `ganaug data ingest` says on stderr beside its report (`ganaug.ingest_notes`), in the app's words
    (`in_the_app`): an admin who added a 12-bit camera's X-rays from the Overview learnt nothing of their being stored
    nearly black. The form always gives a resolution, so the command line's note on the default shrinking the images
    is not said (the page says that one its own way, with the resolution to choose)."""
    from ganaug.datasets import dataset_report
    from ganaug.ingest_notes import in_the_app, ingest_notes
    from ganaug.shown_text import shown_report

    report = shown_report(dataset_report(dataset.name))
    lines = ingest_notes(source, dataset, result, report, result.duplicates(), defaulted=False)
    return [in_the_app(line, dataset.name) for line in lines]


INGEST_MESSAGE_NOTE = 200  # characters of the first note the job's message keeps at most (its first sentence)


def ingested_message(images: int, notes: list[str]) -> str:
    """A done ingest's message, for `ganaug jobs list` ('ingested 15 images; note: the 15 images of 16 bits hold values
    up to 4,095 only, … nearly black, in 17 grey levels; 1 more note (…)'): the row kept its last progress, 'write
    15/15', and said nothing of what the ingest warned of."""
    said = f"ingested {images:,} images"
    if not notes:
        return said
    first = notes[0].split(". ", 1)[0].rstrip(".")
    if len(first) > INGEST_MESSAGE_NOTE:
        first = first[:INGEST_MESSAGE_NOTE].rsplit(" ", 1)[0] + " …"
    more = f"; {len(notes) - 1} more note{'s' * (len(notes) > 2)}" if len(notes) > 1 else ""
    return f"{said}; {first}{more} (the Overview's “Add a dataset” says all; `--json`: the result's `notes`)"


def sleep(params: dict, progress: ProgressCallback, should_stop: Callable[[], bool]) -> dict:
    seconds, steps = float(params.get("seconds", 1.0)), int(params.get("steps", 10))
    for i in range(steps):
        if should_stop():
            return {"slept_steps": i, "stopped": True}
        time.sleep(seconds / steps)
        progress(Progress("sleep", i + 1, steps))
    if params.get("fail"):
        raise RuntimeError(str(params["fail"]))
    return {"slept_steps": steps, "stopped": False}


HANDLERS: dict[str, Handler] = {
    "train_generate": train_generate,
    "generate": generate,
    "evaluate": evaluate,
    "benchmark": benchmark,
    "ingest": ingest,
    "sleep": sleep,
}
