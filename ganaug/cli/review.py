"""`ganaug review | jobs` and `ganaug worker` (`users` and `tags`: ganaug/cli/accounts.py; `audit` and `export`:
ganaug/cli/audit.py).

Every decision authenticates its author: the name from --user or GANAUG_USER, the password from GANAUG_PASSWORD
or a prompt. Refused decisions print one line and exit 2 with nothing written.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Optional

import typer

from ganaug.cli.audit import tag_of
from ganaug.cli.common import Commands, JSON, USER, UserError, check_limit, cli_errors, echo, emit, left_out, login
from ganaug.cli.line_width import wrapped, wrapped_note
from ganaug.shown_text import class_label, one_line
from ganaug_core.shown_text import utc_time

review_app = typer.Typer(cls=Commands, no_args_is_help=True, help="Approve, reject or revoke batches; reject and tag samples.")
jobs_app = typer.Typer(cls=Commands, no_args_is_help=True,
                       help="The job worker's queue (training, generating, scoring, benchmarks): list, cancel.")

BATCH = typer.Argument(..., help="Batch id (`ganaug review pending` lists the batches waiting)")
# An approved batch is in no pending list: the log's approvals name it.
APPROVED_BATCH = typer.Argument(..., help="Batch id of an approved batch (`ganaug audit log --action approve` "
                                          "lists the approvals)")
SAMPLE = typer.Argument(..., help="Sample id (`ganaug review samples BATCH` lists a batch's)")
TAG = typer.Argument(..., help="Tag name (`ganaug tags list`)")
REASON = typer.Option(None, "--reason", help="Why: recorded with the decision in the log")
REASON_REQUIRED = typer.Option(..., "--reason", help="Why (required): recorded with the decision in the log")


def _record(fn, target: int, user: Optional[str], *args, **kwargs) -> tuple[dict, str]:
    """Sign and record one decision: its event as a dict, and the line that confirms it."""
    from db.engine import session_scope

    me = login(user)
    with session_scope(immediate=True) as session:
        event = fn(session, target, *args, user=me, **kwargs)
        out = dict(event_id=event.id, action=event.action, target_type=event.target_type, target_id=event.target_id,
                   actor=event.actor, role=event.role, ts=event.ts, reason=event.reason, hash=event.hash)
        tag = tag_of(event.details)
    # Wrapped: 'approve batch 1 recorded as event 3 by dr.maria-fernanda.oliveira (admin) at …' was 109 columns. The
    # time as every human line gives it (`utc_time`), never split over two lines.
    when = utc_time(out["ts"])
    return out, wrapped(f"{out['action']}{tag} {out['target_type']} {out['target_id']} recorded as event "
                        f"{out['event_id']} by {one_line(out['actor'])} ({out['role']}) at {when}", whole=(when,))


def _decision(fn, target: int, user: Optional[str], as_json: bool, *args, **kwargs) -> None:
    out, text = _record(fn, target, user, *args, **kwargs)
    emit(out, as_json, text)


@review_app.command("approve")
@cli_errors
def approve_cmd(batch: int = BATCH, reason: Optional[str] = REASON, user: Optional[str] = USER,
                as_json: bool = JSON) -> None:
    """Approve a pending, scored batch with no unrejected memorized samples; say how many samples it admits.

    Example: ganaug review approve 1 --user alice"""
    from db.review import approve_batch
    from db.views import ELSEWHERE, approval_preview

    admits: dict = {}

    def approve(session, batch_id: int, user, reason: Optional[str]):
        event = approve_batch(session, batch_id, user, reason)
        admits.update(approval_preview(session, batch_id))  # what the app's confirmation says, in the same transaction
        return event

    out, text = _record(approve, batch, user, reason=reason)
    out["admits"] = admits
    left = [f"{n} {what}" for n, what in ((admits["rejected"], "rejected"), (admits["blocked"], "with a blocking tag"),
                                          (admits["elsewhere"], ELSEWHERE)) if n]  # the app's confirmation's words
    emit(out, as_json, f"{text}\n" + wrapped(f"approved batch {batch}: {admits['admitted']} of its {admits['samples']} "
                                             "samples are admitted into the gated training set"
                                             + (f" ({' and '.join(left)} stay out)" if left else "")))


@review_app.command("reject")
@cli_errors
def reject_cmd(batch: int = BATCH, reason: str = REASON_REQUIRED, user: Optional[str] = USER,
               as_json: bool = JSON) -> None:
    """Reject a pending batch (a reason is required)."""
    from db.review import reject_batch

    _decision(reject_batch, batch, user, as_json, reason=reason)


@review_app.command("revoke")
@cli_errors
def revoke_cmd(batch: int = APPROVED_BATCH, reason: str = REASON_REQUIRED, user: Optional[str] = USER,
               as_json: bool = JSON) -> None:
    """Withdraw the approval of a batch: its samples leave the next gated set (a reason is required)."""
    from db.review import revoke_batch

    _decision(revoke_batch, batch, user, as_json, reason=reason)


@review_app.command("reject-sample")
@cli_errors
def reject_sample_cmd(sample: int = SAMPLE, reason: str = REASON_REQUIRED, user: Optional[str] = USER,
                      as_json: bool = JSON) -> None:
    """Reject one sample, in a pending or an approved batch.

    Example: ganaug review reject-sample 12 --reason "a second stem" --user alice"""
    from db.review import reject_sample

    _decision(reject_sample, sample, user, as_json, reason=reason)


# In whole paragraphs: typer keeps a docstring's line breaks after its first paragraph.
REJECT_MEMORIZED_HELP = (
    "Reject every memorized sample of a batch not rejected yet, in one decision: one event each, all or none.\n\n"
    "`ganaug review samples BATCH --memorized` lists them first, and the line printed names those rejected. A batch "
    "with none left to reject is refused (exit status 2), as any decision that would change nothing is.\n\n"
    "A batch scored again between looking and rejecting may flag other samples. --expect N says how many you saw "
    "open: the decision is refused (exit status 2) when the batch has another number open. --sample ID (again for "
    "each) rejects only the samples named, as the Review page does: one no longer flagged, or rejected meanwhile, "
    "refuses the whole decision, and one flagged since stays open.\n\n"
    "Example: ganaug review reject-memorized 3 --reason \"near-copies of training images\" --expect 2 --user alice")


@review_app.command("reject-memorized", help=REJECT_MEMORIZED_HELP)
@cli_errors
def reject_memorized_cmd(
    batch: int = BATCH, reason: str = REASON_REQUIRED,
    expect: Optional[int] = typer.Option(None, "--expect", metavar="N",
                                         help="How many memorized samples you saw open; another number refuses it"),
    samples: Optional[list[int]] = typer.Option(None, "--sample", metavar="ID",
                                                help="Reject only this sample (again for each): those you saw"),
    user: Optional[str] = USER, as_json: bool = JSON,
) -> None:
    """`ganaug review reject-memorized` (REJECT_MEMORIZED_HELP)."""
    from db.engine import session_scope
    from db.review import reject_memorized

    if expect is not None and expect < 0:
        raise UserError(f"--expect must be 0 or more, got {expect}")
    me = login(user)
    with session_scope(immediate=True) as session:
        ids, events = reject_memorized(session, batch, me, reason, seen=samples or None, expect=expect)
        out = dict(batch_id=batch, sample_ids=ids, event_ids=events, actor=me.name, role=me.role, reason=reason.strip())
    shown = ", ".join(map(str, ids[:10])) + (", ..." if len(ids) > 10 else "")  # --json and `audit log` list them all
    span = f"{min(events)}–{max(events)}" if len(events) > 1 else str(events[0])
    emit(out, as_json, f"rejected {len(ids)} memorized sample(s) of batch {batch} ({shown}) recorded as event(s) "
                       f"{span} by {one_line(me.name)} ({me.role})")


@review_app.command("restore-sample")
@cli_errors
def restore_sample_cmd(sample: int = SAMPLE, reason: str = REASON_REQUIRED, user: Optional[str] = USER,
                       as_json: bool = JSON) -> None:
    """Withdraw a sample's rejection while its batch is pending (the rejection stays in the log)."""
    from db.review import restore_sample

    _decision(restore_sample, sample, user, as_json, reason=reason)


@review_app.command("tag")
@cli_errors
def tag_cmd(sample: int = SAMPLE, tag: str = TAG, reason: Optional[str] = REASON,
            user: Optional[str] = USER, as_json: bool = JSON) -> None:
    """Mark a sample with an artifact tag from the taxonomy (`ganaug tags list`).

    Example: ganaug review tag 5 blur --user alice"""
    from db.review import tag_sample

    _decision(tag_sample, sample, user, as_json, tag, reason=reason)


@review_app.command("untag")
@cli_errors
def untag_cmd(sample: int = SAMPLE, tag: str = TAG, reason: Optional[str] = REASON,
              user: Optional[str] = USER, as_json: bool = JSON) -> None:
    """Remove an artifact tag from a sample."""
    from db.review import untag_sample

    _decision(untag_sample, sample, user, as_json, tag, reason=reason)


LIST_LIMIT = 50  # batches `review pending` shows unless --limit says otherwise: a year's queue flooded the terminal


@review_app.command("pending")
@cli_errors
def pending_cmd(dataset: Optional[str] = typer.Option(None, "--dataset", help="Only this dataset's batches"),
                limit: int = typer.Option(LIST_LIMIT, "--limit", help="At most this many, oldest first"),
                as_json: bool = JSON) -> None:
    """Batches waiting for review, oldest first."""
    from db.datasets import get_dataset
    from db.engine import session_scope
    from sqlalchemy import func, select

    from db.models import Dataset, Sample
    from db.review_queue import count_pending, pending_batches

    check_limit(limit)
    with session_scope() as s:
        ds = get_dataset(s, dataset).id if dataset else None
        batches = pending_batches(s, ds, limit=limit)
        total = count_pending(s, ds) if len(batches) == limit else len(batches)
        datasets = {d: s.get(Dataset, d) for d in {b.dataset_id for b in batches}}
        # The samples a reviewer already rejected, as the app's picker says them ("48 samples · 1 rejected"): the
        # line said "48 samples" of a batch half reviewed.
        rejected = dict(s.execute(select(Sample.batch_id, func.count()).where(
            Sample.batch_id.in_([b.id for b in batches]), Sample.rejected).group_by(Sample.batch_id)).all())
        rows = [dict(batch_id=b.id, dataset_id=b.dataset_id, dataset=datasets[b.dataset_id].name,
                     class_index=b.class_index, count=b.count, rejected=rejected.get(b.id, 0),
                     scored=b.scores_computed, scoring_version=b.scoring_version,
                     created_at=b.created_at.isoformat()) for b in batches]
        names = {d: list(row.class_names) for d, row in datasets.items()}
    # A long class name cut as `data report` cuts it, and the line wrapped at 80 columns (it was 106).
    lines = [wrapped(f"batch {r['batch_id']} of {one_line(r['dataset'])}: class "
                     f"{class_label(r['class_index'], names[r['dataset_id']], cut=True)}, {r['count']} samples"
                     + (f", {r['rejected']} rejected" if r["rejected"] else "") + _scored_said(r)) for r in rows]
    if total > len(rows):
        lines.append(left_out(len(rows), total, "pending batches", "" if dataset else ", --dataset NAME one dataset's"))
    emit({"batches": rows, "total": total}, as_json, "\n".join(lines) or "no batch is waiting for review")


def _scored_said(row: dict) -> str:
    """What `review pending` adds to a batch's line: not scored yet, or scored by an older copy check than today's."""
    from ganaug_core.scoring import older_scoring

    if not row["scored"]:
        return " (not scored yet)"
    return " (scored by an older check)" if older_scoring(row["scoring_version"]) else ""


PER_PAGE = 48


@review_app.command("samples")
@cli_errors
def samples_cmd(
    batch: int = BATCH,
    page: int = typer.Option(0, "--page", help="Which page, from 0"),
    per_page: int = typer.Option(PER_PAGE, "--per-page", help="Samples per page"),
    sort: str = typer.Option("id", "--sort", help="id, seed, class_confidence, realism, novelty or nn_distance"),
    descending: bool = typer.Option(False, "--desc", metavar="", help="Largest first"),
    tag: Optional[str] = typer.Option(None, "--tag", help="Only samples with this artifact tag"),
    memorized: Optional[bool] = typer.Option(None, "--memorized/--not-memorized", metavar="",
                                             help="Only the samples flagged as copies of a training image, or only "
                                                  "the others"),
    as_json: bool = JSON,
) -> None:
    """One page of a batch's samples with their scores and tags (the ids to reject or tag); a batch scored by an
    older copy check than today's says so, with the command that scores it again."""
    from db.engine import session_scope
    from db.review import get_batch
    from db.review_queue import review_page
    from ganaug.cli.evaluate import older_scores_lines
    from ganaug.runs import collapse_note
    from ganaug_core import paths
    from ganaug_core.scoring import SCORING_VERSION

    with session_scope() as s:
        b = get_batch(s, batch)
        rows, total = review_page(s, batch, page=page, per_page=per_page, sort=sort, descending=descending, tag=tag,
                                  memorized=memorized)
        b_folder, version, run_id, class_index = b.folder, b.scoring_version, b.run_id, b.class_index
        older = older_scores_lines(batch, version) if b.scores_computed else []
        out = dict(batch_id=batch, status=b.status, scored=b.scores_computed, scoring_version=version,
                   current_scoring_version=SCORING_VERSION, total=total, page=page, samples=[
            dict(id=r.sample.id, seed=r.sample.seed, path=r.sample.path, rejected=r.sample.rejected, tags=r.tags,
                 **r.scores) for r in rows])
    fmt = lambda v: "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    # Where to look at them: a reviewer on the command line had ids and scores, and no image to open.
    where = one_line(paths.resolve(b_folder))
    lines = [wrapped(f"batch {batch} ({out['status']}): {total} matching samples, page {page}, in {where}",
                     whole=(where,))] + older
    lines += _sample_rows(out["samples"], fmt)
    lines += _page_said(page, per_page, len(rows), total)
    emit(out, as_json, "\n".join(lines))
    if note := collapse_note(run_id, class_index):  # as the Review page warns above its grid
        echo(wrapped_note(note), err=True)


def _page_said(page: int, per_page: int, shown: int, total: int) -> list[str]:
    """The last line of a page that is not the whole batch: a 64-sample batch listed 48 and said nothing of the
    other 16, and a page past the last printed its header alone."""
    first = page * per_page
    if total and not shown:
        pages = -(-total // per_page)
        return [wrapped(f"page {page} is past the last: {total} samples make {pages} page{'s' * (pages > 1)} of "
                        f"{per_page} (--page 0{f' to {pages - 1}' if pages > 1 else ''})")]
    if first + shown < total:
        rest = total - first - shown
        also = "" if per_page == PER_PAGE else f" --per-page {per_page}"
        return [wrapped(f"samples {first + 1}–{first + shown} of {total} shown: --page {page + 1}{also} shows the "
                        f"next {min(rest, per_page)}")]
    return []


def _sample_rows(samples: list[dict], fmt) -> list[str]:
    """A page of samples as a table that fits 80 columns: each row was 95–108 ('seed' and a 19-digit seed, which its
    file name repeats after `_s`, and a word before each score). What passes 80 (MEMORIZED, rejected, tags) goes on
    the next line, under the file's name; `--json` has the seeds."""
    if not samples:
        return []
    width = max(len("id"), *(len(str(x["id"])) for x in samples))
    under = " " * (width + 2 + 5 + 2 + 7 + 2 + 7 + 2)  # where the file's name starts
    rows = [f"{'id':>{width}}  {'conf':>5}  {'realism':>7}  {'novelty':>7}  file"]
    for x in samples:
        marks = ([" MEMORIZED"] if x["memorized"] else []) + ([" rejected"] if x["rejected"] else [])
        tags = f"  [{', '.join(map(one_line, x['tags']))}]" if x["tags"] else ""
        rows.append(wrapped(f"{x['id']:>{width}}  {fmt(x['class_confidence']):>5}  {fmt(x['realism']):>7}  "
                            f"{fmt(x['novelty']):>7}  {PurePosixPath(x['path']).name}{''.join(marks)}{tags}", under))
    return rows


MAX_POLL_S = 3600  # an hour between looks; far beyond it (1e12, inf) the wait itself overflows


# The commands that start a worker of their own (`ganaug.cli.serve.worker_command`): its busy-machine note names the
# one to start again with OMP_NUM_THREADS=1, since the worker has that command's environment.
SUPERVISORS = ("app", "demo")


def worker_cmd(
    poll: float = typer.Option(1.0, "--poll", help="Seconds between looks at an empty queue"),
    started_by: Optional[str] = typer.Option(None, "--started-by", hidden=True),
) -> None:
    """Run queued jobs (training, generation, scoring, benchmarks, the app's ingests) until interrupted."""
    from ganaug.worker import run_worker

    # `not 0 < poll`, so NaN fails too: 0, a negative or NaN wait returns at once, and the worker spun on the database.
    if not 0 < poll <= MAX_POLL_S:
        raise UserError(f"--poll must be a number of seconds above 0 and at most {MAX_POLL_S}, got {poll}")
    if started_by is not None and started_by not in SUPERVISORS:
        raise UserError(f"--started-by must be one of {', '.join(SUPERVISORS)}, got {started_by!r}")
    run_worker(poll_s=poll, command=f"ganaug {started_by or 'worker'}")


@jobs_app.command("list")
@cli_errors
def jobs_list_cmd(
    status: Optional[str] = typer.Option(None, "--status", help="Only jobs in this status: queued, running, done, "
                                         "failed or cancelled"),
    limit: int = typer.Option(100, "--limit", help="At most this many, newest first"),
    as_json: bool = JSON,
) -> None:
    """The newest 100 jobs (or --limit N) with their status, progress and last message or error (its first line;
    --json: with the traceback); a dead worker's are marked failed, and one whose worker is silent but still
    connected to PostgreSQL (a cut network) says for how long."""
    from db.engine import session_scope
    from db.jobs import STATES, count_jobs, fail_stale_jobs, first_line, list_jobs
    from db.models import as_utc, db_now
    from ganaug.job_messages import silent_worker_message
    from ganaug.running_job import STALE_AFTER_S

    def said(job, at) -> str:  # a running job the sweep spared (its worker cut off from the database) says so
        beat = as_utc(job.heartbeat_at)
        silent_s = (at - beat).total_seconds() if job.status == "running" and beat is not None else 0.0
        return silent_worker_message(silent_s) if silent_s > STALE_AFTER_S else job.message

    check_limit(limit)
    if status is not None and status not in STATES:  # a typo listed nothing: "no jobs", read as "none failed"
        raise UserError(f"--status must be one of {', '.join(STATES)}, not {status!r}")
    with session_scope(immediate=True) as s:  # a job whose worker was killed is not "running", worker or no worker
        fail_stale_jobs(s, STALE_AFTER_S)
    with session_scope() as s:
        at = db_now(s)
        rows = [dict(id=j.id, kind=j.kind, status=j.status, progress=j.progress, message=said(j, at), error=j.error,
                     result=j.result, created_at=str(j.created_at)) for j in list_jobs(s, status=status, limit=limit)]
        total = count_jobs(s, status=status) if len(rows) == limit else len(rows)
    lines = [f"{r['id']:>5} {r['kind']:<15} {r['status']:<9} {r['progress']:>4.0%}  "
             f"{one_line(first_line(r['error']) or r['message'])}" for r in rows]
    if total > len(rows):  # a year's 2,000 jobs: the newest, and how to see the others
        lines.append(left_out(len(rows), total, "jobs", "" if status else ", --status failed only the failed ones"))
    emit({"jobs": rows, "total": total}, as_json, "\n".join(lines) or "no jobs")


@jobs_app.command("cancel")
@cli_errors
def jobs_cancel_cmd(job: int = typer.Argument(..., help="Job id (`ganaug jobs list`)"), as_json: bool = JSON) -> None:
    """Cancel a queued job at once; ask a running one to stop (it checks between steps)."""
    from db.engine import session_scope
    from db.jobs import request_cancel

    with session_scope(immediate=True) as s:
        j = request_cancel(s, job)
        out = dict(id=j.id, status=j.status, cancel_requested=j.cancel_requested)
    emit(out, as_json, f"job {job}: {out['status']}{' (stop requested)' if out['cancel_requested'] else ''}")


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
    app.add_typer(jobs_app, name="jobs")
    app.command("worker")(cli_errors(worker_cmd))
