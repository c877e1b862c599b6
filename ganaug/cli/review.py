"""`ganaug review | users | tags | jobs` and `ganaug worker` (`audit` and `export`: ganaug/cli/audit.py).

Every decision authenticates its author: the name from --user or GANAUG_USER, the password from GANAUG_PASSWORD
or a prompt. Refused decisions print one line and exit 2 with nothing written.
"""

from __future__ import annotations

import os
from typing import Optional

import typer

from ganaug.cli.audit import tag_of
from ganaug.cli.common import JSON, UserError, class_label, cli_errors, emit, read_password

review_app = typer.Typer(no_args_is_help=True, help="Approve, reject or revoke batches; reject and tag samples.")
users_app = typer.Typer(no_args_is_help=True, help="Reviewer and admin accounts.")
tags_app = typer.Typer(no_args_is_help=True, help="The artifact tag taxonomy.")
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
        tag = tag_of(event.details)
    emit(out, as_json, f"{out['action']}{tag} {out['target_type']} {out['target_id']} recorded as event "
                       f"{out['event_id']} by {out['actor']} ({out['role']}) at {out['ts']}")


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


@review_app.command("restore-sample")
@cli_errors
def restore_sample_cmd(sample: int, reason: str = typer.Option(..., "--reason"), user: Optional[str] = USER,
                       as_json: bool = JSON) -> None:
    """Withdraw a sample's rejection while its batch is pending (the rejection stays in the log)."""
    from db.review import restore_sample

    _decision(restore_sample, sample, user, as_json, reason=reason)


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
    descending: bool = typer.Option(False, "--desc", metavar=""), tag: Optional[str] = typer.Option(None, "--tag"),
    memorized: Optional[bool] = typer.Option(None, "--memorized/--not-memorized", metavar=""), as_json: bool = JSON,
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
    reason: Optional[str] = typer.Option(None, "--reason"),
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
    _not_the_signers(password, admin, name)
    with session_scope(immediate=True) as s:
        created = add_user(s, name, password, role=role, by=admin, reason=reason)
        out = dict(user_id=created.id, name=created.name, role=created.role, created_by=admin.name if admin else None)
    emit(out, as_json, f"added {out['role']} {out['name']!r}")


def _not_the_signers(password: str, signer, name: str) -> None:
    """Refuse to give an account the password of the admin who signs: an admin who exported GANAUG_USER and
    GANAUG_PASSWORD for their decisions would otherwise hand their own password to every account they add."""
    from db.users import verify_password

    if signer is not None and signer.name.casefold() != name.strip().casefold() \
            and verify_password(signer.password_hash, password or ""):
        raise UserError(f"the password for {name!r} is {signer.name}'s own (is it in GANAUG_PASSWORD?): pass "
                        "--password, or unset GANAUG_PASSWORD to be asked")


def _set_active(name: str, active: bool, reason: Optional[str], user: Optional[str], as_json: bool) -> None:
    from db.engine import session_scope
    from db.users import set_active

    admin = _login(user)
    with session_scope(immediate=True) as s:
        name = set_active(s, name, active, by=admin, reason=reason).name
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


@users_app.command("password")
@cli_errors
def users_password_cmd(
    name: str,
    password: Optional[str] = typer.Option(None, "--password", help="The new password (else a prompt)"),
    reason: Optional[str] = typer.Option(None, "--reason"),
    user: Optional[str] = typer.Option(None, "--user", help="Who sets it: an admin resetting a forgotten password, "
                                       "or NAME itself (default: $GANAUG_USER, else NAME; its current password "
                                       "from $GANAUG_PASSWORD or a prompt)"),
    as_json: bool = JSON,
) -> None:
    """Set a new password: an admin resets anyone's, anyone changes their own. The account's app sign-ins end."""
    from db.engine import session_scope
    from db.users import set_password

    me = _login(user or os.environ.get("GANAUG_USER") or name)
    if password is None:  # never $GANAUG_PASSWORD: that is the password of whoever signs
        password = read_password(f"new password for {name}", "no new password given: pass --password or run in a "
                                 "terminal", confirm=True)
    _not_the_signers(password, me, name)
    with session_scope(immediate=True) as s:
        changed = set_password(s, name, password, by=me, reason=reason)
        out = dict(name=changed.name, set_by=me.name)
    emit(out, as_json, f"new password set for {out['name']!r} by {out['set_by']!r}; its app sign-ins have ended")


@users_app.command("role")
@cli_errors
def users_role_cmd(name: str, role: str, reason: Optional[str] = typer.Option(None, "--reason"),
                   user: Optional[str] = USER, as_json: bool = JSON) -> None:
    """Make an account a reviewer or an admin (admins only). Its app sign-ins end."""
    from db.engine import session_scope
    from db.users import ROLES, set_role

    if role not in ROLES:
        raise UserError(f"ROLE must be one of {', '.join(ROLES)}, not {role!r}")
    admin = _login(user)
    with session_scope(immediate=True) as s:
        changed = set_role(s, name, role, by=admin, reason=reason)
        out = dict(name=changed.name, role=changed.role)
    emit(out, as_json, f"{out['name']!r} is now a{'n' if role == 'admin' else ''} {role}")


@users_app.command("list")
@cli_errors
def users_list_cmd(as_json: bool = JSON) -> None:
    """Every account with its role and whether it is active."""
    from db.engine import session_scope
    from db.users import list_users

    with session_scope() as s:
        rows = [dict(name=u.name, role=u.role, active=u.active) for u in list_users(s)]
    emit({"users": rows}, as_json, "\n".join(f"{r['name']:<20} {r['role']:<9} {'active' if r['active'] else 'disabled'}"
                                             for r in rows)
         or "no users yet: the first is an admin, `ganaug users add NAME --role admin`")


@tags_app.command("list")
@cli_errors
def tags_list_cmd(show_all: bool = typer.Option(False, "--all", help="Retired tags too"), as_json: bool = JSON) -> None:
    """The artifact tags reviewers can use; blocking tags keep a sample out of training."""
    from db.engine import session_scope
    from db.review import list_tags

    with session_scope() as s:
        rows = [dict(name=t.name, blocking=t.blocking, active=t.active, description=t.description)
                for t in list_tags(s, include_inactive=show_all)]
    emit({"tags": rows}, as_json, "\n".join(f"{r['name']:<20} {'blocking' if r['blocking'] else '        '}  "
                                             f"{'' if r['active'] else '(retired) '}{r['description']}" for r in rows))


@tags_app.command("add")
@cli_errors
def tags_add_cmd(name: str, description: str = typer.Option("", "--description"),
                 blocking: bool = typer.Option(True, "--blocking/--non-blocking", metavar=""),
                 reason: Optional[str] = typer.Option(None, "--reason"), user: Optional[str] = USER,
                 as_json: bool = JSON) -> None:
    """Add a tag to the taxonomy (admins only). A tag is never renamed nor switched (non-)blocking: retire it and
    add another."""
    from db.engine import session_scope
    from db.review import add_tag

    admin = _login(user)
    with session_scope(immediate=True) as s:
        tag = add_tag(s, name, admin, blocking=blocking, description=description, reason=reason)
        out = dict(tag_id=tag.id, name=tag.name, blocking=tag.blocking)
    emit(out, as_json, f"added tag {out['name']!r} ({'blocking' if out['blocking'] else 'non-blocking'})")


def _set_tag_active(name: str, active: bool, reason: Optional[str], user: Optional[str], as_json: bool) -> None:
    from db.engine import session_scope
    from db.review import set_tag_active

    admin = _login(user)
    with session_scope(immediate=True) as s:
        name = set_tag_active(s, name, active, admin, reason=reason).name
    emit(dict(name=name, active=active), as_json, f"tag {name!r} is {'in use again' if active else 'retired'}")


@tags_app.command("retire")
@cli_errors
def tags_retire_cmd(name: str, reason: Optional[str] = typer.Option(None, "--reason"), user: Optional[str] = USER,
                    as_json: bool = JSON) -> None:
    """Retire a tag (admins only): no new sample gets it; the samples that carry it keep it, and its effect."""
    _set_tag_active(name, False, reason, user, as_json)


@tags_app.command("restore")
@cli_errors
def tags_restore_cmd(name: str, reason: Optional[str] = typer.Option(None, "--reason"), user: Optional[str] = USER,
                     as_json: bool = JSON) -> None:
    """Put a retired tag back in use (admins only)."""
    _set_tag_active(name, True, reason, user, as_json)


def worker_cmd(poll: float = typer.Option(1.0, "--poll", help="Seconds between looks at an empty queue")) -> None:
    """Run queued jobs (training, generation, scoring, benchmarks) until interrupted."""
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
    from db.jobs import fail_stale_jobs, list_jobs
    from ganaug.worker import STALE_AFTER_S

    with session_scope(immediate=True) as s:  # a job whose worker was killed is not "running", worker or no worker
        fail_stale_jobs(s, STALE_AFTER_S)
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
    app.add_typer(jobs_app, name="jobs")
    app.command("worker")(cli_errors(worker_cmd))
