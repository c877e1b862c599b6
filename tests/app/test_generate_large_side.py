"""The Generate form's budget at a side no run trained at yet: a first 128² run, or one above the last run's side,
said nothing of what its steps take, so a reviewer could launch hours of training without being told."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import session_scope
from db.models import Dataset
from tests.app.conftest import app_test
from tests.app.test_generate import timed_run


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_a_side_no_run_trained_at_is_estimated_from_a_smaller_run_scaled_by_its_pixels(users, digits):
    # digits are 16²; the only timed run trained at 8² with the form's other settings: 200 steps in 50 s after its
    # first stats line (4 steps/s), so a step at 16², four times the pixels, is estimated at 1 s.
    layout = {"arch": "dcgan", "edge_convs": True, "resolution": 8, "width": 16, "batch_size": 32}
    lines = [{"step": 25, "elapsed_s": 17.0}, {"step": 125, "elapsed_s": 42.0}, {"step": 225, "elapsed_s": 67.0}]
    run_id = timed_run(digits, "small", layout, 225, lines)

    at = app_test(users["rita"], "generate.py")
    at.number_input(key="gen_budget").set_value(1500.0).run()
    assert (f"≈ 25 min of training roughly (run {run_id}'s pace at 8², scaled by the pixels to 16²: 1.0 steps/s), "
            "then generating and scoring.") in captions(at)
    at.checkbox(key="gen_edge_convs").uncheck().run()  # another layout: no run of it to scale from
    assert any(c.startswith("The first run on this dataset times the next ones") for c in captions(at))


def test_a_first_run_at_128_says_what_its_steps_take(users, digits):
    with session_scope() as session:  # the form reads the side from the dataset's row; no 128² image is made
        session.scalars(select(Dataset).where(Dataset.name == digits)).one().resolution = 128
    at = app_test(users["rita"], "generate.py")
    at.number_input(key="gen_budget").set_value(6000.0).run()
    assert ("The first run on this dataset times the next ones: this form then says what a budget takes here. "
            "A step at 128² took ≈ 1.2 s on a busy 2-core machine: ≈ 2 h 00 min for 6,000 steps.") in captions(at)


def test_a_first_run_at_128_in_minutes_says_how_few_steps_they_buy(users, digits):
    # 2 minutes at 128² bought ≈ 50–100 steps on 2 busy cores (1.2–2.3 s a step): noise, and the form said only
    # that the first run times the next ones.
    with session_scope() as session:
        session.scalars(select(Dataset).where(Dataset.name == digits)).one().resolution = 128
    at = app_test(users["rita"], "generate.py")
    at.radio(key="gen_budget_kind").set_value("minutes").run()
    at.number_input(key="gen_budget").set_value(2.0).run()
    assert ("The first run on this dataset times the next ones: this form then says what a budget takes here. "
            "A step at 128² took ≈ 1.2 s on a busy 2-core machine: ≈ 100 steps in 2 min, too few for realistic "
            "samples (fewer than 500).") in captions(at)
    at.number_input(key="gen_budget").set_value(30.0).run()
    assert any(c.endswith("≈ 1,500 steps in 30 min.") for c in captions(at))


def test_minutes_that_buy_too_few_steps_at_the_last_runs_pace_are_said_too_few(users, digits):
    # The last run of the form's layout (digits are 16²) trained at 2 steps/s (a 128² run on a busy machine: 0.44):
    # 2 minutes buy 240 steps, and the form gave the number alone.
    layout = {"arch": "dcgan", "edge_convs": True, "resolution": 16, "width": 16, "batch_size": 32}
    lines = [{"step": 25, "elapsed_s": 17.0}, {"step": 125, "elapsed_s": 67.0}, {"step": 225, "elapsed_s": 117.0}]
    run_id = timed_run(digits, "slow", layout, 225, lines)
    at = app_test(users["rita"], "generate.py")
    at.radio(key="gen_budget_kind").set_value("minutes").run()  # 2 min by default
    assert (f"≈ 240 steps at the pace of run {run_id} (2.0 steps/s), too few for realistic samples (fewer than 500), "
            "then generating and scoring.") in captions(at)
    at.number_input(key="gen_budget").set_value(5.0).run()
    assert f"≈ 600 steps at the pace of run {run_id} (2.0 steps/s), then generating and scoring." in captions(at)
