"""One image, two decisions. `ganaug generate` with a rejected batch's seed, from the same checkpoint, writes the same
PNGs byte for byte, and a second batch's approval admitted them: a sample rejected or blocking-tagged in one batch,
or every sample of a rejected batch, reached the export through its twin. The decision that keeps the bytes out
holds wherever they appear, and the approval's confirmation says so."""

from __future__ import annotations

import shutil

from sqlalchemy import update

from db.engine import session_scope
from db.gate import KEPT_OUT_ELSEWHERE, gated_training_set
from db.models import Sample
from db.review import approve_batch, reject_batch, reject_sample, tag_sample
from db.batch_views import approval_preview
from tests.db.helpers import make_batch, sample_ids


def _twin(session, home, source: Sample, target_id: int) -> None:
    """Give sample `target_id` the bytes of `source`, as a regeneration from the same seed does."""
    target = session.get(Sample, target_id)
    shutil.copyfile(home / source.path, home / target.path)
    session.execute(update(Sample).where(Sample.id == target_id).values(sha256=source.sha256))


def test_the_twin_of_a_rejected_or_tagged_sample_or_of_a_rejected_batch_stays_out(home, toy, people):
    with session_scope(immediate=True) as s:
        first, rejected, second = (make_batch(s, home, toy, n=3).id for _ in range(3))
        ids = {b: sample_ids(s, b) for b in (first, rejected, second)}
        for i, source in enumerate((ids[first][0], ids[first][1], ids[rejected][0])):
            _twin(s, home, s.get(Sample, source), ids[second][i])
        reject_sample(s, ids[first][0], people["rex"], reason="smeared")
        tag_sample(s, ids[first][1], "checkerboard", people["rex"])
        approve_batch(s, first, people["rex"])
        reject_batch(s, rejected, people["rex"], reason="early checkpoint")
        preview = approval_preview(s, second)
        approve_batch(s, second, people["ada"])  # another reviewer, who sees the twins as new samples
    assert (preview["admitted"], preview["elsewhere"]) == (0, 3)
    with session_scope() as s:
        gated = gated_training_set(s, "toy", 10.0, home=home)
    admitted = [e.path for e in gated.entries if e.source == "synthetic"]
    assert admitted == [f"batches/{first}/000002.png"] and gated.excluded[KEPT_OUT_ELSEWHERE] == 3


def test_twins_within_one_batch_and_of_an_approved_sample_are_admitted(home, toy, people):
    """A reviewer who rejects one of two identical samples of a batch keeps the other; an approved image regenerated
    into a second approved batch is admitted there too."""
    with session_scope(immediate=True) as s:
        first, second = make_batch(s, home, toy, n=3).id, make_batch(s, home, toy, n=2).id
        ids = {b: sample_ids(s, b) for b in (first, second)}
        _twin(s, home, s.get(Sample, ids[first][0]), ids[first][1])
        _twin(s, home, s.get(Sample, ids[first][2]), ids[second][0])
        reject_sample(s, ids[first][0], people["rex"], reason="a duplicate")
        approve_batch(s, first, people["rex"])
        assert approval_preview(s, second)["elsewhere"] == 0
        approve_batch(s, second, people["rex"])
    with session_scope() as s:
        gated = gated_training_set(s, "toy", 10.0, home=home)
    assert len([e for e in gated.entries if e.source == "synthetic"]) == 4 and KEPT_OUT_ELSEWHERE not in gated.excluded
