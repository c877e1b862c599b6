"""The command line's progress bars (`tqdm_progress`), rendered to stderr as a terminal would see them."""

from __future__ import annotations

import re
import time

import pytest

from ganaug_core import progress as progress_module
from ganaug_core.progress import Progress, tqdm_progress


@pytest.fixture
def terminal(monkeypatch):
    """stderr taken for a terminal: the bar redrawn in place (capsys's stream is no terminal)."""
    monkeypatch.setattr(progress_module, "_on_terminal", lambda stream: True)


def test_a_stage_that_starts_part_way_counts_its_rate_from_there_and_draws_each_state_once(capsys, terminal):
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


def test_a_log_gets_whole_lines_at_most_one_per_interval(capsys, monkeypatch):
    # stderr in a log file or a CI job: every drawing of the bar went there, '\r'-separated, 10 a second (a
    # 30-minute training wrote 18,000 into one line) with the bar's block characters.
    monkeypatch.setattr(progress_module, "LOG_EVERY_S", 3600.0)  # however slow a busy machine, one interval
    with tqdm_progress() as report:
        for step in range(1, 2001):
            report(Progress("train", step, 2000, {"loss": 0.5}))
        report(Progress("score", 1, 1))
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err and err.isascii(), err
    lines = err.splitlines()
    # 2,000 reports within one interval: the first drawing and the last one, then score's
    assert [line.split("|")[0].split(":")[0] for line in lines] == ["train", "train", "score"], lines
    assert "| 1/2000" in lines[0] and "2000/2000" in lines[1] and "loss=0.5" in lines[1]
    assert all(line == line.rstrip() for line in lines)  # no padding left from redrawing in place


def test_a_signal_inside_a_bars_constructor_leaves_no_traceback(monkeypatch):
    # SIGTERM raises where the export is (`terminate_as_interrupt`); landing in tqdm's constructor, before the bar had
    # its position, the half-made bar's close at garbage collection printed "Exception ignored … no attribute 'pos'"
    # and a traceback under the command's one-line "interrupted by SIGTERM".
    import gc
    import sys

    from tqdm import tqdm

    def interrupted(cls, instance=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(tqdm, "_get_free_pos", classmethod(interrupted))
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(KeyboardInterrupt):
        with tqdm_progress() as report:
            report(Progress("export", 0, 10))
    gc.collect()
    assert unraisable == []


@pytest.fixture
def clock(monkeypatch):
    """tqdm's clock, moved by hand: the bars' elapsed times are then exact, whatever the machine's speed."""
    import tqdm.std

    now = [1000.0]
    monkeypatch.setattr(tqdm.std, "time", lambda: now[0])
    return now


def _benchmark_with_scoring(report, clock) -> None:
    """The reports of a benchmark whose gan_filtered arm scores two classes' candidates (stage "score", one phase
    a class), 10 s between reports."""
    for p in [Progress("benchmark", 0, 4), Progress("benchmark", 1, 4, {"last": "real/seed 0"}),
              *[Progress("score", n, 711, {"phase": "class 7's candidates"}) for n in (0, 256, 711)],
              *[Progress("score", n, 585, {"phase": "class 8's candidates"}) for n in (0, 256, 512, 585)],
              Progress("benchmark", 1, 4, {"training": "gan_filtered/seed 0"}),
              Progress("benchmark", 2, 4, {"last": "gan_filtered/seed 0"})]:
        report(p)
        clock[0] += 10


def test_each_scoring_gets_a_bar_of_its_own_and_the_benchmarks_bar_keeps_its_clock(capsys, clock):
    # `ganaug benchmark`: class 8's scoring bar started at "0/711 [00:46<…]" (class 7's total and clock) and ended at
    # 585/711; the benchmark's bar came back after each scoring at 00:00.
    with tqdm_progress() as report:
        _benchmark_with_scoring(report, clock)
    lines = capsys.readouterr().err.splitlines()
    counts = [" ".join(re.search(r"(\d+/\d+) \[(\d\d:\d\d)", line).groups()) for line in lines]
    assert counts == ["0/4 00:00", "1/4 00:10",
                      "0/711 00:00", "256/711 00:10", "711/711 00:20",
                      "0/585 00:00", "256/585 00:10", "512/585 00:20", "585/585 00:30",
                      "1/4 01:30", "2/4 01:40"], lines  # the benchmark's clock from its start: 90 s, not 00:00
    assert "10.00s/it" in lines[-1]  # its rate: the one arm since it came back (5.00s/it: both arms in 10 s)


def test_a_stage_that_comes_back_with_a_lower_count_starts_a_new_bar(capsys, clock, terminal):
    with tqdm_progress() as report:
        for n in (0, 5, 9):  # one seed's scoring of a class, then the next seed's, same phase and total
            report(Progress("score", n, 9, {"phase": "class 7's candidates"}))
            clock[0] += 10
        report(Progress("score", 0, 9, {"phase": "class 7's candidates"}))
        clock[0] += 10
        report(Progress("score", 9, 9, {"phase": "class 7's candidates"}))
    frames = [f for f in capsys.readouterr().err.replace("\r", "\n").split("\n") if f.strip()]
    assert any("0/9 [00:00<" in f for f in frames[3:]) and "9/9 [00:10<" in frames[-1], frames
