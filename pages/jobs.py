"""What every page that launches a worker job shows of it (Generate, Evaluate, Review's "Compute scores"): who
launched it and when, its place in the queue or that no worker runs, a live bar, Cancel, a failure in one line with
the traceback folded (to any other reviewer, only that it failed and whom to ask), and a job whose worker died marked
failed. Not a page itself (app.py never lists it).
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

import streamlit as st

from db.engine import session_scope
from db.jobs import ACTIVE, fail_stale_jobs, freshest_heartbeat, job_detail, jobs_ahead
from db.models import as_utc, db_now
from pages.ui import cancel_job, current_user, plain


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"


def clock(t: Optional[dt.datetime]) -> str:
    return "—" if t is None else t.strftime("%H:%M:%S")


def who_and_when(job: dict) -> str:
    said = f"Launched by {plain(job['actor'])} at {clock(job['created'])} UTC"
    if job["started"]:
        said += f", started {clock(job['started'])}"
    if job["finished"] and job["started"]:
        said += f", ended {clock(job['finished'])} (took {duration((job['finished'] - job['started']).total_seconds())})"
    return said + "." + (f" {cancelled_by(job)}" if job["status"] == "cancelled" else "")


def cancelled_by(job: dict) -> str:
    """'Cancelled by alice at 09:30:58 UTC; it stopped 3 s later.': who asked (`db.jobs.request_cancel`) and how long
    the job took to reach a point where it could stop; '' for a job cancelled before that was recorded."""
    by, asked = job["result"].get("cancelled_by"), job["result"].get("cancel_asked")
    try:
        asked = as_utc(dt.datetime.fromisoformat(asked)) if isinstance(asked, str) else None
    except ValueError:
        asked = None
    if not isinstance(by, str) or asked is None:
        return ""
    if job["started"] is None or job["finished"] is None:
        return f"Cancelled by {plain(by)} at {clock(asked)} UTC, before it started."
    return (f"Cancelled by {plain(by)} at {clock(asked)} UTC; it stopped "
            f"{duration(max(0.0, (job['finished'] - asked).total_seconds()))} later.")


def now() -> dt.datetime:
    """Now on the database's clock, the one the worker writes its times on: a team's machines, this one included,
    may each have their own clock minutes off."""
    with session_scope() as session:
        return db_now(session)


def worker_at_work() -> bool:
    """Whether a job worker runs: one of this GANAUG_HOME said so lately (each touches its own file), or a job of
    this database runs with a fresh heartbeat (a team's worker may run on another machine, on the same PostgreSQL
    database and the shared home, whose files a network mount may show late). An idle worker elsewhere leaves no
    trace here, but takes a queued job within a second of its queueing: a job still waiting with nothing running
    has no worker anywhere."""
    from ganaug.running_job import HEARTBEAT_S
    from ganaug.worker_alive import worker_seen_s

    fresh = max(15.0, 3 * HEARTBEAT_S)
    seen = worker_seen_s()
    if seen is not None and seen <= fresh:
        return True
    with session_scope() as session:
        beat = freshest_heartbeat(session)
        return beat is not None and (db_now(session) - beat).total_seconds() <= fresh


def waiting(job: dict, ahead: list[int]) -> None:
    """Why a queued job has not started: no worker runs at all, or it waits its turn."""
    if not worker_at_work():
        st.warning("No job worker is running, so this job waits. `ganaug app` starts one beside the app; an app "
                   "started another way (`streamlit run app.py`) needs one in a terminal, with the same "
                   "`GANAUG_HOME`: `ganaug worker`.", icon=":material/hourglass_disabled:")
    elif ahead:
        jobs = f"job {ahead[0]}" if len(ahead) == 1 else f"jobs {', '.join(map(str, ahead))}"
        st.caption(f"Queued behind {jobs}: the worker runs one job at a time, oldest first; this one starts when "
                   f"{'it ends' if len(ahead) == 1 else 'they end'}.")
    else:
        st.caption("Waiting for the worker to take it (it looks every second).")


def fail_if_worker_died(job: dict) -> Optional[dict]:
    """A running job whose worker stopped sending heartbeats is marked failed here too: an app whose worker died
    has no other worker to sweep it, and the page would show a frozen bar for good. One that no sweep may fail yet
    (its worker, on PostgreSQL, cut off from the database but still connected as far as the server knows) says
    how long it has had no heartbeat, and why it still runs."""
    from ganaug.job_messages import silent_worker_message
    from ganaug.running_job import STALE_AFTER_S

    beat = job["heartbeat"]
    if job["status"] != "running" or beat is None:
        return job
    if (now() - beat).total_seconds() <= STALE_AFTER_S:
        return job
    with session_scope(immediate=True) as session:
        fail_stale_jobs(session, STALE_AFTER_S)
    with session_scope() as session:
        job, at = job_detail(session, job["job"]), db_now(session)
    if job is not None and job["status"] == "running" and job["heartbeat"] is not None:
        silent_s = (at - job["heartbeat"]).total_seconds()
        if silent_s > STALE_AFTER_S:  # not swept: its worker's lease holds (a worker cut off from the database)
            job["message"] = silent_worker_message(silent_s)
    return job


def load_job(job_id: int) -> tuple[Optional[dict], list[int]]:
    """The job as it is now (marked failed if its worker died) and, while it is queued, the jobs ahead of it."""
    with session_scope() as session:
        job = job_detail(session, job_id)
        ahead = jobs_ahead(session, job_id) if job and job["status"] == "queued" else []
    return (fail_if_worker_died(job) if job is not None else None), ahead


def time_left(job: dict) -> Optional[float]:
    """Seconds the running stage of a job has left at the pace it moved since the stage started (the worker records
    when and where: `stage_started`, `stage_from`), the same in every tab; None until the bar has moved."""
    started, start = job["stats"].get("stage_started"), job["stats"].get("stage_from")
    if job["status"] != "running" or not 0 < job["progress"] < 1 or started is None or start is None:
        return None
    try:
        took = (now() - dt.datetime.fromisoformat(started)).total_seconds()
    except (TypeError, ValueError):
        return None
    moved = job["progress"] - float(start)
    return took * (1 - job["progress"]) / moved if moved >= 0.02 and took > 0 else None


def progress_bar(job: dict, prefix: str = "", pace: bool = False) -> None:
    """The live bar of a queued or running job, with what it does now in words; with `pace`, the time its stage
    has left (the Generate page's training says its own)."""
    text = job["message"] or job["status"]
    if pace and (left := time_left(job)) is not None:
        text += f" · ≈ {duration(left)} left at this pace"
    st.progress(min(1.0, max(0.0, job["progress"])), text=plain(prefix + text))


def cancel_or_wait(job: dict, ahead: list[int], key: str, stops: str = "the worker stops at its next step") -> None:
    """Under an active job's bar: Cancel, then what a requested cancel does (`stops`), or why a queued job waits."""
    st.button("Cancel", key=key, disabled=job["cancel_requested"], icon=":material/stop:", on_click=cancel_job,
              args=(job["job"],))
    if job["cancel_requested"]:
        by = job["result"].get("cancelled_by")
        st.caption(f"Cancel requested{f' by {plain(by)}' if isinstance(by, str) else ''}; {stops}.")
    elif job["status"] == "queued":
        waiting(job, ahead)


def launched_or_admin(job: dict) -> bool:
    """Whether the signed-in user launched `job` or is an admin: who may read its failure whole."""
    me = current_user() or {}
    return me.get("role") == "admin" or (me.get("id") is not None and me.get("id") == job.get("actor_id"))


# A job's kind in words, for whoever may not read why it failed.
KINDS = {"train_generate": "Training", "generate": "Generating", "evaluate": "Scoring", "benchmark": "Benchmark",
         "ingest": "Ingest"}


def ask_whom(job: dict) -> str:
    """Who can say why a job failed: whoever launched it, and the admins (as text: `plain` it for markdown)."""
    return f"{job['actor']} or an admin" if job.get("actor_id") is not None else "an admin"


def error_line(job: dict) -> str:
    """A failed job's first line as the signed-in user may read it: whole for its launcher and admins, who act on
    it; for any other reviewer only that it failed and whom to ask. The line can name what no reviewer needs: the
    server's files ('No such file or directory: /srv/…'), the database's host and role (a server out of reach), its
    SQL and values from the data (an unexpected database error's line holds '[SQL: INSERT …] [parameters: …]', the
    source file names of patients' images among them); hiding the paths alone left the rest."""
    if launched_or_admin(job):
        return job["error"] or ""
    return f"failed — ask {ask_whom(job)}" if job["error"] else ""


def failure(job: dict, said: str = "The job failed") -> None:
    """A failed job: to the reviewer who launched it and to admins, its error's first line, and the rest (the
    traceback) folded away for a bug report; to any other reviewer, the job's kind and whom to ask (`error_line`).
    Every reviewer who opens the page sees the job, but only those who act on it need why."""
    if not launched_or_admin(job):
        kind = f"{KINDS[job['kind']]} job" if job.get("kind") in KINDS else "Job"
        st.error(f"{kind} {job['job']} failed — ask {plain(ask_whom(job))}.", icon=":material/error:")
        st.caption("Why it failed, and its details for a bug report, show to whoever launched the job and to admins: "
                   "they can name the server's files, its database and values from the data.")
        return
    st.error(f"{said}: {plain(error_line(job) or 'no reason recorded')}", icon=":material/error:")
    if job["details"].strip() != job["error"]:
        with st.expander("Details (for a bug report)"):
            st.code(job["details"], language=None)


def newest_to_follow(rows: list[dict], me: str) -> Optional[int]:
    """What a new session (a reload, another tab) follows among `rows` (newest first): the newest job still in
    progress, or else `me`'s newest job, with what came of it."""
    return (next((j["job"] for j in rows if j["status"] in ACTIVE), None)
            or next((j["job"] for j in rows if j["actor"] == me), None))


def redraw_once_ended(job: dict, key: str, on_end=None) -> None:
    """A fragment redraws only itself: once, when its job ends, redraw the page so what is outside it (a table, the
    results) shows the end too. `on_end()` runs first (to clear a cache)."""
    if job["status"] not in ACTIVE and not st.session_state.get(key):
        st.session_state[key] = True
        if on_end is not None:
            on_end()
        st.rerun(scope="app")
