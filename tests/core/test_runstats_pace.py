"""A run's wall-clock pace from its stats lines (ganaug_core/runstats.py), as the Generate page's estimate reads it."""

from __future__ import annotations

import json

from ganaug_core.runstats import pace


def _stats(folder, lines) -> None:
    (folder / "stats.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_the_end_of_trainings_diversity_reading_does_not_count_as_pace(tmp_path):
    # A 30-step run at 128²: steps 5→25 took 24 s, and the last line's diversity reading and grids 12 s more, which
    # made the pace 0.4 steps/s where it trained 0.83 (the form then doubled a new run's estimate).
    _stats(tmp_path, [{"step": 5, "elapsed_s": 10.0}, {"step": 25, "elapsed_s": 34.0},
                      {"step": 30, "elapsed_s": 52.0, "diversity": {"0": 0.9}}])
    assert pace(tmp_path) == (20, 24.0, True)
    # With a line too few, the reading's line is all there is to measure between.
    _stats(tmp_path, [{"step": 5, "elapsed_s": 10.0}, {"step": 30, "elapsed_s": 52.0, "diversity": {"0": 0.9}}])
    assert pace(tmp_path) == (25, 42.0, True)
    # A last line without a reading counts as before.
    _stats(tmp_path, [{"step": 5, "elapsed_s": 10.0}, {"step": 25, "elapsed_s": 34.0}, {"step": 30, "elapsed_s": 40.0}])
    assert pace(tmp_path) == (25, 30.0, True)


def test_a_run_ending_a_step_after_its_first_line_is_timed_by_that_line(tmp_path):
    # A 2-minute run at 64² on a busy machine (2026-12-08): lines at step 25 (114 s) and 26, whose diversity reading
    # and grids took most of its 15 s. Between the two lines the pace was 1 step in 15 s, and the Generate page
    # told 1,500 steps "≈ 6 h 27 min" where the run had trained 0.22 steps/s (≈ 1 h 54 min).
    _stats(tmp_path, [{"step": 25, "elapsed_s": 114.37}, {"step": 26, "elapsed_s": 129.84, "diversity": {"0": 0.2}}])
    assert pace(tmp_path) == (25, 114.37, False)
