"""`ganaug review | users | tags | audit | jobs`, `ganaug export` and `ganaug worker`.

Every decision authenticates its author: the name from --user or GANAUG_USER, the password from GANAUG_PASSWORD
or a prompt. Refused decisions print one line and exit 2 with nothing written; `audit verify` exits 1 when the
chain is broken.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Optional

import typer

from ganaug.cli.common import JSON, UserError, class_label, cli_errors, emit, read_password, terminate_as_interrupt

review_app = typer.Typer(no_args_is_help=True, help="Approve, reject or revoke batches; reject and tag samples.")
users_app = typer.Typer(no_args_is_help=True, help="Reviewer and admin accounts.")
tags_app = typer.Typer(no_args_is_help=True, help="The artifact tag taxonomy.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained decision log.")
jobs_app = typer.Typer(no_args_is_help=True, help="Jobs run by the worker.")

USER = typer.Option(None, "--user", help="Who decides (default: $GANAUG_USER); password from $GANAUG_PASSWORD or a prompt")


def _login(user: Optional[str], password_env: str = "GANAUG_PASSWORD"):
    from db.engine import session_scope
    from db.users import authenticate

    name = user or os.environ.get("GANAUG_USER")
    if not name:
        raise UserError("who is deciding? pass --user NAME or set GANAUG_USER")
    password = os.environ.get(password_env) or None  # set but empty (`GANAUG_PASSWORD= cmd`): as if unset
    if password is None:
        password = read_password(f"password for {name}",
                                 f"no password for {name!r}: set {password_env} or run in a terminal")
    with session_scope() as session:
        return authenticate(session, name, password)


def _decision(fn, target: int, user: Optional[str], as_json: bool, *args, **kwargs) -> None:
    from db.engine import session_scope

    me = _login(user)
    with session_scope(immediate=True) as session:
        event = fn(session, target, *args, user=me, **kwargs)
        out = dict(event_id=event.id, action=event.action, target_type=event.target_type, target_id=event.target_id,
                   actor=event.actor, role=event.role, ts=event.ts, reason=event.reason, hash=event.hash)
        tag = _tag_of(event.details)
    emit(out, as_json, f"{out['action']}{tag} {out['target_type']} {out['target_id']} recorded as event "
                       f"{out['event_id']} by {out['actor']} ({out['role']}) at {out['ts']}")


def _user_names(session, ids: set[int]) -> dict[int, str]:
    """Account id → name, for the account events of `audit log` ('disable_user user 4 (bob)')."""
    from sqlalchemy import select

    from db.models import User

    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}


def _tag_of(details) -> str:
    """' [tag]' for a tag or untag event, so that people see which tag; '' otherwise."""
    return f" [{details['tag']}]" if isinstance(details, dict) and details.get("tag") else ""


@review_app.command("approve")
@cli_errors
def approve_cmd(batch: int, reason: Optional[str] = typer.Option(None, "--reason"), user: Optional[str] = USER,
                as_json: bool = JSON) -> None:
    """Approve a pending, scored batch with no unrejected memorized samples."""
    from db.review import approve_batch

    _decision(approve_batch, batch, user, as_json, reason=reason)


@review_app.command("reject")
@cli_errors
def reject_cmd(batch: int, reason: str = typer.Option(..., "--reason"), user: Optional[str] = USER,
               as_json: bool = JSON) -> None:
    """Reject a pending batch (a reason is required)."""
    from db.review import reject_batch

    _decision(reject_batch, batch, user, as_json, reason=reason)


@review_app.command("revoke")
@cli_errors
def revoke_cmd(batch: int, reason: str = typer.Option(..., "--reason"), user: Optional[str] = USER,
               as_json: bool = JSON) -> None:
    """Withdraw the approval of a batch: its samples leave the next gated set (a reason is required)."""
    from db.review import revoke_batch

    _decision(revoke_batch, batch, user, as_json, reason=reason)


@review_app.command("reject-sample")
@cli_errors
def reject_sample_cmd(sample: int, reason: str = typer.Option(..., "--reason"), user: Optional[str] = USER,
                      as_json: bool = JSON) -> None:
    """Reject one sample, in a pending or an approved batch."""
    from db.review import reject_sample

    _decision(reject_sample, sample, user, as_json, reason=reason)


@review_app.command("tag")
@cli_errors
def tag_cmd(sample: int, tag: str, reason: Optional[str] = typer.Option(None, "--reason"),
            user: Optional[str] = USER, as_json: bool = JSON) -> None:
    """Mark a sample with an artifact tag from the taxonomy (`ganaug tags list`)."""
    from db.review import tag_sample

    _decision(tag_sample, sample, user, as_json, tag, reason=reason)


@review_app.command("untag")
@cli_errors
def untag_cmd(sample: int, tag: str, reason: Optional[str] = typer.Option(None, "--reason"),
              user: Optional[str] = USER, as_json: bool = JSON) -> None:
    """Remove an artifact tag from a sample."""
    from db.review import untag_sample

    _decision(untag_sample, sample, user, as_json, tag, reason=reason)


@review_app.command("pending")
@cli_errors
def pending_cmd(dataset: Optional[str] = typer.Option(None, "--dataset"), as_json: bool = JSON) -> None:
    """Batches waiting for review."""
    from db.datasets import get_dataset
    from db.engine import session_scope
    from db.models import Dataset
    from db.review import pending_batches

    with session_scope() as s:
        ds = get_dataset(s, dataset).id if dataset else None
        batches = pending_batches(s, ds)
        names = {d: list(s.get(Dataset, d).class_names) for d in {b.dataset_id for b in batches}}
        rows = [dict(batch_id=b.id, dataset_id=b.dataset_id, class_index=b.class_index, count=b.count,
                     scored=b.scores_computed, created_at=b.created_at.isoformat()) for b in batches]
    text = "\n".join(f"batch {r['batch_id']}: class {class_label(r['class_index'], names[r['dataset_id']])}, "
                     f"{r['count']} samples{'' if r['scored'] else ' (not scored yet)'}" for r in rows)
    emit({"batches": rows}, as_json, text or "no batch is waiting for review")


@review_app.command("samples")
@cli_errors
def samples_cmd(
    batch: int, page: int = typer.Option(0, "--page"), per_page: int = typer.Option(48, "--per-page"),
    sort: str = typer.Option("id", "--sort", help="id, seed, class_confidence, realism, novelty or nn_distance"),
    descending: bool = typer.Option(False, "--desc"), tag: Optional[str] = typer.Option(None, "--tag"),
    memorized: Optional[bool] = typer.Option(None, "--memorized/--not-memorized"), as_json: bool = JSON,
) -> None:
    """One page of a batch's samples with their scores and tags (the ids to reject or tag)."""
    from db.engine import session_scope
    from db.review import get_batch, review_page

    with session_scope() as s:
        b = get_batch(s, batch)
        rows, total = review_page(s, batch, page=page, per_page=per_page, sort=sort, descending=descending, tag=tag,
                                  memorized=memorized)
        out = dict(batch_id=batch, status=b.status, total=total, page=page, samples=[
            dict(id=r.sample.id, seed=r.sample.seed, path=r.sample.path, rejected=r.sample.rejected, tags=r.tags,
                 **r.scores) for r in rows])
    fmt = lambda v: "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [f"batch {batch} ({out['status']}): {total} matching samples, page {page}"]
    lines += [f"{x['id']:>8} seed {x['seed']:<10} conf {fmt(x['class_confidence'])} realism {fmt(x['realism'])} "
              f"novelty {fmt(x['novelty'])}{' MEMORIZED' if x['memorized'] else ''}{' rejected' if x['rejected'] else ''}"
              f"{'  [' + ', '.join(x['tags']) + ']' if x['tags'] else ''}" for x in out["samples"]]
    emit(out, as_json, "\n".join(lines))


@users_app.command("add")
@cli_errors
def users_add_cmd(
    name: str,
    role: str = typer.Option("reviewer", "--role", help="reviewer or admin"),
    password: Optional[str] = typer.Option(None, "--password", help="The new password (else $GANAUG_PASSWORD or a prompt)"),
    user: Optional[str] = typer.Option(None, "--user", help="The admin adding the account, once one exists "
                                       "(default: $GANAUG_USER; password from $GANAUG_ADMIN_PASSWORD or a prompt)"),
    as_json: bool = JSON,
) -> None:
    """Create an account. The first admin needs no login; after that an admin must authenticate."""
    from db.engine import session_scope
    from db.users import ROLES, add_user, has_active_admin

    if role not in ROLES:
        raise UserError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    with session_scope() as s:
        bootstrap = not has_active_admin(s)
    admin = None if bootstrap else _login(user, password_env="GANAUG_ADMIN_PASSWORD")
    if password is None:
        password = os.environ.get("GANAUG_PASSWORD") or None
    if password is None:
        password = read_password(f"new password for {name}", "no password given: pass --password, set "
                                 "GANAUG_PASSWORD, or run in a terminal", confirm=True)
    with session_scope(immediate=True) as s:
        created = add_user(s, name, password, role=role, by=admin)
        out = dict(user_id=created.id, name=created.name, role=created.role, created_by=admin.name if admin else None)
    emit(out, as_json, f"added {out['role']} {out['name']!r}")


def _set_active(name: str, active: bool, reason: Optional[str], user: Optional[str], as_json: bool) -> None:
    from db.engine import session_scope
    from db.users import set_active

    admin = _login(user)
    with session_scope(immediate=True) as s:
        set_active(s, name, active, by=admin, reason=reason)
    emit(dict(name=name, active=active), as_json, f"{name!r} is now {'active' if active else 'disabled'}")


@users_app.command("disable")
@cli_errors
def users_disable_cmd(name: str, reason: Optional[str] = typer.Option(None, "--reason"), user: Optional[str] = USER,
                      as_json: bool = JSON) -> None:
    """Disable an account (admins only): it can no longer sign decisions; its past decisions stay."""
    _set_active(name, False, reason, user, as_json)


@users_app.command("enable")
@cli_errors
def users_enable_cmd(name: str, reason: Optional[str] = typer.Option(None, "--reason"), user: Optional[str] = USER,
                     as_json: bool = JSON) -> None:
    """Re-enable a disabled account (admins only)."""
    _set_active(name, True, reason, user, as_json)


@users_app.command("list")
@cli_errors
def users_list_cmd(as_json: bool = JSON) -> None:
    """Every account with its role and whether it is active."""
    from db.engine import session_scope
    from db.users import list_users

    with session_scope() as s:
        rows = [dict(name=u.name, role=u.role, active=u.active) for u in list_users(s)]
    emit({"users": rows}, as_json, "\n".join(f"{r['name']:<20} {r['role']:<9} {'active' if r['active'] else 'disabled'}"
                                             for r in rows) or "no users yet")


@tags_app.command("list")
@cli_errors
def tags_list_cmd(as_json: bool = JSON) -> None:
    """The artifact tags reviewers can use; blocking tags keep a sample out of training."""
    from db.engine import session_scope
    from db.review import list_tags

    with session_scope() as s:
        rows = [dict(name=t.name, blocking=t.blocking, description=t.description) for t in list_tags(s)]
    emit({"tags": rows}, as_json, "\n".join(f"{r['name']:<20} {'blocking' if r['blocking'] else '        '}  "
                                             f"{r['description']}" for r in rows))


@tags_app.command("add")
@cli_errors
def tags_add_cmd(name: str, description: str = typer.Option("", "--description"),
                 blocking: bool = typer.Option(True, "--blocking/--non-blocking"), user: Optional[str] = USER,
                 as_json: bool = JSON) -> None:
    """Add a tag to the taxonomy (admins only)."""
    from db.engine import session_scope
    from db.review import add_tag

    admin = _login(user)
    with session_scope(immediate=True) as s:
        tag = add_tag(s, name, admin, blocking=blocking, description=description)
        out = dict(tag_id=tag.id, name=tag.name, blocking=tag.blocking)
    emit(out, as_json, f"added tag {out['name']!r} ({'blocking' if out['blocking'] else 'non-blocking'})")


@audit_app.command("verify")
@cli_errors
def audit_verify_cmd(
    head: Optional[str] = typer.Option(None, "--head", help="A head hash recorded earlier (printed by this command, "
                                       "written by export as log_head.txt): check the log still holds it"),
    as_json: bool = JSON,
) -> None:
    """Recompute the hash chain of the decision log and check the review state against it; exit 1 and name the
    first broken event, or each place where the tables disagree with the log. A chain cannot show on its own that
    its newest events were deleted: `--head` checks it against a head written down elsewhere."""
    from sqlalchemy import select

    from db.audit import GENESIS_HASH, verify_chain
    from db.engine import session_scope
    from db.models import Event
    from db.replay import state_mismatches

    head = _head_hash(head) if head is not None else None
    with session_scope() as s:
        report = verify_chain(s)
        mismatches = state_mismatches(s) if report.ok else []
        head_found = head is None or head == GENESIS_HASH or s.scalar(select(Event.id).where(Event.hash == head)) is not None
    out = dict(report.to_dict(), ok=report.ok and not mismatches and head_found, state_mismatches=mismatches,
               head_found=head_found)
    if not report.ok:
        text = f"BROKEN: {report.message}"
    elif not head_found:
        text = (f"TRUNCATED: {report.message}, but it no longer holds head {head}: events were removed from its end "
                "since that head was recorded (or this is another log)")
    elif mismatches:
        text = (f"STATE DIFFERS: {report.message}, but the tables disagree with it:\n"
                + "\n".join(f"  {line}" for line in mismatches))
    else:
        text = f"ok: {report.message}; the review state matches it\nhead {report.head_hash}"
    emit(out, as_json, text)
    if not out["ok"]:
        raise typer.Exit(1)


def _head_hash(value: str) -> str:
    """The hash `--head` names: a bare hash, or log_head.txt's whole line ('<events> <hash>', as
    `--head "$(cat log_head.txt)"` passes it). Anything else is bad input, not a truncated log."""
    words = value.split()
    if len(words) == 2 and words[0].isdigit():
        words = words[1:]
    if len(words) != 1 or not re.fullmatch(r"[0-9a-fA-F]{64}", words[0]):
        raise UserError(f"--head {value!r} is not a head hash: give the 64 hex digits `audit verify` printed "
                        "or the line of an export's log_head.txt")
    return words[0].lower()


@audit_app.command("log")
@cli_errors
def audit_log_cmd(
    limit: int = typer.Option(50, "--limit"), actor: Optional[str] = typer.Option(None, "--actor"),
    action: Optional[str] = typer.Option(None, "--action"), target_type: Optional[str] = typer.Option(None, "--target-type"),
    since: Optional[str] = typer.Option(None, "--since", help="ISO 8601 date or time (UTC if no offset)"),
    as_json: bool = JSON,
) -> None:
    """The newest decisions first."""
    from db.audit import filter_values, list_events
    from db.engine import session_scope

    if limit < 1:
        raise UserError("--limit must be at least 1")
    with session_scope() as s:
        for option, value, column in (("--action", action, "action"), ("--target-type", target_type, "target_type")):
            if value is not None and value not in (valid := filter_values(s, column)):
                raise UserError(f"{option} {value!r} matches nothing the log records: use one of {', '.join(valid)}")
        rows = [dict(id=e.id, ts=e.ts, actor=e.actor, role=e.role, action=e.action, target_type=e.target_type,
                     target_id=e.target_id, meaning=e.meaning, reason=e.reason, details=e.details, hash=e.hash)
                for e in list_events(s, actor=actor, action=action, target_type=target_type, since=since, limit=limit)]
        names = _user_names(s, {r["target_id"] for r in rows if r["target_type"] == "user"})
    text = "\n".join(f"{r['id']:>6} {r['ts']} {r['actor']:<12} {r['action']:<13} {r['target_type']} {r['target_id']}"
                     + (f" ({names[r['target_id']]})" if r["target_type"] == "user" and r["target_id"] in names else "")
                     + _tag_of(r["details"]) + (f"  — {r['reason']}" if r["reason"] else "") for r in rows)
    emit({"events": rows}, as_json, text or "no events")


def _class_names(dataset: str) -> list[str]:
    from db.datasets import get_dataset
    from db.engine import session_scope

    with session_scope() as s:
        return list(get_dataset(s, dataset).class_names)


def export_cmd(
    dataset: str = typer.Option(..., "--dataset"), out: Path = typer.Option(..., "--out"),
    ratio: float = typer.Option(1.0, "--ratio", help="At most this many synthetic samples per real training image, per class"),
    as_json: bool = JSON,
) -> None:
    """Write the gated training set as an ImageFolder with manifest.csv and its sha256."""
    from db.gate import INTEGRITY_REASONS
    from ganaug.export import export_gated_set
    from ganaug_core.progress import tqdm_progress

    if not 0 <= ratio < math.inf:
        raise UserError(f"--ratio must be a finite number ≥ 0, got {ratio}")
    with terminate_as_interrupt(), tqdm_progress() as progress:  # `kill` too leaves no partial folder beside OUT
        summary = export_gated_set(dataset, out, ratio, progress)
    for reason in INTEGRITY_REASONS:  # on stderr, with --json too: stdout stays one JSON object
        if n := summary["excluded"].get(reason):
            typer.echo(f"warning: {n} image{'s' * (n != 1)} left out: {reason}", err=True)
    if ratio > 0 and not any(v["synthetic"] for v in summary["counts"].values()):
        why = "; ".join(f"{reason} ({n} sample{'s' * (n != 1)})" for reason, n in summary["excluded"].items())
        typer.echo("warning: no synthetic sample was admitted, so the set holds the real training images only"
                   + (f"; left out: {why}" if why else " (no batch of this dataset is approved)"), err=True)
    names = _class_names(dataset)
    counts = ", ".join(f"class {class_label(c, names)}: {v['real']} real + {v['synthetic']} synthetic"
                       for c, v in summary["counts"].items())
    head = summary["log_head"]
    emit(summary, as_json, f"exported {summary['entries']} images to {summary['out']} ({counts})\n"
                           f"manifest sha256 {summary['manifest_sha256']}\n"
                           f"gated on the decision log's first {head['events']} events, head {head['hash']}")


def worker_cmd(poll: float = typer.Option(1.0, "--poll", help="Seconds between looks at an empty queue")) -> None:
    """Run queued jobs (training, generation, evaluation) until interrupted."""
    from ganaug.worker import run_worker

    run_worker(poll_s=poll)


@jobs_app.command("list")
@cli_errors
def jobs_list_cmd(
    status: Optional[str] = typer.Option(None, "--status", help="Only jobs in this status: queued, running, done, "
                                         "failed or cancelled"),
    as_json: bool = JSON,
) -> None:
    """The newest 100 jobs with their status, progress and last message or error."""
    from db.engine import session_scope
    from db.jobs import list_jobs

    with session_scope() as s:
        rows = [dict(id=j.id, kind=j.kind, status=j.status, progress=j.progress, message=j.message, error=j.error,
                     result=j.result, created_at=str(j.created_at)) for j in list_jobs(s, status=status)]
    emit({"jobs": rows}, as_json, "\n".join(
        f"{r['id']:>5} {r['kind']:<15} {r['status']:<9} {r['progress']:>4.0%}  {r['error'] or r['message']}"
        for r in rows) or "no jobs")


@jobs_app.command("cancel")
@cli_errors
def jobs_cancel_cmd(job: int, as_json: bool = JSON) -> None:
    """Cancel a queued job at once; ask a running one to stop (it checks between steps)."""
    from db.engine import session_scope
    from db.jobs import request_cancel

    with session_scope(immediate=True) as s:
        j = request_cancel(s, job)
        out = dict(id=j.id, status=j.status, cancel_requested=j.cancel_requested)
    emit(out, as_json, f"job {job}: {out['status']}{' (stop requested)' if out['cancel_requested'] else ''}")


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
    app.add_typer(users_app, name="users")
    app.add_typer(tags_app, name="tags")
    app.add_typer(audit_app, name="audit")
    app.add_typer(jobs_app, name="jobs")
    app.command("export")(cli_errors(export_cmd))
    app.command("worker")(cli_errors(worker_cmd))
