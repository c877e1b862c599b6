"""`ganaug users` and `ganaug tags`: the accounts that sign decisions (and the names guessed at in the app's sign-in
form) and the artifact tag taxonomy.

Every change is made by an authenticated admin (or, for a password, the account itself; the first admin needs no
login) and recorded in the decision log like a review decision, with its author and an optional reason.
"""

from __future__ import annotations

import os
from typing import Optional

import typer

from ganaug.cli.common import Commands, JSON, USER, UserError, cli_errors, echo, emit, login, read_password
from ganaug.cli.line_width import wrapped_note
from ganaug.shown_text import one_line
from ganaug_core.shown_text import utc_time

users_app = typer.Typer(cls=Commands, no_args_is_help=True, help="Reviewer and admin accounts.")
tags_app = typer.Typer(cls=Commands, no_args_is_help=True, help="The artifact tag taxonomy.")

ACCOUNT = typer.Argument(..., help="The account's name (`ganaug users list`)")
NEW_ACCOUNT = typer.Argument(..., help="The new account's name: 1 to 100 printable characters, no spaces")
TAG = typer.Argument(..., help="The tag's name (`ganaug tags list --all`)")
REASON = typer.Option(None, "--reason", help="Why: recorded with the change in the decision log")


@users_app.command("add")
@cli_errors
def users_add_cmd(
    name: str = NEW_ACCOUNT,
    role: str = typer.Option("reviewer", "--role", help="reviewer or admin"),
    password: Optional[str] = typer.Option(None, "--password", help="The new password (else $GANAUG_PASSWORD or a "
                                           "prompt; given here, other accounts of the machine see it in `ps`, and a "
                                           "warning says so)"),
    reason: Optional[str] = REASON,
    user: Optional[str] = typer.Option(None, "--user", help="The admin adding the account, once one exists "
                                       "(default: $GANAUG_USER; password from $GANAUG_ADMIN_PASSWORD or a prompt)"),
    as_json: bool = JSON,
) -> None:
    """Create an account. The first admin needs no login; after that an admin must authenticate.

    Example: ganaug users add bob --user alice (a reviewer; alice, an admin, signs)"""
    from db.engine import session_scope
    from db.users import ROLES, add_user, has_active_admin

    if role not in ROLES:
        raise UserError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    if password is not None:
        warn_password_option("set GANAUG_PASSWORD, pipe it on stdin, or leave --password out to be asked")
    with session_scope() as s:
        bootstrap = not has_active_admin(s)
    admin = None if bootstrap else login(user, password_env="GANAUG_ADMIN_PASSWORD")
    if password is None:
        password = os.environ.get("GANAUG_PASSWORD") or None
    if password is None:
        password = read_password(f"new password for {name}", "no password given: type it at the prompt of a "
                                 f"terminal, set GANAUG_PASSWORD or pipe it on stdin ({PASSWORD_OPTION_LAST})",
                                 confirm=True)
    _not_the_signers(password, admin, name)
    with session_scope(immediate=True) as s:
        created = add_user(s, name, password, role=role, by=admin, reason=reason)
        out = dict(user_id=created.id, name=created.name, role=created.role, created_by=admin.name if admin else None)
    emit(out, as_json, f"added {out['role']} {out['name']!r}")


# A refusal names --password last, with why: it came first, though README discourages a password on the command line.
PASSWORD_OPTION_LAST = "--password works too, but puts it in `ps` and the shell's history"


def warn_password_option(instead: str) -> None:
    """Said of --password, kept for the scripts that pass it: the command line is no place for a password."""
    # Wrapped as every other note is: it was one line of 241 columns.
    echo(wrapped_note("warning: --password puts the password on the command line, where every account of this machine "
                      f"sees it while the command runs (`ps`) and the shell's history keeps it; {instead}"), err=True)


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

    admin = login(user)
    with session_scope(immediate=True) as s:
        name = set_active(s, name, active, by=admin, reason=reason).name
    emit(dict(name=name, active=active), as_json, f"{name!r} is now {'active' if active else 'disabled'}")


@users_app.command("disable")
@cli_errors
def users_disable_cmd(name: str = ACCOUNT, reason: Optional[str] = REASON, user: Optional[str] = USER,
                      as_json: bool = JSON) -> None:
    """Disable an account (admins only): it can no longer sign decisions; its past decisions stay."""
    _set_active(name, False, reason, user, as_json)


@users_app.command("enable")
@cli_errors
def users_enable_cmd(name: str = ACCOUNT, reason: Optional[str] = REASON, user: Optional[str] = USER,
                     as_json: bool = JSON) -> None:
    """Re-enable a disabled account (admins only)."""
    _set_active(name, True, reason, user, as_json)


@users_app.command("password")
@cli_errors
def users_password_cmd(
    name: str = ACCOUNT,
    password: Optional[str] = typer.Option(None, "--password", help="The new password (else a prompt; given here, "
                                           "other accounts of the machine see it in `ps`, and a warning says so)"),
    reason: Optional[str] = REASON,
    user: Optional[str] = typer.Option(None, "--user", help="Who sets it: an admin resetting a forgotten password, "
                                       "or NAME itself (default: $GANAUG_USER, else NAME; its current password "
                                       "from $GANAUG_PASSWORD or a prompt)"),
    as_json: bool = JSON,
) -> None:
    """Set a new password: an admin resets anyone's, anyone changes their own. The account's app sign-ins end."""
    from db.engine import session_scope
    from db.users import set_password

    if password is not None:
        warn_password_option("pipe it on stdin, or leave --password out to be asked")
    me = login(user or os.environ.get("GANAUG_USER") or name)
    if password is None:  # never $GANAUG_PASSWORD: that is the password of whoever signs
        password = read_password(f"new password for {name}", "no new password given: type it at the prompt of a "
                                 f"terminal or pipe it on stdin ({PASSWORD_OPTION_LAST})", confirm=True)
    _not_the_signers(password, me, name)
    with session_scope(immediate=True) as s:
        changed = set_password(s, name, password, by=me, reason=reason)
        out = dict(name=changed.name, set_by=me.name)
    emit(out, as_json, f"new password set for {out['name']!r} by {out['set_by']!r}; its app sign-ins have ended")


@users_app.command("role")
@cli_errors
def users_role_cmd(name: str = ACCOUNT, role: str = typer.Argument(..., help="reviewer or admin"),
                   reason: Optional[str] = REASON, user: Optional[str] = USER, as_json: bool = JSON) -> None:
    """Make an account a reviewer or an admin (admins only). Its app sign-ins end."""
    from db.engine import session_scope
    from db.users import ROLES, set_role

    if role not in ROLES:
        raise UserError(f"ROLE must be one of {', '.join(ROLES)}, not {role!r}")
    admin = login(user)
    with session_scope(immediate=True) as s:
        changed = set_role(s, name, role, by=admin, reason=reason)
        out = dict(name=changed.name, role=changed.role)
    emit(out, as_json, f"{out['name']!r} is now a{'n' if role == 'admin' else ''} {role}; its app sign-ins have ended")


@users_app.command("list")
@cli_errors
def users_list_cmd(as_json: bool = JSON) -> None:
    """Every account with its role and whether it is active."""
    from db.engine import session_scope
    from db.users import list_users

    with session_scope() as s:
        rows = [dict(name=u.name, role=u.role, active=u.active) for u in list_users(s)]
    emit({"users": rows}, as_json, "\n".join(f"{one_line(r['name']):<20} {r['role']:<9} "
                                             f"{'active' if r['active'] else 'disabled'}" for r in rows)
         or "no users yet: the first is an admin, `ganaug users add NAME --role admin`")


@users_app.command("failed-sign-ins")
@cli_errors
def users_failed_sign_ins_cmd(as_json: bool = JSON) -> None:
    """Names typed into the app's sign-in form with wrong passwords in the last 15 minutes (every app process of the
    team), from how many addresses, and whether the form refuses them now (from one address at least)."""
    from db.engine import session_scope
    from db.sign_ins import failed_sign_ins as throttle

    with session_scope() as s:
        rows = [dict(r, last_try=_iso(r["last_try"]), locked_until=_iso(r["locked_until"])) for r in throttle.recent(s)]
    lines = [f"{_shown(r['name']):<20} {r['tries']:>2} wrong, last {utc_time(r['last_try'])}"
             + (f", from {r['addresses']} addresses" if r["addresses"] > 1 else "")
             + (f"; refused until {utc_time(r['locked_until'])}" if r["locked"] else "") for r in rows]
    emit(dict(minutes=throttle.minutes, limit=throttle.limit, name_limit=throttle.name_limit, failed_sign_ins=rows),
         as_json,
         "\n".join(lines) or f"no wrong passwords in the last {throttle.minutes:g} minutes")


def _iso(t) -> Optional[str]:
    return None if t is None else t.isoformat(timespec="seconds")


def _shown(name: Optional[str]) -> str:
    """An account's name as stored: a control character (a terminal's escape) shows as an escape. A name that is no
    account's is not kept (it may be a password typed into the name box)."""
    return "(no account)" if name is None else one_line(name)


@users_app.command("unlock")
@cli_errors
def users_unlock_cmd(name: str = ACCOUNT, reason: Optional[str] = REASON, user: Optional[str] = USER,
                     as_json: bool = JSON) -> None:
    """Forget an account's wrong passwords, so that the app's sign-in form takes its name again at once (admins
    only; recorded in the decision log)."""
    from db.engine import session_scope
    from db.sign_ins import failed_sign_ins as throttle

    admin = login(user)
    with session_scope(immediate=True) as s:
        account, gone = throttle.unlock(s, name, by=admin, reason=reason)
        name = account.name
    emit(dict(name=name, forgotten=gone), as_json,
         f"{name!r}: {gone} wrong password{'s' * (gone != 1)} forgotten; the app's sign-in form takes it again")


@tags_app.command("list")
@cli_errors
def tags_list_cmd(show_all: bool = typer.Option(False, "--all", metavar="", help="Retired tags too"),
                  as_json: bool = JSON) -> None:
    """The artifact tags reviewers can use; blocking tags keep a sample out of training."""
    from db.engine import session_scope
    from db.tags import list_tags

    with session_scope() as s:
        rows = [dict(name=t.name, blocking=t.blocking, active=t.active, description=t.description)
                for t in list_tags(s, include_inactive=show_all)]
    # The name column as wide as the longest name (20 at most): at 20 the default taxonomy's first line was 81
    # columns. One line per tag, its description whole.
    width = min(20, max([len(one_line(r["name"])) for r in rows], default=0))
    emit({"tags": rows}, as_json, "\n".join(f"{one_line(r['name']):<{width}} "
                                             f"{'blocking' if r['blocking'] else '        '}  "
                                             f"{'' if r['active'] else '(retired) '}{one_line(r['description'])}"
                                             for r in rows))


@tags_app.command("add")
@cli_errors
def tags_add_cmd(name: str = typer.Argument(..., help="The new tag's name: 1 to 64 printable characters"),
                 description: str = typer.Option("", "--description", help="What the tag means, for reviewers "
                                                 "(`tags list` and the app's Admin page show it)"),
                 blocking: bool = typer.Option(True, "--blocking/--non-blocking", metavar="",
                                               help="Whether a sample with the tag is kept out of training"),
                 reason: Optional[str] = REASON, user: Optional[str] = USER, as_json: bool = JSON) -> None:
    """Add a tag to the taxonomy (admins only); it is never renamed nor made (non-)blocking: retire it, add another.

    Example: ganaug tags add smear --description "a smudge across the lesion" --user alice"""
    from db.engine import session_scope
    from db.tags import add_tag

    admin = login(user)
    with session_scope(immediate=True) as s:
        tag = add_tag(s, name, admin, blocking=blocking, description=description, reason=reason)
        out = dict(tag_id=tag.id, name=tag.name, blocking=tag.blocking)
    emit(out, as_json, f"added tag {out['name']!r} ({'blocking' if out['blocking'] else 'non-blocking'})")


def _set_tag_active(name: str, active: bool, reason: Optional[str], user: Optional[str], as_json: bool) -> None:
    from db.engine import session_scope
    from db.tags import set_tag_active

    admin = login(user)
    with session_scope(immediate=True) as s:
        name = set_tag_active(s, name, active, admin, reason=reason).name
    emit(dict(name=name, active=active), as_json, f"tag {name!r} is {'in use again' if active else 'retired'}")


@tags_app.command("retire")
@cli_errors
def tags_retire_cmd(name: str = TAG, reason: Optional[str] = REASON, user: Optional[str] = USER,
                    as_json: bool = JSON) -> None:
    """Retire a tag (admins only): no new sample gets it; the samples that carry it keep it, and its effect."""
    _set_tag_active(name, False, reason, user, as_json)


@tags_app.command("restore")
@cli_errors
def tags_restore_cmd(name: str = TAG, reason: Optional[str] = REASON, user: Optional[str] = USER,
                     as_json: bool = JSON) -> None:
    """Put a retired tag back in use (admins only)."""
    _set_tag_active(name, True, reason, user, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(tags_app, name="tags")
