"""`ganaug evaluate batch` ends with a verdict in words: a factory engineer read class confidence 0.069 and class
consistency 0.000 among a dozen numbers, and nothing said that the classifier recognised none of the 64 "crack"
samples, nor to train longer before reviewing them.

The batches are rows made by tests/db/helpers.py with their scores stored; the distribution metrics, which need a
trained feature extractor, are given as `evaluate batch` measured them."""

from __future__ import annotations

import json

import pytest

from db.engine import session_scope
from ganaug import evaluation
from tests.cli.helpers import ganaug
from tests.db.helpers import make_batch, make_dataset


def _metrics(consistency: float) -> dict:
    return {"overall": {"consistency": {"class_consistency": consistency}}, "holdout_split": "test",
            "counts": {"real": 3, "synthetic": 4, "holdout": 2}}


@pytest.fixture
def scored(home, monkeypatch):
    """Make a scored batch of class 1 ('c1', 3 classes) from run 1, whose folder holds the diversity monitor's
    last reading `reading`; `evaluate batch` then measures it with class consistency `consistency`."""

    def make(consistency: float, memorized=(), reading=None) -> int:
        with session_scope() as s:
            dataset = make_dataset(s, home, train=(6, 3, 3), test=(2, 2, 2))
            batch = make_batch(s, home, dataset, n=4, memorized=memorized).id
        run_dir = home / "runs" / "1"
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps({"diversity_threshold": 0.5}))
        (run_dir / "stats.jsonl").write_text(json.dumps({"step": 2000, **(reading or {})}) + "\n")
        monkeypatch.setattr(evaluation, "measure_batch", lambda b, progress, rescore=False: (
            evaluation.score_batch(b), _metrics(consistency)))  # the stored scores, as a batch scored before
        return batch

    return make


def _verdict(text: str) -> list[str]:
    """The verdict's findings, each paragraph joined back into one line."""
    lines = text.splitlines()
    found: list[str] = []
    for line in lines[next(i for i, x in enumerate(lines) if x.startswith("verdict")) + 1:]:
        if line.startswith("    "):
            found[-1] += " " + line.strip()
        else:
            found.append(line.strip())
    return found


def test_a_poor_batch_is_told_worst_first_with_its_numbers_and_what_to_do(scored):
    reading = {"diversity": {"1": 0.2}, "collapsed": [1]}
    batch = scored(0.0, memorized=(0, 2), reading=reading)
    result = ganaug("evaluate", "batch", batch)
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    assert "verdict (worst first):" in result.stdout.splitlines()  # last, where a terminal leaves it in sight
    found = _verdict(result.stdout)
    assert found == [
        "the classifier recognises none of these 4 samples as class 1 (c1) (class consistency 0.000): they do not "
        "look like the class yet; train longer (`ganaug train --resume 1 --minutes M`) before reviewing",
        "2 of 4 samples copy a training image (flagged as memorized): approval refuses the batch until they are "
        f"rejected (`ganaug review reject-memorized {batch}`)",
        "little diversity: run 1's monitor flagged class 1 (c1), whose samples' spread is 0.20 of real, below the "
        "monitor's 0.5 (possible mode collapse): look for repeats among the samples and, where they repeat, train the "
        "run further (`ganaug train --resume 1 --minutes M`)"]
    assert "`ganaug train --resume 1 --minutes M`" in result.stdout  # a command never broken over two lines
    # `--json` keeps its keys and adds the same findings, for a script to gate on.
    out = json.loads(ganaug("evaluate", "batch", batch, "--json").stdout)
    assert [f["finding"] for f in out["verdict"]] == ["not_recognised", "memorized", "little_diversity"]
    assert [f["value"] for f in out["verdict"]] == [0.0, 2, 0.2] and {"scores", "metrics"} <= set(out)


def test_a_fine_batch_is_said_to_be_fine_and_where_to_look(scored):
    batch = scored(0.95, reading={"diversity": {"1": 0.85}, "collapsed": []})
    text = ganaug("evaluate", "batch", batch).stdout
    assert "verdict:" in text.splitlines()
    assert _verdict(text) == [
        "nothing stands out (4 of 4 recognised as class 1 (c1) (0.950), none memorized, mean realism 1.500 (among "
        f"the real images), diversity 0.85 of real): look at the samples before approving (`ganaug review samples "
        f"{batch}`)"]
    out = json.loads(ganaug("evaluate", "batch", batch, "--json").stdout)
    assert [f["finding"] for f in out["verdict"]] == ["fine"]


def test_a_young_run_and_a_batch_mostly_recognised_say_something_else_to_do():
    from ganaug_core.batch_verdict import batch_verdict

    young = {"diversity": {"9": 0.41}, "collapsed": [9], "step": 60}
    found = batch_verdict(7, 2, "9", 64, 0, 0.75, 0.57, young, 9, 0.5)
    assert [f.finding for f in found] == ["not_recognised", "little_diversity", "far_from_real"]
    assert found[0].said == "the classifier recognises only 48 of 64 samples as class 9 (class consistency 0.750)"
    assert "`ganaug review samples 7 --sort class_confidence`" in found[0].todo  # most are the class: review them
    assert "trained only 60 steps" in found[1].said and found[1].todo.startswith("train longer")
    assert found[2].said == ("far from the real images (mean realism 0.570, below 1, is outside the real images of "
                             "class 9)")


def test_a_fine_batch_of_two_classes_says_that_being_recognised_says_little():
    from ganaug_core.batch_verdict import batch_verdict

    fine = batch_verdict(4, 1, "0 (crack)", 64, 0, 1.0, 1.35, two_classes=True)
    assert [f.finding for f in fine] == ["fine"]
    assert fine[0].said.endswith("but with 2 classes being recognised says little of how they look")


def test_a_batch_of_one_sample_is_said_in_the_singular():
    # `generate --n 1` makes a batch of one: its verdict said "none of these 1 samples" and "1 of 1 samples copy".
    from ganaug_core.batch_verdict import batch_verdict

    found = batch_verdict(3, 1, "9", 1, 1, 0.0, None)
    assert [f.said for f in found] == [
        "the classifier does not recognise this 1 sample as class 9 (class consistency 0.000)",
        "1 of 1 sample copies a training image (flagged as memorized)"]
    assert batch_verdict(3, 1, "9", 64, 1, None, None)[0].said == ("1 of 64 samples copies a training image (flagged "
                                                                   "as memorized)")
