"""`ganaug review reject-memorized`: a batch's memorized samples rejected in one decision, one event each, on a real
SQLite home; a batch with none left to reject is refused like any decision that would change nothing."""

from __future__ import annotations

import pytest

from db.engine import session_scope
from tests.cli.helpers import ok_json, refused, run
from tests.db.helpers import make_batch, make_dataset, sample_ids

REX = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": "rex-password"}


@pytest.fixture
def team(home):
    """Dataset 'toy', admin ada, reviewer rex, and a pending scored batch with no memorized sample ('b1')."""
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    ok_json("users", "add", "rex", "--role", "reviewer", "--password", "rex-password",
            env={"GANAUG_USER": "ada", "GANAUG_ADMIN_PASSWORD": "ada-password"})
    with session_scope() as s:
        return dict(b1=make_batch(s, home, make_dataset(s, home), n=3).id)


def memorized_batch(home, n: int = 4, memorized=(0, 2), scored: bool = True) -> tuple[int, list[int]]:
    from db.datasets import get_dataset

    with session_scope() as s:
        b = make_batch(s, home, get_dataset(s, "toy"), n=n, memorized=memorized, scored=scored).id
        return b, sample_ids(s, b)


def test_one_command_rejects_every_memorized_sample_and_the_batch_becomes_approvable(team, home):
    batch, ids = memorized_batch(home)
    assert refused("review", "approve", batch, env=REX).endswith(  # the refusal says how
        f"2 memorized sample(s) not yet rejected ({ids[0]}, {ids[2]}); reject them first (`ganaug review "
        f"reject-memorized {batch} --reason ...` rejects them all at once)")
    said = run("review", "reject-memorized", batch, "--reason", "near-copies of training images", env=REX)
    assert said.exit_code == 0, said.output
    first = ok_json("audit", "log", "--limit", "2")["events"][-1]["id"]
    assert said.stdout == (f"rejected 2 memorized sample(s) of batch {batch} ({ids[0]}, {ids[2]}) recorded as event(s) "
                           f"{first}–{first + 1} by rex (reviewer)\n")
    events = ok_json("audit", "log", "--action", "reject_sample")["events"]  # one event per sample, as one by one
    assert sorted((e["target_id"], e["actor"], e["reason"]) for e in events) == [
        (ids[0], "rex", "near-copies of training images"), (ids[2], "rex", "near-copies of training images")]
    assert [s["rejected"] for s in ok_json("review", "samples", batch)["samples"]] == [True, False, True, False]
    assert ok_json("review", "approve", batch, env=REX)["admits"]["admitted"] == 2
    assert ok_json("audit", "verify")["ok"] is True


def test_json_names_every_sample_and_event(team, home):
    batch, ids = memorized_batch(home, n=14, memorized=range(12))
    out = ok_json("review", "reject-memorized", batch, "--reason", " copies ", env=REX)
    assert out["sample_ids"] == ids[:12] and len(out["event_ids"]) == 12
    assert (out["batch_id"], out["actor"], out["role"], out["reason"]) == (batch, "rex", "reviewer", "copies")
    line = run("review", "samples", batch, "--memorized").stdout  # the text line names ten, then "..."
    assert line.count("MEMORIZED") == 12


def test_nothing_left_to_reject_is_refused_and_writes_nothing(team, home):
    batch, ids = memorized_batch(home)
    before = ok_json("audit", "verify")["checked"]
    assert refused("review", "reject-memorized", team["b1"], "--reason", "x", env=REX) == (
        f"error: batch {team['b1']} has no memorized sample left to reject")
    assert refused("review", "reject-memorized", batch, "--reason", "  ", env=REX) == (
        f"error: a reason is required to reject the memorized samples of batch {batch}")
    assert "missing option '--reason'" in refused("review", "reject-memorized", batch, env=REX)
    unscored, _ = memorized_batch(home, scored=False)
    assert refused("review", "reject-memorized", unscored, "--reason", "x", env=REX) == (
        f"error: batch {unscored} has not been scored, so memorization was never checked: run "
        f"`ganaug evaluate batch {unscored}` first")
    assert refused("review", "reject-memorized", 999, "--reason", "x", env=REX) == "error: unknown batch 999"
    assert ok_json("audit", "verify")["checked"] == before
    ok_json("review", "reject-sample", ids[0], "--reason", "copy", env=REX)
    ok_json("review", "reject-memorized", batch, "--reason", "copy too", env=REX)  # the one left open
    assert refused("review", "reject-memorized", batch, "--reason", "x", env=REX) == (
        f"error: batch {batch} has no memorized sample left to reject: its 2 memorized sample(s) are already rejected")
    ok_json("review", "reject", batch, "--reason", "all wrong", env=REX)
    assert refused("review", "reject-memorized", batch, "--reason", "x", env=REX).startswith(
        f"error: batch {batch} is rejected: none of its samples can be used anyway (rex rejected it at ")


def test_help_says_what_it_does():
    out = " ".join(run("review", "reject-memorized", "--help").stdout.split())  # rich wraps at the terminal's width
    assert "Reject every memorized sample of a batch not rejected yet, in one decision" in out
    assert "A batch with none left to reject is refused (exit status 2)" in out
    assert "reject-memorized" in run("review", "--help").stdout


def _rescored(sample_id: int, memorized: bool) -> None:
    """What `ganaug evaluate batch N --rescore` does to one sample's flag."""
    from db.models import Sample

    with session_scope() as s:
        s.get(Sample, sample_id).memorized = memorized


def test_expect_refuses_when_a_rescore_changed_how_many_are_open_and_writes_nothing(team, home):
    batch, ids = memorized_batch(home)  # a script looked: 2 open (ids 0 and 2)
    _rescored(ids[1], True)  # a rescore between looking and rejecting flags a third
    before = ok_json("audit", "verify")["checked"]
    assert refused("review", "reject-memorized", batch, "--reason", "copies", "--expect", 2, env=REX) == (
        f"error: batch {batch} has 3 memorized sample(s) not yet rejected ({ids[0]}, {ids[1]}, {ids[2]}), not the 2 "
        "--expect said (scored again or decided on since you looked?); nothing was recorded: look again with "
        f"`ganaug review samples {batch} --memorized`")
    assert ok_json("audit", "verify")["checked"] == before
    assert not any(s["rejected"] for s in ok_json("review", "samples", batch)["samples"])
    out = ok_json("review", "reject-memorized", batch, "--reason", "copies", "--expect", 3, env=REX)
    assert out["sample_ids"] == ids[:3]
    assert "must be 0 or more" in refused("review", "reject-memorized", batch, "--reason", "x", "--expect", -1, env=REX)


def test_sample_rejects_only_the_ones_named_and_refuses_one_no_longer_flagged(team, home):
    batch, ids = memorized_batch(home)
    _rescored(ids[1], True)  # flagged after the script looked: it stays open, unseen
    out = ok_json("review", "reject-memorized", batch, "--reason", "copies", "--sample", ids[0], "--sample", ids[2],
                  env=REX)
    assert out["sample_ids"] == [ids[0], ids[2]] and len(out["event_ids"]) == 2
    assert [s["rejected"] for s in ok_json("review", "samples", batch)["samples"]] == [True, False, True, False]
    _rescored(ids[1], False)  # and no longer flagged by the time it is named
    assert refused("review", "reject-memorized", batch, "--reason", "x", "--sample", ids[1], env=REX) == (
        f"error: sample {ids[1]} is no longer flagged as memorized (its batch was scored again); nothing was "
        "recorded: look at the batch again")


def test_help_names_expect_and_sample():
    out = " ".join(run("review", "reject-memorized", "--help").stdout.split())
    assert "--expect" in out and "--sample" in out
    assert "refused (exit status 2) when the batch has another number open" in out
