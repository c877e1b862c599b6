"""What a job that failed or stopped part-way recorded, and what to launch or run for the rest, in words.

`ganaug.job_handlers` raises these texts as `FailedPartWay`'s message or returns them as a result's `stopped`; the
worker puts them in the job's row (`ganaug.job_messages`). Launching the whole job again would train anew and make
its batches a second time, so each names the run and batches kept and the commands (or the app's buttons) for the
rest.
"""

from __future__ import annotations


def _run_and_names(run_id: int) -> tuple[str, list[str]]:
    """'run 3 (trained 600 steps; last checkpoint runs/000003/checkpoints/checkpoint-0000600.pt)' and the class
    names of its dataset."""
    from db.engine import session_scope
    from db.models import Dataset, Run

    with session_scope() as s:
        run = s.get(Run, run_id)
        names = [str(n) for n in s.get(Dataset, run.dataset_id).class_names]
        checkpoint = f"last checkpoint {run.checkpoint_path}" if run.checkpoint_path else "no checkpoint"
        return f"run {run_id} (trained {run.step or 0:,} steps; {checkpoint})", names


def _batches_of(batch_ids: list[int], classes: list[str]) -> str:
    """'batch 12 (class 7), which awaits review', 'batches 12, 13 (classes 7, 8), which await review'."""
    many = len(batch_ids) > 1
    return (f"{_listed('batch', batch_ids, '')}(class{'es' * many} {', '.join(classes)}), "
            f"which await{'' if many else 's'} review")


def generation_left(run_id: int, batch_ids: list[int], made: list[int], missing: list[int], n: int,
                    trained: bool) -> str:
    """What a job whose generation failed recorded, and the generate-only job that makes the rest."""
    import shlex

    run, names = _run_and_names(run_id)
    recorded = [run] if trained else []
    if batch_ids:
        recorded.append(_batches_of(batch_ids, [names[c] for c in made]))
    again = " and ".join(filter(None, ["train anew" if trained else "",
                                       f"generate {_listed('class', [names[c] for c in made], 'again')}"
                                       if batch_ids else ""]))
    rest = [names[c] for c in missing]
    return (f"Before it failed, the job recorded {' and '.join(recorded)}: launching it again would {again.strip()}. "
            f"Generate only {_listed('class', rest, '').strip()} from run {run_id} instead: "
            f"“Start from run” {run_id} with “Only generate from it” on the Generate page, or "
            f"`ganaug generate --run {run_id} --class {shlex.quote(rest[0])} --n {n}`"
            f"{' for each of them' if len(rest) > 1 else ''}.")


def scoring_left(run_id: int, batch_ids: list[int], classes: list[int], unscored: list[int], trained: bool) -> str:
    """What a job whose scoring failed recorded (every batch, and the scores of some), and how to measure the rest."""
    run, names = _run_and_names(run_id)
    recorded = [run] if trained else []
    recorded.append(_batches_of(batch_ids, [names[c] for c in classes[:len(batch_ids)]]))
    stored, commands, page = _how_to_measure(unscored)
    failed = (f"batch {unscored[0]}'s scores are stored but not its metrics" if stored
              else f"batch {unscored[0]} was not scored")
    later = f", {_listed('batch', unscored[1:], 'not scored')}" if unscored[1:] else ""
    review = f", or “Compute scores” on the Review page for {_listed('batch', page, '').strip()}" if page else ""
    return (f"Before it failed, the job recorded {' and '.join(recorded)}; {failed}{later}: launching it again would "
            f"{'train anew and ' if trained else ''}generate them all again. Measure only "
            f"{_listed('batch', unscored, '').strip()} instead: {', '.join(commands)}{review}.")


def stopped_generating(batch_ids: list[int], missing: list[int], params: dict) -> str:
    """'batch 7 not scored yet: `ganaug evaluate batch 7`, …; classes 8, 9 not generated': the classes last, as
    what a job stopped by its worker then says to generate ("only those") follows them."""
    missing_said = _listed("class", missing, "not generated")
    if batch_ids and params.get("score", True):  # the job scores its batches once every class is generated
        return f"{not_measured(batch_ids)}; {missing_said}"
    return missing_said


def not_measured(unscored: list[int]) -> str:
    """What a job stopped while scoring left to measure, and how: 'batches 7, 8 not scored yet: `ganaug evaluate
    batch 7`, `ganaug evaluate batch 8`, or “Compute scores” on the Review page'. It said "batch 7 was not scored:
    nothing of it was written; batch 8 not scored" beside "batches 7, 8 made", as if batch 7 were gone."""
    stored, commands, page = _how_to_measure(unscored)
    said = [f"batch {unscored[0]}'s scores are stored but not its metrics"] if stored else []
    if page:
        said.append(_listed("batch", page, "not scored yet"))
    review = ""
    if page:
        review = ", or “Compute scores” on the Review page" + (f" for {_listed('batch', page, '').strip()}"
                                                                 if stored else "")
    return f"{', '.join(said)}: {', '.join(commands)}{review}"


def _how_to_measure(unscored: list[int]) -> tuple[bool, list[str], list[int]]:
    """Whether the first batch of `unscored` has its scores stored (a failure or a stop in its metrics: the scores,
    one transaction, are kept), the command that measures each batch, and the batches the Review page can score (it
    offers scoring to a batch with no scores only). One rule for a failed and a stopped job: each had its own copy."""
    stored = scores_stored(unscored[0])
    commands = [f"`ganaug evaluate batch {b}`" for b in unscored]
    if stored:
        commands[0] += " (it keeps the stored scores)"
    return stored, commands, unscored[1:] if stored else unscored


def scores_stored(batch_id: int) -> bool:
    from db.engine import session_scope
    from db.models import Batch

    with session_scope() as s:
        return bool(s.get(Batch, batch_id).scores_computed)


def _listed(noun: str, items: list[int], said: str) -> str:
    """'classes 8, 9 not generated', 'batch 4 not scored'."""
    from db.jobs import listed

    return f"{listed(noun, items)} {said}"
