"""The log decides admission: state rows edited behind its back admit nothing, and `state_mismatches` names them."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from db.engine import dispose_engines, session_scope
from db.errors import DecisionError
from db.gate import gated_training_set
from db.models import Sample
from db.replay import replay, state_mismatches
from db.views import approved_class_counts
from db.review import approve_batch, reject_sample, revoke_batch, tag_sample, untag_sample
from ganaug_core.sampling import sample_seeds
from tests.db.helpers import make_batch, png, sample_ids

SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def _synthetic(home) -> list[str]:
    with session_scope() as s:
        return [e.path for e in gated_training_set(s, "toy", 1.0, home=home).entries if e.source == "synthetic"]


def test_63_bit_sample_seeds_are_stored_exactly(home, toy):
    seeds = sample_seeds(2**63 - 1, 3)  # what `ganaug generate --seed 9223372036854775807` records
    with session_scope() as s:
        b = make_batch(s, home, toy, n=1, seed=2**63 - 1)
        s.execute(Sample.__table__.insert(), [dict(batch_id=b.id, class_index=1, seed=sd, path=f"x/{i}.png",
                                                   sha256="0" * 64, rejected=False) for i, sd in enumerate(seeds)])
    with session_scope() as s:
        stored = list(s.scalars(select(Sample.seed).order_by(Sample.id)))
    assert stored == [2**63 - 1, *seeds] and max(seeds) >= 2**31


def test_a_blocking_tag_the_approval_saw_cannot_be_removed(home, toy, people):
    with session_scope(immediate=True) as s:
        b = make_batch(s, home, toy, n=3).id
        ids = sample_ids(s, b)
        tag_sample(s, ids[0], "checkerboard", people["rex"])
        approve_batch(s, b, people["rex"])
        tag_sample(s, ids[1], "blur", people["rex"])  # found after the approval
    assert len(_synthetic(home)) == 1
    with session_scope() as s:  # the Overview's bars count what the gate admits, not every approved sample
        assert approved_class_counts(s) == {"toy": [0, 1]}
    with session_scope(immediate=True) as s, pytest.raises(DecisionError, match="when batch .* was approved"):
        untag_sample(s, ids[0], "checkerboard", people["rex"])
    with session_scope(immediate=True) as s:
        untag_sample(s, ids[1], "blur", people["rex"])  # back to what the approval covered
    assert len(_synthetic(home)) == 2
    with session_scope() as s:
        assert state_mismatches(s) == [] and replay(s).approvals[b].blocked == {ids[0]}
        assert approved_class_counts(s) == {"toy": [0, 2]}


def test_the_embedding_map_marks_approved_only_what_the_gate_admits(home, toy, people):
    from sqlalchemy import update

    from db.views import embedding_points

    with session_scope(immediate=True) as s:
        b = make_batch(s, home, toy, n=3).id
        ids = sample_ids(s, b)
        tag_sample(s, ids[0], "checkerboard", people["rex"])  # blocking, seen by the approval
        approve_batch(s, b, people["rex"])
        tag_sample(s, ids[1], "blur", people["rex"])  # blocking, found after the approval
        s.execute(Sample.__table__.insert(), [dict(batch_id=b, class_index=1, seed=99, path="x/late.png",
                                                   sha256="0" * 64, rejected=False)])  # added after the approval
        s.execute(update(Sample).values(emb_x=0.0, emb_y=0.0))
    with session_scope() as s:
        late = max(sample_ids(s, b))
        points = embedding_points(s, "toy")
        decisions = {i: d for src, i, d in zip(points["source"], points["id"], points["decision"]) if src == "synthetic"}
        admitted = sum(approved_class_counts(s)["toy"])
    assert decisions == {ids[0]: "rejected", ids[1]: "rejected", ids[2]: "approved", late: "pending"}
    assert admitted == list(decisions.values()).count("approved") == len(_synthetic(home)) == 1


def _raw(home, *statements) -> None:
    dispose_engines()
    con = sqlite3.connect(home / "ganaug.db")
    for statement, params in statements:
        con.execute(statement, params)
    con.commit()
    con.close()


@SQLITE_ONLY
def test_state_rows_edited_behind_the_log_admit_nothing(home, toy, people):
    with session_scope(immediate=True) as s:
        revoked, tagged, swapped = (make_batch(s, home, toy, n=2).id for _ in range(3))
        ids = {b: sample_ids(s, b) for b in (revoked, tagged, swapped)}
        tag_sample(s, ids[tagged][0], "checkerboard", people["rex"])
        approvals = {b: approve_batch(s, b, people["rex"]).id for b in (revoked, tagged, swapped)}
        reject_sample(s, ids[tagged][1], people["rex"], reason="wrong stroke")
        revoke_batch(s, revoked, people["ada"], reason="artifact found")
    before = _synthetic(home)
    assert len(before) == 2  # the swapped batch's two samples
    with session_scope() as s:
        assert state_mismatches(s) == []
    forged = "batches/forged.png"
    sha = png(home / forged, 4242)
    _raw(home,
         ("UPDATE batches SET status = 'approved' WHERE id = ?", (revoked,)),
         ("UPDATE samples SET rejected = 0 WHERE id = ?", (ids[tagged][1],)),
         ("DELETE FROM sample_tags WHERE sample_id = ?", (ids[tagged][0],)),
         ("UPDATE samples SET path = ?, sha256 = ? WHERE id = ?", (forged, sha, ids[swapped][0])))
    assert _synthetic(home) == []
    with session_scope() as s:
        found = state_mismatches(s)
        excluded = gated_training_set(s, "toy", 1.0, home=home).excluded
    assert found == [
        f"batch {revoked} is 'approved' in the batches table but 'revoked' in the log",
        f"batch {swapped}'s samples no longer match the digest its approval (event {approvals[swapped]}) recorded",
        f"sample {ids[tagged][1]} is not rejected in the samples table but rejected in the log",
        f"sample {ids[tagged][0]} has tags [] in the sample_tags table but ['checkerboard'] in the log",
    ]
    assert excluded["batch approved in the table but not in the log"] == 2
    assert excluded["batch's samples differ from what its approval recorded"] == 2
    assert excluded["blocking tag when approved"] == 1
    assert excluded["rejected or blocking-tagged in the log, not in the tables"] == 1


def test_overview_counts_match_the_gate_over_many_batches_in_chunks(home, toy, people, monkeypatch):
    import db.views as views

    monkeypatch.setattr(views, "COVERAGE_ROWS", 2)  # five approved batches: three queries
    with session_scope(immediate=True) as s:
        batches = [make_batch(s, home, toy, class_index=k % 2, n=3, seed=10 * k).id for k in range(7)]
        ids = {b: sample_ids(s, b) for b in batches}
        reject_sample(s, ids[batches[0]][0], people["rex"], "artifact")
        for b in batches[:6]:
            approve_batch(s, b, people["rex"])
        revoke_batch(s, batches[5], people["rex"], "second look")  # batches[6] stays pending
    with session_scope() as s:
        counts = approved_class_counts(s)
    with session_scope() as s:  # no cap on the synthetic share: every sample the review admits
        admitted = [e for e in gated_training_set(s, "toy", 100.0, home=home).entries if e.source == "synthetic"]
    assert sum(counts["toy"]) == len(admitted) == 5 * 3 - 1
    assert counts == {"toy": [2 + 3 + 3, 3 + 3]}  # class 0: batches 0 (one rejected), 2, 4; class 1: 1, 3


def test_the_approval_preview_counts_what_the_gate_then_admits(home, toy, people):
    from db.batch_views import approval_preview

    with session_scope(immediate=True) as s:
        b = make_batch(s, home, toy, n=5).id
        ids = sample_ids(s, b)
        reject_sample(s, ids[0], people["rex"], "artifact")
        tag_sample(s, ids[1], "checkerboard", people["rex"])  # blocking
        tag_sample(s, ids[0], "blur", people["rex"])  # rejected and tagged: counted once, as rejected
    with session_scope() as s:
        preview = approval_preview(s, b)
    assert preview == dict(samples=5, rejected=1, blocked=1, elsewhere=0, admitted=3)
    with session_scope(immediate=True) as s:
        approve_batch(s, b, people["rex"])
    with session_scope() as s:
        admitted = [e for e in gated_training_set(s, "toy", 100.0, home=home).entries if e.source == "synthetic"]
    assert len(admitted) == preview["admitted"]
