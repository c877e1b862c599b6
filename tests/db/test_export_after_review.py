"""An export is gated on the log, then its images are copied, then it is recorded: a colleague's decision in between
that withdraws samples from the set (a revocation, a rejection, a blocking tag) refuses the record, since the log
would then show the export after the decision that kept its samples out."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.errors import DecisionError
from db.exports import record_export
from db.gate import gated_training_set
from db.models import Event
from db.review import approve_batch, reject_sample, revoke_batch, tag_sample
from tests.db.helpers import make_batch, sample_ids

AT = r" at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


def _exports() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).where(Event.action == "export"))


@pytest.mark.parametrize("meanwhile, said", [
    (lambda s, b, ids, p: revoke_batch(s, b, p["ada"], "checkerboard"), "ada revoked the approval of batch {b}"),
    (lambda s, b, ids, p: reject_sample(s, ids[0], p["ada"], "smear"), "ada rejected sample {first}"),
    (lambda s, b, ids, p: tag_sample(s, ids[0], "blur", p["ada"]), "ada tagged sample {first} 'blur'"),
])
def test_a_sample_withdrawn_while_the_export_was_written_refuses_its_record(home, toy, people, meanwhile, said):
    with session_scope(immediate=True) as s:
        b = make_batch(s, home, toy, n=3).id
        ids = sample_ids(s, b)
        approve_batch(s, b, people["rex"])
    with session_scope() as s:
        summary = {**gated_training_set(s, "toy", 1.0, home=home).summary(), "out": "/exports/one"}
    assert sum(c["synthetic"] for c in summary["counts"].values()) > 0
    with session_scope(immediate=True) as s:  # while the images are copied
        meanwhile(s, b, ids, people)
    with pytest.raises(DecisionError) as refused:
        with session_scope(immediate=True) as s:
            record_export(s, people["rex"], summary)
    assert re.fullmatch(said.format(b=b, first=ids[0]) + f"{AT} while this export was being written, so it would hold "
                        "samples the log no longer admits; nothing was exported: export again", str(refused.value))
    assert _exports() == 0


def test_what_withdraws_nothing_from_the_export_lets_it_be_recorded(home, toy, people):
    """An approval, or a tag on a pending batch's sample, since the gating leaves the exported set as the log admits."""
    with session_scope(immediate=True) as s:
        b, pending = make_batch(s, home, toy, n=3).id, make_batch(s, home, toy, n=2).id
        approve_batch(s, b, people["rex"])
    with session_scope() as s:
        summary = {**gated_training_set(s, "toy", 1.0, home=home).summary(), "out": "/exports/one"}
    with session_scope(immediate=True) as s:
        tag_sample(s, sample_ids(s, pending)[0], "blur", people["ada"])
        approve_batch(s, pending, people["ada"])
        record_export(s, people["rex"], summary)
    assert _exports() == 1
