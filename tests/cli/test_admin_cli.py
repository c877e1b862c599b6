"""`ganaug users password | role` and `ganaug tags retire | restore | list --all`: what a team's admin runs, each
change in `audit log` under its author, each refusal one line and exit status 2."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import ok_json, refused, run

ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password", "GANAUG_ADMIN_PASSWORD": "ada-password"}
REX = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": "rex-password"}
NO_SIGNER = {"GANAUG_USER": None, "GANAUG_PASSWORD": None, "GANAUG_ADMIN_PASSWORD": None}


@pytest.fixture(autouse=True)
def no_signer_in_the_environment(monkeypatch):
    """Each command signs as the `env` it is given, never as whoever runs the tests."""
    for name in NO_SIGNER:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def staff(home):
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    ok_json("users", "add", "Rex", "--password", "rex-password", "--reason", "joins the review", env=ADA)


def test_an_admin_resets_a_forgotten_password_and_a_reviewer_changes_their_own(staff):
    out = ok_json("users", "password", "rex", "--password", "reset-by-ada", "--reason", "forgot it", env=ADA)
    assert out == {"name": "Rex", "set_by": "ada"}
    assert "wrong password" in refused("users", "password", "rex", "--password", "whatever1", env=REX)
    # Rex, alone at a pipe: the current password on the first line, the new one on the second.
    result = run("users", "password", "rex", input="reset-by-ada\nrex-own-choice\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "new password set for 'Rex' by 'Rex'; its app sign-ins have ended\n"
    rex = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": "rex-own-choice"}
    assert refused("users", "password", "ada", "--password", "taken-over", env=rex) == (
        "error: 'Rex' is a reviewer; only an admin may reset another account's password")
    assert refused("users", "password", "rex", "--password", "short", env=ADA) == (
        "error: the password must have at least 8 characters")
    log = run("audit", "log", "--action", "set_password", "--json")
    assert [(e["actor"], e["reason"]) for e in json.loads(log.stdout)["events"]] == [("Rex", None), ("ada", "forgot it")]
    assert not any(p in log.stdout for p in ("reset-by-ada", "rex-own-choice", "scrypt$"))


def test_users_role_promotes_and_demotes_with_one_line_refusals(staff):
    assert ok_json("users", "role", "REX", "admin", "--reason", "co-lead", env=ADA) == {"name": "Rex", "role": "admin"}
    assert refused("users", "role", "rex", "owner", env=ADA) == "error: ROLE must be one of reviewer, admin, not 'owner'"
    assert refused("users", "role", "ada", "reviewer", env=ADA) == (
        "error: an admin cannot demote themselves: ask another admin")
    rex = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": "rex-password"}
    assert ok_json("users", "role", "ada", "reviewer", env=rex)["role"] == "reviewer"
    assert refused("users", "role", "rex", "reviewer", env=rex) == (
        "error: 'Rex' is the last active admin and cannot be made a reviewer")
    assert run("users", "list").stdout.split() == ["ada", "reviewer", "active", "Rex", "admin", "active"]
    assert run("audit", "log", "--action", "add_user").stdout.splitlines()[0].endswith("(Rex)  — joins the review")
    lines = run("audit", "log", "--action", "set_role").stdout.splitlines()
    # after the event's id and its time, '2026-12-07 22:19:31 UTC' (as every human line gives it)
    assert [line.split()[4:] for line in lines] == [["Rex", "set_role", "user", "1", "(ada)"],
                                                    ["ada", "set_role", "user", "2", "(Rex)", "—", "co-lead"]]


def test_users_role_says_that_the_accounts_app_sign_ins_have_ended(staff):
    """They end (the app shows the new role's pages), as after `users password`, which said so; `users role` did not."""
    result = run("users", "role", "rex", "admin", env=ADA)
    assert result.exit_code == 0, result.output
    assert result.stdout == "'Rex' is now an admin; its app sign-ins have ended\n"


def test_tags_retire_and_restore_and_the_list_shows_retired_ones(staff):
    assert refused("tags", "add", "Blur", env=ADA) == (
        "error: tag 'blur' already exists, and tag names must differ by more than letter case")
    assert ok_json("tags", "retire", "Blur", "--reason", "use smear instead", env=ADA) == {"name": "blur",
                                                                                           "active": False}
    assert "blur" not in [t["name"] for t in ok_json("tags", "list")["tags"]]
    retired = [line for line in run("tags", "list", "--all").stdout.splitlines() if line.startswith("blur ")]
    assert len(retired) == 1 and "blocking  (retired) Blurred" in retired[0]
    assert refused("tags", "retire", "blur", env=ADA) == "error: tag 'blur' is already retired"
    assert refused("tags", "retire", "blur", env=REX) == "error: 'Rex' is a reviewer; only admin may edit the tag taxonomy"
    assert ok_json("tags", "restore", "blur", env=ADA)["active"] is True
    lines = run("audit", "log", "--target-type", "tag").stdout.splitlines()
    assert [line.split()[4:] for line in lines] == [["ada", "restore_tag", "tag", "2", "[blur]"],
                                                    ["ada", "retire_tag", "tag", "2", "[blur]", "—", "use", "smear",
                                                     "instead"]]


def test_an_admin_with_their_own_password_exported_does_not_hand_it_to_a_new_account(staff):
    # GANAUG_USER and GANAUG_PASSWORD exported for the admin's decisions; the admin's password typed at the prompt.
    env = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password"}
    assert refused("users", "add", "frank", env=env, input="ada-password\n") == (
        "error: the password for 'frank' is ada's own (is it in GANAUG_PASSWORD?): pass --password, or unset "
        "GANAUG_PASSWORD to be asked")
    assert "the password for 'rex' is ada's own" in refused("users", "password", "rex", "--password", "ada-password",
                                                             env=env)
    assert [u["name"] for u in ok_json("users", "list")["users"]] == ["ada", "Rex"]


def test_an_admin_lists_the_names_guessed_at_and_unlocks_an_account(staff):
    """The app's wrong passwords were in its process memory: no command could show or clear them."""
    from db.engine import session_scope
    from db.sign_ins import MAX_FAILED_SIGN_INS, failed_sign_ins

    assert run("users", "failed-sign-ins").stdout == "no wrong passwords in the last 15 minutes\n"
    for name in ["REX"] * MAX_FAILED_SIGN_INS + ["mallory"]:  # what the sign-in form writes for each guess
        with session_scope(immediate=True) as s:
            failed_sign_ins.start(s, name)
    out = ok_json("users", "failed-sign-ins")
    assert (out["minutes"], out["limit"]) == (15, MAX_FAILED_SIGN_INS)
    assert [(r["name"], r["tries"], r["locked"], r["locked_until"] is not None) for r in out["failed_sign_ins"]] == [
        (None, 1, False, False), ("rex", MAX_FAILED_SIGN_INS, True, True)]  # "mallory" is no account: not kept
    lines = run("users", "failed-sign-ins").stdout.splitlines()
    assert [line.split()[:4] for line in lines] == [["(no", "account)", "1", "wrong,"], ["rex", "5", "wrong,", "last"]]
    assert "refused until" in lines[1] and "refused" not in lines[0]
    with session_scope(immediate=True) as s:
        failed_sign_ins.start(s, "wipe\x1b[2J")  # typed by anyone: nothing of it reaches the admin's screen
    assert run("users", "failed-sign-ins").stdout.splitlines()[0].split()[:2] == ["(no", "account)"]

    assert refused("users", "unlock", "rex", env=REX) == (
        "error: 'Rex' is a reviewer; only admin may clear a sign-in lock")
    assert refused("users", "unlock", "mallory", env=ADA) == (
        "error: unknown user 'mallory': only an account's lock can be cleared (another name's ends 15 minutes after "
        "its tries)")
    assert ok_json("users", "unlock", "rex", "--reason", "called the help desk", env=ADA) == {"name": "Rex",
                                                                                            "forgotten": 5}
    assert refused("users", "unlock", "rex", env=ADA) == (
        "error: 'Rex' has no wrong passwords in the last 15 minutes: nothing to clear")
    assert [r["name"] for r in ok_json("users", "failed-sign-ins")["failed_sign_ins"]] == [None, None]
    lines = run("audit", "log", "--action", "unlock_sign_in").stdout.splitlines()
    assert [line.split()[4:] for line in lines] == [["ada", "unlock_sign_in", "user", "2", "(Rex)", "—", "called",
                                                     "the", "help", "desk"]]


def test_password_on_the_command_line_is_warned_of_and_still_works(home):
    # Other accounts of the machine read a command line in `ps`; scripts pass --password, so it stays, warned of.
    added = run("users", "add", "ada", "--role", "admin", "--password", "ada-password", "--json")
    assert added.exit_code == 0 and json.loads(added.stdout)["name"] == "ada", added.output
    # Wrapped at 80 columns as every other note is (it was one line of 241)
    assert max(map(len, added.stderr.splitlines())) <= 80 and " ".join(added.stderr.split()) == (
        "warning: --password puts the password on the command line, where every account of this machine sees it "
        "while the command runs (`ps`) and the shell's history keeps it; set GANAUG_PASSWORD, pipe it on stdin, or "
        "leave --password out to be asked"), added.stderr
    changed = run("users", "password", "ada", "--password", "ada-new-password", env=ADA)
    assert changed.exit_code == 0, changed.output
    assert max(map(len, changed.stderr.splitlines())) <= 80 and " ".join(changed.stderr.split()) == (
        "warning: --password puts the password on the command line, where every account of this machine sees it "
        "while the command runs (`ps`) and the shell's history keeps it; pipe it on stdin, or leave --password out "
        "to be asked"), changed.stderr
    quiet = run("users", "add", "rex", "--json", env={"GANAUG_USER": "ada", "GANAUG_PASSWORD": "rex-password",
                                                      "GANAUG_ADMIN_PASSWORD": "ada-new-password"})
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.output  # GANAUG_PASSWORD: nothing to warn of
