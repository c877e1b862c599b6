"""What `ganaug review samples` tells a reviewer on the command line beside the page: the samples the page left out,
and a run whose diversity monitor flagged the batch's class (as the Review page warns above its grid)."""

from __future__ import annotations

import json

from db.engine import session_scope
from tests.cli.helpers import run
from tests.db.helpers import make_batch, make_dataset


def batch_of(home, n: int) -> int:
    """A pending scored batch of `n` samples of class 1 ('c1') from run 1, whose folder is runs/1."""
    with session_scope() as s:
        toy = make_dataset(s, home)
        return make_batch(s, home, toy, n=n).id


def test_a_page_says_how_many_samples_it_left_out_and_which_page_shows_them(home):
    batch = batch_of(home, 5)
    # A batch of 64 listed 48 and said nothing of the other 16; a page past the last printed its header alone.
    first = run("review", "samples", batch, "--per-page", 2)
    assert first.exit_code == 0, first.output
    assert first.stdout.strip().splitlines()[-1] == "samples 1–2 of 5 shown: --page 1 --per-page 2 shows the next 2"
    last = run("review", "samples", batch, "--per-page", 2, "--page", 2)
    assert last.stdout.splitlines()[-1].split()[:2] == ["5", "0.700"], last.stdout  # the last page: nothing more
    past = run("review", "samples", batch, "--per-page", 2, "--page", 9)
    assert past.exit_code == 0, past.output
    assert past.stdout.strip().splitlines()[-1] == "page 9 is past the last: 5 samples make 3 pages of 2 (--page 0 to 2)"
    whole = run("review", "samples", batch)
    assert "shown" not in whole.stdout and "past the last" not in whole.stdout, whole.stdout
    out = json.loads(run("review", "samples", batch, "--per-page", 2, "--json").stdout)
    assert out["total"] == 5 and len(out["samples"]) == 2  # stdout stays the one JSON object


def test_a_batch_of_a_class_the_run_flagged_as_collapsed_is_warned_of(home):
    batch = batch_of(home, 2)
    stats = home / "runs" / "1" / "stats.jsonl"
    stats.parent.mkdir(parents=True)
    assert "diversity monitor" not in run("review", "samples", batch).stderr  # no reading: nothing to say

    stats.write_text(json.dumps({"step": 600, "diversity": {"0": 0.9, "1": 0.1}, "collapsed": [1]}) + "\n")
    result = run("review", "samples", batch, "--json")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the warning goes to stderr
    said = " ".join(result.stderr.split())
    assert ("warning: run 1 ended with class 1 (c1) flagged by its diversity monitor: its samples' spread is 0.10 of "
            "real (possible mode collapse: many samples alike)") in said, result.stderr
    assert "`ganaug train --resume 1 --minutes M`" in result.stderr  # the command kept whole on its line
    assert max(map(len, result.stderr.splitlines())) <= 80

    stats.write_text(json.dumps({"step": 250, "diversity": {"0": 0.2, "1": 0.2}, "collapsed": [0, 1]}) + "\n")
    young = " ".join(run("review", "samples", batch).stderr.split())
    assert "note: run 1 trained only 250 steps: its samples of class 1 (c1) still vary little (0.20 of real)" in young
    assert "possible mode collapse" not in young

    stats.write_text(json.dumps({"step": 600, "diversity": {"0": 0.1, "1": 0.9}, "collapsed": [0]}) + "\n")
    assert run("review", "samples", batch).stderr == ""  # another class flagged: not this batch's
