"""The Generate page's jobs: the one it follows (its place in the queue, live progress with the time left, Cancel, and
what came of it, with the next step) and the table of recent jobs. What every job page shows is in pages/jobs.py.
Not a page itself (app.py never lists it).

A button here that changes the form above (resume a cancelled run, generate more from a finished one) cannot set the
form's widgets from inside the fragment: it leaves `gen_next` in session state and reruns the app, whose form
applies it before drawing its widgets (`apply_next`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import streamlit as st

from db import run_views
from db.engine import session_scope
from db.jobs import ACTIVE
from ganaug_core.runstats import stats_said, too_young_to_tell
from pages.jobs import (cancel_or_wait, duration, error_line, failure, load_job, progress_bar, redraw_once_ended,
                        who_and_when)
from pages.run_curves import folded_curves, show_curves
from pages.tables import table_columns
from pages.ui import RETRIED, database_checked, home, plain, show_image

JOB_KINDS = ("train_generate", "generate")  # what the Generate form launches: train and generate, or generate only
GRID_PX = 480  # a small run's overview grid is drawn this wide at least (a 16² digits grid is 182 px)
# A grid up to this size is shown at its own size. Scaled down to GRID_PX by nearest neighbour, a 64² run's grid
# (662 px wide) lost every fourth pixel row and column, and with them the thin crack the team trains for. A larger
# one (100 classes: thousands of pixels tall) stays at GRID_PX: its rows are unreadable at any size that fits a page.
GRID_NATIVE_MAX_PX = 1400
NAMED_ROWS = 12  # the caption names the classes of the grid's rows up to this many
# The jobs table's columns, what happened right after the status: in Streamlit's order (who, when, progress, then
# the message) the table was 1,004 px wide and its message started at 455 px, mostly out of the 562 px a 1024-px
# screen leaves beside the sidebar. Job, Status and Last message have widths that fit those 562 px, 548 in all; a
# longer message (a cancelled job's says which batches it made) shows whole on a double click.
QUEUE_COLUMNS = ["job", "status", "message", "progress", "run", "actor", "created"]
QUEUE_WIDTHS = {"job": 48, "status": 80, "message": 420}


def training_left(stats: dict, total: int) -> Optional[float]:
    """Seconds of training left: a step budget at the pace of the steps this job trained so far, a minute budget
    from its clock."""
    elapsed, fraction = stats.get("elapsed_s"), stats.get("budget_fraction")
    if not elapsed:
        return None
    if fraction:  # a minute budget
        return elapsed * (1 - fraction) / fraction
    trained = (stats.get("step") or 0) - (stats.get("first_step") or 0)
    return elapsed / trained * (total - stats["step"]) if total and trained > 0 else None


def training_line(stats: dict, total: int) -> str:
    """'1 min so far · ≈ 30 s of training left · loss D 1.93, G 0.67 · augmentation p 0.04 · 376 images/s'."""
    parts = []
    if stats.get("elapsed_s") is not None:
        parts.append(f"{duration(stats['elapsed_s'])} so far")
    if (left := training_left(stats, total)) is not None:
        parts.append(f"≈ {duration(left)} of training left, then generating and scoring")
    return " · ".join(parts + stats_said(stats))


def job_run(job: dict) -> tuple[Optional[int], Optional[str]]:
    """The run the job trains or generates from, and its folder (relative to the home); (None, None) before it has
    one (a job still queued)."""
    run_id = job["run"] or job["result"].get("run_id") or job["stats"].get("run_id")
    if not run_id:
        return None, None
    with session_scope() as session:
        return run_id, run_views.run_dir(session, run_id)


def latest_grid(job: dict) -> Optional[str]:
    """The newest overview grid the training loop wrote."""
    _, run_dir = job_run(job)
    grids = sorted((Path(home()) / run_dir / "grids").glob("step*.png")) if run_dir else []
    return str(grids[-1]) if grids else None


def curves(job: dict, class_names: list[str]) -> None:
    """The run's training curves: open while the job trains it, folded once it ended (its outcome comes first then)
    and under a job that only generates from it."""
    run_id, run_dir = job_run(job)
    if run_dir is None:
        return
    key, dataset = f"gen_curves_{job['job']}", job["params"].get("dataset")
    if job["status"] in ACTIVE and job["kind"] == "train_generate":
        show_curves(run_dir, dataset, class_names, key)
    else:
        folded_curves(run_id, run_dir, dataset, class_names, key)


def grid_px(path: str) -> int:
    """The size to draw an overview grid at, on its longer side (see GRID_NATIVE_MAX_PX)."""
    from PIL import Image

    try:
        with Image.open(path, formats=("PNG",)) as im:  # the header alone
            side = max(im.size)
    except (OSError, ValueError):
        return GRID_PX  # gone or unreadable: the placeholder says so
    return side if GRID_PX < side <= GRID_NATIVE_MAX_PX else GRID_PX


def grid_caption(class_names: list[str]) -> str:
    """What the overview's rows are, in words a screen reader and a search find (the grid names them in its margin,
    ASCII letters only): a rare class that resembles a common one (a cracked disc, a disc) is told apart by its row."""
    if not class_names or len(class_names) > NAMED_ROWS:
        return "latest samples (one row per class, in class order)"
    return "latest samples, one row per class, top to bottom: " + ", ".join(plain(n) for n in class_names)


def set_next(**values) -> None:
    """Fill the form above with `values` (widget keys without their `gen_` prefix) and let this job go."""
    st.session_state["gen_next"] = values
    st.rerun(scope="app")


def apply_next() -> None:
    """Before the form's widgets are drawn: the values a button below asked for (see `set_next`)."""
    if (values := st.session_state.pop("gen_next", None)) is not None:
        for key, value in values.items():
            st.session_state[f"gen_{key}"] = value
        st.session_state.pop("generate_job", None)
        st.session_state.pop("generate_checked", None)


def review_buttons(job_id: int, batches: list[int], class_of: dict) -> None:
    """One button per batch: it opens the Review page on that batch."""
    for b in batches:
        label = f"Review batch {b}" + (f" (class {plain(class_of[b])})" if b in class_of else "")
        if st.button(label, key=f"gen_review_{job_id}_{b}", icon=":material/fact_check:"):
            st.session_state["review_batch"] = b
            st.switch_page("pages/review.py")


def class_list(names: list[str]) -> str:
    """'class 8' or 'classes 8, 9', counted right: it said "class(es) 8" of one."""
    return f"class{'es' * (len(names) != 1)} {plain(', '.join(names))}"


def finished(job: dict, class_names: list[str]) -> None:
    batches = [int(b) for b in job["result"].get("batch_ids") or []]
    run_id = job["run"] or job["result"].get("run_id")
    ready = ("no batch was generated" if not batches else f"batch {batches[0]} is ready for review"
             if len(batches) == 1 else f"batches {', '.join(map(str, batches[:-1]))} and {batches[-1]} are ready for review")
    trained = "finished" if job["kind"] == "train_generate" else "generated"
    st.success(f"Run {run_id} {trained}; {ready}.", icon=":material/check_circle:")
    collapsed = job["result"].get("collapsed_classes") or []  # class names
    generated = {class_names[c] for c in job["params"].get("classes") or [] if c < len(class_names)}
    mine = [c for c in collapsed if c in generated] if generated else collapsed
    step = job["result"].get("run_step")
    if mine and too_young_to_tell(step):  # every class of a generator this young looks alike: no collapse yet
        st.info(f"Samples of {class_list(mine)} still vary much less than the real images: after only "
                f"{step} steps that is expected, before the generator has learned the classes. Train it further "
                f"(run {run_id} under “Start from run”, “Only generate from it” left off) before relying on its batches.",
                icon=":material/info:")
    elif mine:
        st.warning(f"The run's diversity monitor flagged {class_list(mine)}: {'its' if len(mine) == 1 else 'their'} samples vary much "
                   "less than the real images (possible mode collapse). Look at the grid above before approving; "
                   "training longer usually helps.", icon=":material/warning:")
    if others := [c for c in collapsed if c not in mine]:
        st.caption(f"The monitor also flagged {class_list(others)}, which this run generated no batch of.")
    params_classes = job["params"].get("classes") or []
    class_of = {b: class_names[c] for b, c in zip(batches, params_classes) if c < len(class_names)}
    review_buttons(job["job"], batches, class_of)
    if run_id and st.button(f"Generate more from run {run_id}", key=f"gen_more_{job['job']}",
                                    icon=":material/add_photo_alternate:"):
        set_next(dataset=job["params"].get("dataset"), classes=job["params"].get("classes") or [], resume=run_id,
                 only=True)


def cancelled(job: dict, runs: dict) -> None:
    st.warning(plain(job["message"] or "Cancelled."), icon=":material/stop_circle:")
    run = runs.get(job["run"])
    if run is not None and run["status"] == "cancelled" and run["step"]:
        if st.button(f"Resume run {run['run']}", key=f"gen_resume_{job['job']}", icon=":material/resume:"):
            set_next(dataset=job["params"].get("dataset"), classes=job["params"].get("classes") or [],
                     resume=run["run"], only=False)


def failed_part_way(job: dict, class_names: list[str], runs: dict) -> None:
    """A job that failed after recording a run and some batches: those batches to review, and a button that
    generates only the classes it did not reach from that run (the whole job again would make them twice); for a
    training job whose worker died before its run finished, one that resumes the run."""
    batches = [int(b) for b in job["result"].get("batch_ids") or []]
    classes = [int(c) for c in job["params"].get("classes") or []]
    class_of = {b: class_names[c] for b, c in zip(batches, classes) if c < len(class_names)}
    review_buttons(job["job"], batches, class_of)
    rest = classes[len(batches):]
    run = runs.get(job["run"])
    if run is not None and run["status"] != "done" and job["kind"] == "train_generate":
        if st.button(f"Resume run {run['run']}", key=f"gen_resume_{job['job']}", icon=":material/resume:"):
            set_next(dataset=job["params"].get("dataset"), classes=classes, resume=run["run"], only=False)
    elif run is not None and rest and st.button(f"Generate the rest from run {job['run']}",
                                                key=f"gen_rest_{job['job']}", icon=":material/add_photo_alternate:"):
        set_next(dataset=job["params"].get("dataset"), classes=rest, resume=job["run"], only=True)


@st.fragment(run_every=2)
@database_checked(RETRIED)
def job_panel(job_id: int, class_names_of: dict[str, list[str]], runs: dict, on_end=None) -> None:
    """The job the page follows, redrawn every 2 s; `class_names_of`: each dataset's class names; `runs`: the runs
    the form offers to start from, by id; `on_end()` runs once when the job ends (the form's cached runs)."""
    job, ahead = load_job(job_id)
    if job is None:
        return
    st.header(f"Job {job['job']}: {job['status']}")
    st.caption(who_and_when(job))
    if note := job["stats"].get("resume_note") or job["result"].get("resume_note"):  # a resume's unused checkpoint
        st.warning(plain(note[0].upper() + note[1:] + "."), icon=":material/history:")
    if job["status"] in ACTIVE:
        progress_bar(job)
        if job["stats"].get("stage") == "train":
            st.caption(training_line(job["stats"], int(job["params"].get("config", {}).get("steps") or 0)))
    names = class_names_of.get(job["params"].get("dataset"), [])
    grid = job["stats"].get("grid") or latest_grid(job)
    if grid:
        show_image(grid, caption=grid_caption(names), size=grid_px(grid))
    if job["status"] in ACTIVE:
        cancel_or_wait(job, ahead, f"cancel_{job_id}", stops="the worker stops at its next step and keeps a checkpoint")
    elif job["status"] == "done":
        finished(job, names)
    elif job["status"] == "failed":
        failure(job)
        failed_part_way(job, names, runs)
    elif job["status"] == "cancelled":
        cancelled(job, runs)
    curves(job, names)  # below Cancel and the outcome's buttons, which stay where they were
    redraw_once_ended(job, f"gen_job_ended_{job_id}", on_end)


def queue_columns() -> dict:
    """The jobs table's column_config: its headers, and the widths that keep the message in sight (QUEUE_WIDTHS)."""
    return {name: {**column, **({"width": QUEUE_WIDTHS[name]} if name in QUEUE_WIDTHS else {})}
            for name, column in table_columns(QUEUE_COLUMNS).items()}


def queue_table(rows: list[dict]) -> list[dict]:
    """The jobs table's rows, in QUEUE_COLUMNS' order: what each job says now (or took, once ended), who launched it
    and when."""
    out = []
    for r in rows:
        said = error_line(r) or r["message"]  # the line as `failure` shows it to this user
        if r["status"] == "done" and r["started"] and r["finished"]:
            batches = r["result"].get("batch_ids") or []
            said = (f"took {duration((r['finished'] - r['started']).total_seconds())}"
                    + (f"; batches {', '.join(map(str, batches))}" if batches else ""))
        out.append(dict(job=r["job"], status=r["status"], message=said or None, progress=r["progress"],  # none: "–"
                        run=r["run"], actor=r["actor"], created=r["created"]))
    return out
