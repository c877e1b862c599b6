"""A home after a year of use: `runs list`, `jobs list` and `review pending` show the newest (or oldest pending) rows
up to --limit, say how many they left out and how to see them, and `runs list` reads the database once for all its
runs rather than once per run."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import session_scope
from db.jobs import submit_job
from db.models import Run
from tests.cli.helpers import ganaug, ok_json, refused
from tests.db.helpers import counted_statements, make_batch, make_dataset


def add_runs(home, n: int) -> None:
    with session_scope() as s:
        ds = make_dataset(s, home)
        for i in range(n):
            (home / f"runs/{i}").mkdir(parents=True)
            s.add(Run(dataset_id=ds.id, status="done", run_dir=f"runs/{i}", config={}, config_sha256="c" * 64,
                      code_version="test", step=4, total_steps=4))


def statements_of(*args) -> int:
    with counted_statements() as statements:
        assert ganaug(*args).exit_code == 0
    return len(statements)


def test_runs_list_says_how_many_older_runs_it_left_out(home):
    add_runs(home, 55)
    lines = ganaug("runs", "list").stdout.splitlines()
    assert len(lines) == 1 + 50 + 1  # header, the 50 newest, then what is left out: it ended at run 6, silently
    assert lines[-1] == "50 of 55 runs shown: --limit 55 shows them all, --dataset NAME one dataset's"
    assert ok_json("runs", "list", "--limit", 3)["total"] == 55
    assert ganaug("runs", "list", "--limit", 55).stdout.splitlines()[-1].lstrip().startswith("1 ")


def test_runs_list_reads_the_database_once_for_all_its_runs(home):
    add_runs(home, 12)
    ganaug("runs", "list")  # the engine's first use migrates the database
    # Each run's folder was a query of its own: 12 more statements for 12 runs than for 2.
    assert statements_of("runs", "list", "--limit", 12) == statements_of("runs", "list", "--limit", 2)


def test_jobs_list_shows_the_newest_up_to_its_limit(home):
    with session_scope() as s:
        for i in range(110):
            submit_job(s, "evaluate", {"batch_id": i}, f"key-{i}")
    lines = ganaug("jobs", "list").stdout.splitlines()
    # The newest 100, then what is left out: it stopped at 100 silently, and had no --limit to see more or fewer.
    assert len(lines) == 100 + 2 and lines[0].split()[0] == "110"
    assert lines[-2:] == ["100 of 110 jobs shown: --limit 110 shows them all, --status failed only the",
                          "  failed ones"]  # wrapped at 80 columns
    assert [j["id"] for j in ok_json("jobs", "list", "--limit", 2)["jobs"]] == [110, 109]
    assert ganaug("jobs", "list", "--limit", 110).stdout.count("\n") == 110
    assert "--limit must be at least 1, got 0" in refused("jobs", "list", "--limit", 0)


def test_review_pending_shows_the_oldest_up_to_its_limit(home):
    with session_scope() as s:
        ds = make_dataset(s, home)
        batches = [make_batch(s, home, ds, n=1, files=False).id for _ in range(4)]
    lines = ganaug("review", "pending", "--limit", 2).stdout.splitlines()
    assert [line.split()[1] for line in lines[:2]] == [str(b) for b in batches[:2]]
    assert lines[2:] == ["2 of 4 pending batches shown: --limit 4 shows them all, --dataset NAME one",
                         "  dataset's"]  # wrapped at 80 columns
    assert len(ganaug("review", "pending").stdout.splitlines()) == 4  # under the default limit: no last line
    assert ok_json("review", "pending", "--dataset", "toy", "--limit", 1)["total"] == 4
    assert "--limit must be at least 1, got -1" in refused("review", "pending", "--limit", -1)


def test_runs_prune_names_in_one_line_the_runs_with_nothing_to_delete(home):
    add_runs(home, 5)
    with session_scope() as s:
        for run in s.scalars(select(Run)):
            folder = home / run.run_dir / "checkpoints"
            folder.mkdir()
            steps = (2, 4) if run.id == 3 else (4,)  # run 3 keeps an intermediate checkpoint nothing refers to
            for step in steps:
                (folder / f"checkpoint-{step:07d}.pt").write_bytes(bytes([run.id, step]) * 100)
            run.checkpoint_path = f"{run.run_dir}/checkpoints/checkpoint-0000004.pt"
    lines = ganaug("runs", "prune", "--all", "--dry-run").stdout.splitlines()
    # One line per run: a year's 60 runs, pruned already, printed 60 lines of "nothing to delete".
    assert lines == ["run 3: would delete 1 checkpoint, 0 grid steps (200 B); kept checkpoint-0000004.pt (latest)",
                     "4 runs with nothing to delete: 1–2, 4–5 (`ganaug runs prune --run N --dry-run` names what "
                     "each keeps)",
                     "dry run: pruning would free 200 B; nothing was deleted"]
    assert ganaug("runs", "prune", "--run", 1, "--dry-run").stdout.splitlines()[0] == (
        "run 1: nothing to delete; kept checkpoint-0000004.pt (latest)")  # one run: what it keeps, as before
