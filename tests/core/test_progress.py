"""The command line's progress bars (`tqdm_progress`), rendered to stderr as a terminal would see them."""

from __future__ import annotations

import re
import time

from ganaug_core.progress import Progress, tqdm_progress


def test_a_stage_that_starts_part_way_counts_its_rate_from_there_and_draws_each_state_once(capsys):
    with tqdm_progress() as report:
        report(Progress("train", 1000, 2000))  # a run resumed at step 1,000
        for step in (1010, 1020):
            time.sleep(0.15)  # longer than tqdm's redraw interval
            report(Progress("train", step, 2000, {"loss": 0.5}))
        report(Progress("train", 2000, 2000, {"loss": 0.25}))
    frames = capsys.readouterr().err.replace("\r", "\n").split("\n")
    frames = [f for f in frames if f.strip()]
    assert sum("1010/2000" in f for f in frames) == 1 and sum("2000/2000" in f for f in frames) == 1
    rate = float(re.search(r"1020/2000 \[[^,]*, ([\d.]+)it/s", next(f for f in frames if "1020/2000" in f)).group(1))
    assert rate < 200  # 20 steps in ≥ 0.3 s; counted from step 0 it read ≥ 3,000 it/s
    assert "loss=0.25" in frames[-1]


def test_disabled_progress_draws_nothing(capsys):
    with tqdm_progress(enabled=False) as report:
        report(Progress("train", 1, 2))
    assert capsys.readouterr().err == ""


def test_stages_follow_one_another_without_cursor_moves(capsys):
    with tqdm_progress() as report:
        for stage in ("decode", "write"):
            for done in (1, 2, 3):
                report(Progress(stage, done, 3))
    err = capsys.readouterr().err
    assert "\x1b[" not in err  # two open bars had tqdm move the cursor: escape codes in a log or a pipe
    frames = [f for f in err.replace("\r", "\n").split("\n") if f.strip()]
    last_decode = max(i for i, f in enumerate(frames) if f.startswith("decode"))
    assert "3/3" in frames[last_decode] and last_decode < min(i for i, f in enumerate(frames) if f.startswith("write"))
