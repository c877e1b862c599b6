"""A home after a year of use: the queries behind the Review grid and the listings cost the same number of statements
whatever the number of samples on a page or of runs, and a listing cut at its limit can say how much it left out."""

from __future__ import annotations

from db import batch_views, run_views
from db.engine import session_scope
from db.jobs import count_jobs, list_jobs, submit_job
from db.models import Batch, Run
from db.review_queue import batch_classes, count_pending, first_to_review, pending_batches, review_page
from tests.db.helpers import counted_statements, make_batch, make_dataset


def grid_statements(batch_id: int, per_page: int) -> int:
    """Statements for one Review grid page as pages/review.py loads it: the page, then each sample as a dict."""
    with session_scope() as s, counted_statements() as statements:
        rows, _ = review_page(s, batch_id, per_page=per_page)
        dicts = [batch_views.sample_dict(r.sample, "", r.tags) for r in rows]
    assert len(dicts) == per_page
    return len(statements)


def test_a_review_grid_page_costs_the_same_statements_for_4_samples_as_for_48(db, home):
    with session_scope() as s:
        batch = make_batch(s, home, make_dataset(s, home), n=48, files=False).id
    # Each sample's deferred copy_match was loaded on its own: 48 more statements for a page of 48.
    assert grid_statements(batch, 48) == grid_statements(batch, 4)


def test_runs_table_names_each_runs_folder_and_counts_them_all(db, home):
    with session_scope() as s:
        ds = make_dataset(s, home)
        for i in range(7):
            s.add(Run(dataset_id=ds.id, status="done", run_dir=f"runs/{i}", config={}, config_sha256="c" * 64,
                      code_version="test"))
    with session_scope() as s:
        rows = run_views.runs_table(s, limit=3)
        assert [r["run_dir"] for r in rows] == ["runs/6", "runs/5", "runs/4"]  # no query per run for its folder
        assert run_views.runs_count(s) == 7 and run_views.runs_count(s, dataset="toy") == 7
        assert run_views.runs_count(s, dataset="other") == 0


def test_pending_batches_and_jobs_can_be_listed_in_part_and_counted(db, home):
    with session_scope(immediate=True) as s:
        ds = make_dataset(s, home)
        batches = [make_batch(s, home, ds, n=1, files=False).id for _ in range(5)]
        for i in range(6):
            submit_job(s, "evaluate", {"batch_id": i}, f"key-{i}")
    with session_scope() as s:
        assert [b.id for b in pending_batches(s, limit=2)] == batches[:2]  # oldest first
        assert len(pending_batches(s)) == 5 and count_pending(s) == 5 and count_pending(s, ds.id + 1) == 0
        assert len(list_jobs(s, limit=4)) == 4 and count_jobs(s) == 6
        assert count_jobs(s, status="queued") == 6 and count_jobs(s, status="done") == 0


def test_a_batch_left_out_of_a_pickers_list_is_found_by_its_id_and_every_status_counted(db, home):
    with session_scope(immediate=True) as s:
        ds = make_dataset(s, home)
        batches = [make_batch(s, home, ds, n=1, files=False).id for _ in range(4)]
        s.get(Batch, batches[0]).status = "approved"  # a state row only: these queries read the tables, not the log
    with session_scope() as s:
        assert [b["batch"] for b in batch_views.batches_table(s, None, limit=2)] == batches[:1:-1]  # the newest two
        assert [b["batch"] for b in batch_views.batches_table(s, None, ids=[batches[0]])] == [batches[0]]
        assert batch_views.batches_table(s, "pending", ids=[batches[0]]) == []  # asked for, but not of the status shown
        assert batch_views.batch_counts(s) == {"approved": 1, "pending": 3}


def test_a_class_is_found_among_every_batch_not_only_the_newest(db, home):
    with session_scope(immediate=True) as s:
        ds = make_dataset(s, home)
        rare = make_batch(s, home, ds, class_index=0, n=1, files=False).id  # the oldest, behind two newer ones
        [make_batch(s, home, ds, class_index=1, n=1, files=False) for _ in range(2)]
        s.get(Batch, rare + 1).status = "rejected"
    with session_scope() as s:
        assert [b["batch"] for b in batch_views.batches_table(s, "pending", limit=1, of_class=("toy", 0))] == [rare]
        assert batch_views.batches_table(s, "pending", limit=1, of_class=("other", 0)) == []
        by_class = sorted((c["dataset"], c["class_index"], c["batches"]) for c in batch_classes(s, "pending"))
        assert by_class == [("toy", 0, 1), ("toy", 1, 1)]
        assert sorted(c["batches"] for c in batch_classes(s, None)) == [1, 2]


def test_the_batch_a_review_opens_is_found_among_every_batch(db, home):
    # The newest scored pending batch, else the newest pending, else the newest: over all batches (the Review page had
    # chosen among its picker's newest rows, and opened on "Compute scores" while older scored batches waited).
    with session_scope(immediate=True) as s:
        ds = make_dataset(s, home)
        scored, other_class = (make_batch(s, home, ds, class_index=c, n=1, files=False).id for c in (0, 1))
        unscored = [make_batch(s, home, ds, class_index=0, n=1, files=False, scored=False).id for _ in range(2)]
    with session_scope() as s:
        assert first_to_review(s) == other_class
        assert first_to_review(s, of_class=("toy", 0)) == scored
        assert first_to_review(s, of_class=("other", 0)) is None
    with session_scope(immediate=True) as s:
        for batch in (scored, other_class):
            s.get(Batch, batch).status = "approved"
    with session_scope() as s:
        assert first_to_review(s, of_class=("toy", 0)) == unscored[-1]  # no scored one waits: the newest pending
    with session_scope(immediate=True) as s:
        for batch in unscored:
            s.get(Batch, batch).status = "rejected"
    with session_scope() as s:
        assert first_to_review(s) is None and first_to_review(s, None) == unscored[-1]  # none pending: the newest
