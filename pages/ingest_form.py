"""The Overview's "Add a dataset" (admins only): a folder on the server, or demo:digits, ingested by the job worker.

A team whose members never open a shell adds its datasets here. Before anything starts, the form shows what the
folder holds, by file names alone (`ganaug_core.folder_preview`), and refuses what `ganaug data ingest` would refuse
or should not be asked: no such folder, a file, one the server cannot read, one inside GANAUG_HOME's own folders, no
class folders, a taken name. The ingest runs as a job (`ganaug.job_handlers.ingest`), all of it or nothing, so Cancel
leaves no dataset behind; the log's event names the admin who launched it. Not a page itself (app.py never lists it).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Optional

import pandas as pd
import streamlit as st

from db.datasets import find_dataset
from db.engine import session_scope
from db.jobs import ACTIVE, queue_rows, submit_job
from ganaug_core.datasets import DEMO_NAME, DEMO_TEST_FRACTION, DEFAULT_TEST_FRACTION, IngestOptions
from ganaug_core.errors import GanaugError
from ganaug_core.dataset_sources import source_side
from ganaug_core.folder_preview import FolderPreview, preview_folder
from ganaug_core.imageio import IMAGE_SUFFIXES
from ganaug_core.training.config import MAX_RESOLUTION
from pages.jobs import cancel_or_wait, failure, load_job, progress_bar, redraw_once_ended, who_and_when
from pages.tables import MISSING, text_cells
from pages.ui import RETRIED, acting_user, database_checked, decision_errors, plain

JOB_KIND = "ingest"
PASSED_OVER_SHOWN = 10  # the preview lists this many of what the ingest would leave out
SIZED_PER_CLASS = 3  # the preview reads the size of this many images of each class folder (their headers alone)
SIZED_AT_MOST = 60  # … and of this many in all: a catalogue of 500 classes answers as fast as one of 5
# What the Overview says to an admin of a home with no dataset (reviewers read ui.NO_DATASET).
ADMIN_NO_DATASET = ("**No dataset yet.** Add one below: a folder on the server with one sub-folder per class, or "
                    "`demo:digits` to try the tool first. In a terminal: `ganaug data ingest PATH/TO/FOLDER --name "
                    "NAME`.")


@st.cache_data(ttl=10, show_spinner=False, max_entries=8)
def preview(source: str, follow_links: bool) -> tuple[Optional[FolderPreview], Optional[str]]:
    """The folder's classes and image files (or why it cannot be ingested), for 10 s: the form redraws at every
    keystroke, and a large folder takes a second to list."""
    try:
        return preview_folder(source, follow_links), None
    except GanaugError as e:
        return None, str(e)
    except OSError as e:  # an entry of the folder itself that cannot be looked at (a link into a closed folder)
        said = f"{source} cannot be read by the server: {e.strerror or e}"
        return None, said + (f": {e.filename}" if e.filename else "")


@st.cache_data(ttl=10, show_spinner=False, max_entries=8)
def images_side(folder: str, classes: tuple[str, ...], follow_links: bool) -> Optional[int]:
    """The images' usual side, as the ingest will measure it (`source_side`: the median shorter side), from the
    headers of the first few files of each class folder; None where none could be read. An admin who does not know
    what "resolution" means left it at 32 for 64² photos, and learnt only after the ingest that they had been shrunk
    2×, for good."""
    from ganaug_core.folder_preview import outside_roots
    from ganaug_core.imageio import ImageRejected, peek_size

    sizes = []
    for name in classes:
        folder_of_class = Path(folder) / name
        if folder_of_class.is_symlink() and not follow_links:
            continue
        # Nothing read behind a link out of GANAUG_INGEST_ROOTS, which the preview and the ingest pass over.
        for f in [f for f in first_images(folder_of_class, follow_links, SIZED_PER_CLASS) if not outside_roots(f)]:
            # Its header alone, by the decoders the ingest uses: Image.open tried all of Pillow's 43 formats on a file
            # of a folder someone handed over, and a pipe swapped in for an image kept the admin's page waiting.
            try:
                sizes.append(peek_size(f))
            except ImageRejected:  # the ingest says why; this only estimates
                continue
        if len(sizes) >= SIZED_AT_MOST:
            break
    return source_side(sizes) if sizes else None


def first_images(folder: Path, follow_links: bool, n: int) -> list[Path]:
    """Up to `n` image files of `folder`, in the order the folder lists them. The whole listing sorted, each entry
    looked up, took 12 s for a class folder of 200,000 files (at each redraw once the cache's 10 s had passed), and
    one link there that could not be looked up (a name too long, a closed folder) left the class unmeasured."""
    found: list[Path] = []
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                if Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                try:
                    if (follow_links or not entry.is_symlink()) and entry.is_file():
                        found.append(Path(entry.path))
                except OSError:
                    continue
                if len(found) >= n:
                    break
    except OSError:  # a class folder this account may not read: the ingest says so
        pass
    return found


def shrink_warning(side: Optional[int], resolution: int) -> Optional[str]:
    """What the chosen resolution does to images of `side`, said before the ingest, where 2× or more is lost."""
    if side is None or side < 2 * resolution:
        return None
    keep = min(side, MAX_RESOLUTION)
    factor = f"{side / resolution:.0f}×"
    return (f"These images are about {side}×{side} pixels: at a resolution of {resolution} each is shrunk {factor}, "
            f"and detail finer than {factor[:-1]} pixels (a fine edge, a thin crack) blurs away. The resolution "
            f"cannot be changed once ingested; {keep} keeps " + ("their detail" if keep == side else "the most a run "
            "trains at") + ", and larger images train more slowly (a step at 64² takes ≈ 3× one at 32²).")


def form_values() -> dict:
    """The form's widgets, with the defaults `ganaug data ingest` has."""
    values = {}
    values["source"] = st.text_input(
        "Folder on the server", key="ingest_source", placeholder="/srv/data/parts",
        help="The whole path of a folder this server can read (not your computer's), holding one sub-folder of "
             f"images per class (png, jpg, bmp, tif, webp, gif), each named after its class; or {DEMO_NAME}, the "
             "built-in handwritten digits.").strip()
    demo = values["source"] == DEMO_NAME
    c1, c2, c3 = st.columns(3)
    values["name"] = c1.text_input("Name", key="ingest_name", help="The name the dataset is known by in every page "
                                   "and command: up to 100 characters, no slashes")
    values["resolution"] = c2.number_input(
        "Resolution (side in pixels)", min_value=8, max_value=1024, value=32, step=1, key="ingest_resolution",
        help="Every image is stored as a square of this side. Choose one at which your smallest defect still "
             "shows: 32 shrinks a 128×128 photo 4×. Fixed once ingested; 128 is the largest a run trains at.")
    default_fraction = DEMO_TEST_FRACTION if demo else DEFAULT_TEST_FRACTION
    values["test_fraction"] = c3.number_input(
        "Test fraction", min_value=0.01, max_value=0.99, value=None, step=0.05, key="ingest_test_fraction",
        placeholder=f"{default_fraction:.2g} (default)",
        help="Share of each class held out as the locked test split, which no run trains on (a class of 2 images "
             "or more keeps one)")
    c4, c5, c6 = st.columns(3)
    values["seed"] = int(c4.number_input("Seed of the split", min_value=0, value=0, step=1, key="ingest_seed"))
    values["bit_depth"] = c5.number_input(
        "Bit depth of 16-bit images", min_value=8, max_value=16, value=None, step=1, key="ingest_bit_depth",
        placeholder="16 (default)", disabled=demo,
        help="The bits a folder's 16-bit images use: their values are scaled 2^N − 1 → 255 (12 for a 12-bit "
             "camera's, which 16 stores nearly black)")
    values["follow_links"] = c6.checkbox(
        "Follow links", value=True, key="ingest_follow_links",
        help="Unticked, every link inside the folder (to a file or a folder) is passed over and listed: a folder "
             "handed over may link to /etc or to another patients' store")
    return values


def refusal(values: dict, found: Optional[FolderPreview], why: Optional[str]) -> Optional[str]:
    """Why the ingest is not launched, in one line, or None."""
    from ganaug.datasets import validate_name

    if values["source"] != DEMO_NAME and found is None:
        return why or "give the path of a folder on the server, or demo:digits"
    name = values["name"]
    if not name:
        return "give the dataset a name"
    options = IngestOptions(resolution=int(values["resolution"]), test_fraction=values["test_fraction"],
                            bit_depth=None if values["source"] == DEMO_NAME else values["bit_depth"])
    try:
        validate_name(name)
        options.validate()
    except GanaugError as e:
        return str(e).replace("--name", "the name")
    with session_scope() as session:
        if find_dataset(session, name) is not None:
            return f"dataset {name!r} already exists: choose another name"
        ahead = [j["job"] for j in queue_rows(session, (JOB_KIND,), limit=50)
                 if j["status"] in ACTIVE and j["params"].get("dataset") == name]
    if ahead:
        return f"job {ahead[0]} is ingesting a dataset named {name!r} already: choose another name"
    return None


def show_preview(found: FolderPreview) -> None:
    """The class folders and their image files, by name (nothing decoded yet)."""
    rows = pd.DataFrame([dict(cls=c, images=n) for c, n in found.classes])
    st.caption(f"{plain(found.folder)} holds {found.images:,} image files in {len(found.classes)} class folders "
               "(counted by their names: the ingest reads them, and leaves out any it cannot)")
    st.dataframe(text_cells(rows), hide_index=True, placeholder=MISSING, key="ingest_preview",
                 column_config={"cls": st.column_config.TextColumn("Class"),
                                "images": st.column_config.NumberColumn("Image files", format="%d")})
    empty = [c for c, n in found.classes if not n]
    if empty:
        st.caption(f"No image file in {plain(', '.join(empty))}: left out.")
    if found.loose:
        st.caption(f"{found.loose:,} image files lie in the folder itself, in no class: left out.")
    if found.links:  # before the ingest: afterwards it is too late to see that a class was another store's
        shown = "; ".join(f"{link} → {target}" for link, target in found.links[:PASSED_OVER_SHOWN])
        more = len(found.links) - PASSED_OVER_SHOWN
        st.caption(plain(f"Links followed, their images ingested with the folder's: {shown}"
                         + (f"; and {more:,} more" if more > 0 else "") + ". Untick Follow links to pass over them."))
    if found.passed_over:
        shown = "; ".join(f"{p}: {why}" for p, why in found.passed_over[:PASSED_OVER_SHOWN])
        more = len(found.passed_over) - PASSED_OVER_SHOWN
        st.caption(plain(f"Passed over: {shown}" + (f"; and {more:,} more" if more > 0 else "")))


def launch(values: dict) -> None:
    """Queue the ingest as the signed-in admin (checked now: an account demoted since it signed in is refused)."""
    params = dict(source=values["source"], dataset=values["name"], resolution=int(values["resolution"]),
                  test_fraction=values["test_fraction"], seed=values["seed"], follow_links=values["follow_links"],
                  bit_depth=None if values["source"] == DEMO_NAME else values["bit_depth"])
    nonce = st.session_state.setdefault("ingest_nonce", secrets.token_hex(8))
    key = hashlib.sha256((nonce + JOB_KIND + json.dumps(params, sort_keys=True)).encode()).hexdigest()
    try:
        with acting_user(outcome="no ingest was launched") as (session, me):
            if me.role != "admin":
                raise PermissionError(f"{me.name!r} is a {me.role}; only admins add datasets: no ingest was launched")
            st.session_state["ingest_job"] = submit_job(session, JOB_KIND, params, submit_key=key,
                                                        requested_by=me.id).id
    except decision_errors() as e:
        st.session_state["ingest_refused"] = str(e)


def outcome(job: dict) -> None:
    """What an ended ingest made, or why it did not."""
    r = job["result"]
    if job["status"] == "done":
        channels = f"{r.get('channels')} channel{'s' * (r.get('channels') != 1)}"
        st.success(plain(f"Dataset {r.get('dataset')!r} ingested: {r.get('images', 0):,} images in "
                         f"{r.get('classes', 0)} classes, stored at {r.get('resolution')}² ({channels})."),
                   icon=":material/check_circle:")
        notes = []
        if r.get("skipped"):
            notes.append(f"{r['skipped']:,} files or folders were left out")
        if r.get("links"):
            notes.append(f"{r['links']:,} links were followed")
        if r.get("stretched"):
            notes.append(f"{r['stretched']:,} images far from square were stretched to a square")
        if r.get("small"):
            notes.append(f"{r['small']:,} images much smaller than the others were enlarged")
        if r.get("frames"):
            notes.append(f"{r['frames']:,} files of several frames or pages gave their first only")
        side, res = r.get("source_side"), r.get("resolution")
        if side and res and side >= 2 * res:
            notes.append(f"the images (≈ {side}² before) were shrunk {side / res:.0f}× to {res}²")
        if notes:  # the command as code, outside plain(): escaped, its backticks showed as they are
            st.caption(plain("; ".join(notes).capitalize() + ". Its line under Datasets above says more, and")
                       + " `ganaug data report` lists each file.")
        if side and res and side >= 2 * res:  # what to do about it, without a shell
            st.info(plain(f"To keep more of the images' detail, add the folder again under another name with a "
                          f"resolution of {min(side, MAX_RESOLUTION)}: a dataset's resolution is fixed once "
                          "ingested."), icon=":material/photo_size_select_small:")
        ingest_notes(r.get("notes") or [])
    elif job["status"] == "failed":
        failure(job, "The ingest failed; nothing of the dataset was written")
    else:
        st.warning(plain(job["message"] or "Cancelled: nothing of the dataset was written."),
                   icon=":material/stop_circle:")


def ingest_notes(notes: list[str]) -> None:
    """What `ganaug data ingest` says beside its report, in the app's words (the job's `notes`): 16-bit images of a
    12-bit camera stored nearly black, identical images and near-copies, a rare class with too few test images, …
    Warnings as warnings; notes as information."""
    for line in notes:
        kind, _, said = line.partition(": ")
        said = said[:1].upper() + said[1:]
        if kind == "warning":
            st.warning(plain(said), icon=":material/warning:")
        else:
            st.info(plain(said), icon=":material/info:")


@st.fragment(run_every=2)
@database_checked(RETRIED)
def job_panel(job_id: int, on_end=None) -> None:
    """The ingest the form launched, redrawn every 2 s: its bar and Cancel, then what came of it."""
    job, ahead = load_job(job_id)
    if job is None:
        return
    st.markdown(f"**Job {job['job']}: ingest of {plain(repr(job['params'].get('dataset')))}, {job['status']}**")
    st.caption(who_and_when(job))
    if job["status"] in ACTIVE:
        progress_bar(job, pace=True)
        cancel_or_wait(job, ahead, f"ingest_cancel_{job_id}",
                       stops="the ingest stops at its next step and writes nothing of the dataset")
    else:
        outcome(job)
    redraw_once_ended(job, f"ingest_job_ended_{job_id}", on_end)


def add_dataset(expanded: bool, on_end=None) -> None:
    """The form, its preview and the job it launched, in an expander (open while the home has no dataset or a job
    is followed). `on_end()`: runs once the job ends (the Overview's cached tables)."""
    # A new session (a reload, another tab) follows the ingest still in progress, once: "Add another dataset"
    # lets it go.
    if "ingest_job" not in st.session_state and not st.session_state.get("ingest_followed"):
        st.session_state["ingest_followed"] = True
        with session_scope() as session:
            running = [j["job"] for j in queue_rows(session, (JOB_KIND,), limit=5) if j["status"] in ACTIVE]
        if running:
            st.session_state["ingest_job"] = running[0]
    with st.expander("Add a dataset", icon=":material/upload_file:",
                     expanded=expanded or "ingest_job" in st.session_state):
        if "ingest_job" in st.session_state:
            job_panel(st.session_state["ingest_job"], on_end)
            if st.button("Add another dataset", key="ingest_new"):
                for key in ("ingest_job", "ingest_nonce"):
                    st.session_state.pop(key, None)
                st.rerun()
            return
        values = form_values()
        found, why = preview(values["source"], values["follow_links"]) if values["source"] not in ("", DEMO_NAME) \
            else (None, None)
        refused = st.session_state.pop("ingest_refused", None)
        if found is not None:
            show_preview(found)
            said = shrink_warning(images_side(found.folder, tuple(c for c, _ in found.classes), values["follow_links"]),
                                  int(values["resolution"]))
            if said:
                st.warning(said, icon=":material/photo_size_select_small:")
        elif why and why != refused:  # said once: below the button when a click was refused for it
            st.error(plain(why), icon=":material/block:")
        if st.button("Ingest", type="primary", key="ingest_submit", icon=":material/upload:"):
            refused = refusal(values, found, why)
            if refused:
                st.session_state["ingest_refused"] = refused
            else:
                launch(values)
            st.rerun()
        if refused:
            st.error(plain(f"Not ingested: {refused}"), icon=":material/block:")
