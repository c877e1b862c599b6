"""`paths.without_server_paths`: a failed job's line as any reviewer may read it (pages/jobs.py)."""

from __future__ import annotations

from ganaug_core.paths import SERVER_PATH, without_server_paths


def test_paths_in_the_home_are_relative_to_it_and_others_are_not_named(home):
    line = (f"cannot write {home}/batches/7/00001.png (Permission denied); '/srv/my data/x.png' and /opt/py/lib.so. "
            f"Database sqlite:///{home}/ganaug.db, copy file:///etc/passwd; {home}")
    assert without_server_paths(line) == (
        f"cannot write batches/7/00001.png (Permission denied); {SERVER_PATH} and {SERVER_PATH}. "
        f"Database sqlite:///ganaug.db, copy file://{SERVER_PATH}; GANAUG_HOME")


def test_what_only_looks_like_a_path_is_kept():
    line = "runs/000003/checkpoints/checkpoint-0000600.pt, 1/2 of the classes, http://127.0.0.1:8501/review, a / b"
    assert without_server_paths(line) == line
