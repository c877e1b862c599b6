"""What the Review page says of a batch as a whole, above its grid: for a scored batch, `evaluate batch`'s verdict
(ganaug_core/batch_verdict.py) in the app's words, worst first; for one not scored yet, only what its run's diversity
monitor said. A reviewer opening 64 samples the classifier recognised 3 of was not told so before looking at them one
by one. A decided batch's (approved, rejected, revoked) is a record in a caption: what its scores say, without what to
do. Not a page itself (app.py never lists it).

Everything here is read, never computed: the scores and the class consistency the batch's scoring stored
(`db.review_queue.batch_scores`), and the run's last mode-collapse reading and threshold from its folder (cached).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from db import run_views
from db.engine import session_scope
from db.review_queue import batch_scores
from ganaug.shown_text import class_label
from ganaug_core.batch_verdict import batch_verdict
from ganaug_core.run_curves import DEFAULT_THRESHOLD, run_threshold
from ganaug_core.runstats import diversity_said, last_diversity, too_young_to_tell
from pages.ui import home, plain


@st.cache_data(ttl=60, show_spinner=False)
def collapse_reading(home_dir: str, run_id: int) -> tuple[dict, float]:
    """The last mode-collapse reading of the run that generated a batch ({} if it has none) and the run's
    threshold (its config.json's, else the default)."""
    with session_scope() as session:
        folder = run_views.run_dir(session, run_id)
    if not folder:
        return {}, DEFAULT_THRESHOLD
    return last_diversity(Path(home_dir) / folder), run_threshold(Path(home_dir) / folder)


def batch_said(state: dict) -> None:
    """The batch's verdict (scored) or its run's diversity note (not scored: no verdict to carry it)."""
    reading, threshold = collapse_reading(home(), state["run_id"])
    if state["scored"]:
        verdict(state, reading, threshold)
    else:
        collapse_note(state, reading)


def verdict(state: dict, reading: dict, threshold: float) -> None:
    """The findings, worst first, in one warning; "nothing stands out" in a caption. The run's diversity monitor is
    one of the findings, so the note `collapse_note` gives an unscored batch is not said besides."""
    with session_scope() as session:
        scores = batch_scores(session, state["batch"])
    names = state["class_names"]
    findings = batch_verdict(state["batch"], state["run_id"], class_label(state["class_index"], names),
                             scores["samples"], scores["memorized"], scores["consistency"], scores["mean_realism"],
                             reading, state["class_index"], threshold, two_classes=len(names) == 2, in_app=True,
                             rejected_memorized=scores["rejected_memorized"])
    if state["status"] != "pending":
        decided(state, findings)
        return
    said = [f"{plain(f.said[:1].upper() + f.said[1:])}: {plain(f.todo)}." for f in findings]
    if findings[0].finding == "fine":
        st.caption(f"This batch as a whole: {said[0]}")
        return
    st.warning("**This batch as a whole**, worst first:\n" + "\n".join(f"- {s}" for s in said),
               icon=":material/warning:")


def decided(state: dict, findings: list) -> None:
    """A decided batch's verdict as a record, in a caption: what its scores say, without what to do. Its advice
    ("train longer before reviewing", "look at the samples below before approving") read as orders on a batch
    approved or rejected already; a reviewer about to revoke one still reads what its scores said."""
    said = [plain(f.said[:1].upper() + f.said[1:]) for f in findings]
    if len(said) == 1:
        st.caption(f"What this {state['status']} batch's scores say as a whole: {said[0]}.")
        return
    st.caption(f"What this {state['status']} batch's scores say as a whole, worst first:\n"
               + "\n".join(f"- {s}." for s in said))


def collapse_note(state: dict, reading: dict) -> None:
    """The run's diversity monitor on the batch's class: a note for a run too young to tell, a warning otherwise; on
    a decided batch, what it said in a caption, without what to do (as `decided`)."""
    index = state["class_index"]
    if index not in reading.get("collapsed", []):
        return
    name = plain(state["class_names"][index])
    if too_young_to_tell(reading.get("step")):
        said = (f"The run behind this batch trained only {reading['step']} steps: its samples of {name} still vary "
                f"little ({diversity_said(reading, index)}), as every class does that early.")
        todo, show = " Train the run further before relying on this batch.", st.info
    else:
        # diversity_said: a class of one real image is measured against the others'
        said = (f"The run behind this batch ended with class {name} flagged by its diversity monitor: its samples' "
                f"spread is {diversity_said(reading, index)} (possible mode collapse).")
        todo, show = " Check the grid for repeats before approving.", st.warning
    if state["status"] != "pending":
        st.caption(said)
        return
    show(said + todo, icon=":material/info:" if show is st.info else ":material/warning:")
