"""The Generate form's budget estimate: what the chosen steps or minutes take on this machine, timed by the newest
comparable run of the dataset (its stats.jsonl), and how long the last finished job took after its training. Not a
page itself (app.py never lists it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import streamlit as st

from db import run_views
from db.engine import session_scope
from db.jobs import after_training_s
from ganaug_core.runstats import FEW_STEPS, pace
from pages.jobs import duration

STEP_S_AT_128 = 1.2  # a training step at 128², 1 thread, 2 busy cores (3 colour classes, 2026-12-07; README)


def pace_layout(settings: dict) -> tuple:
    """What a step costs, from a run's config: the architecture (with its edge convs for dcgan), the side it
    trains at, the width and the batch size. A run from the command line may differ from the form in any of them
    (`--resolution 32` on a 64² dataset trains several times as many steps per second)."""
    arch = settings.get("arch")
    return (arch, bool(settings.get("edge_convs", True)) or arch != "dcgan", settings.get("resolution"),
            settings.get("width"), settings.get("batch_size"))


@st.cache_data(ttl=10, show_spinner=False)
def measured_pace(home_dir: str, dataset: str, layout: tuple) -> Optional[dict]:
    """The newest run of this dataset with the same `pace_layout`, and its wall-clock seconds per step
    (stats.jsonl). A run with a single stats line (a few steps: its time is mostly start-up) is used only when no
    comparable run has two."""
    with session_scope() as session:
        runs = run_views.trained_runs(session, dataset)
    rough = None
    for r in runs:
        if pace_layout(r) == layout and (found := pace(Path(home_dir) / r["run_dir"])):
            timed = {"run": r["run"], "s_per_step": found[1] / found[0]}
            if found[2]:
                return timed
            rough = rough or timed
    return rough or scaled_pace(home_dir, runs, layout)


def scaled_pace(home_dir: str, runs: list[dict], layout: tuple) -> Optional[dict]:
    """With no run of the layout, the newest timed run that differs only in its side, its seconds per step scaled by
    the pixels: a step at 128² cost 3.9× one at 64² (25 steps of a 3-class colour dataset, 2026-12-07). Without it
    a first 128² run from the form said nothing of the hours a large budget takes."""
    for r in runs:
        other = pace_layout(r)
        if other[:2] + other[3:] == layout[:2] + layout[3:] and other[2] and (found := pace(Path(home_dir) / r["run_dir"])):
            return {"run": r["run"], "s_per_step": found[1] / found[0] * (layout[2] / other[2]) ** 2,
                    "from_side": other[2], "side": layout[2]}
    return None


def budget_estimate(v: dict, found: Optional[dict], after: Optional[dict] = None, from_step: int = 0,
                    side: int = 0) -> str:
    """What the budget buys on this machine, timed by the last comparable run: a user choosing between 1,500 steps
    and 2 minutes wants to know how long the first is, and how many steps the second gives. `after`: how long the
    last finished job took after its training (generating and scoring), which can take longer than a short run;
    `from_step`: the step of the run it resumes; `side`: the side the run trains at."""
    then = (f"then generating and scoring (job {after['job']} took {duration(after['seconds'])} for that)" if after
            else "then generating and scoring")
    if v["only"]:
        return (f"No training: generating and scoring only (job {after['job']} took {duration(after['seconds'])} "
                "for that)." if after else "No training: generating and scoring only.")
    if found is None:
        first = "The first run on this dataset times the next ones: this form then says what a budget takes here."
        if side >= 128 and v["budget_kind"] == "steps" and v["budget"] > 0:  # a large budget would run for hours
            first += (f" A step at 128² took ≈ {STEP_S_AT_128:.1f} s on a busy 2-core machine: "
                      f"≈ {duration(v['budget'] * STEP_S_AT_128)} for {int(v['budget']):,} steps.")
        elif side >= 128 and v["budget"] > 0:  # minutes: 2 of them bought ≈ 50–100 steps of noise at 128²
            steps = int(v["budget"] * 60 / STEP_S_AT_128)
            first += (f" A step at 128² took ≈ {STEP_S_AT_128:.1f} s on a busy 2-core machine: ≈ {steps:,} steps in "
                      f"{v['budget']:g} min{too_few(steps)}.")
        return first
    if not v["budget"] or v["budget"] <= 0:
        return ""
    rate = 1 / found["s_per_step"]
    at = f"at the pace of run {found['run']} ({rate:.1f} steps/s)"
    if "from_side" in found:
        at = (f"roughly (run {found['run']}'s pace at {found['from_side']}², scaled by the pixels to "
              f"{found['side']}²: {rate:.1f} steps/s)")
    if v["budget_kind"] == "steps":  # a resumed run trains from where it stopped
        left = v["budget"] - from_step
        return f"≈ {duration(max(0, left) * found['s_per_step'])} of training {at}, {then}."
    steps = int(v["budget"] * 60 * rate)
    return f"≈ {steps:,} steps {at}{too_few(from_step + steps)}, {then}."


def too_few(steps: int) -> str:
    """Said of a budget in minutes that buys fewer steps than realistic samples need: 2 minutes bought ≈ 50 steps of
    noise at 128² on a busy machine, and the form gave the number alone."""
    return f", too few for realistic samples (fewer than {FEW_STEPS:,})" if steps < FEW_STEPS else ""


@st.cache_data(ttl=10, show_spinner=False)
def after_training(dataset: str) -> Optional[dict]:
    with session_scope() as session:
        return after_training_s(session, "train_generate", dataset)
