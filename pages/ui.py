"""What every page shares: the signed-in user, database sessions, images with a placeholder, decision errors.

Not a page itself (app.py never lists it). Session state holds only UI state: the signed-in user's id, name and
role, and the sign-in's token and expiry (pages/auth.py); every decision is written to the database at once
through db/ functions. Text that someone typed (names, reasons) goes through `plain` before Markdown renders it.
"""

from __future__ import annotations

import base64
import functools
import io
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator, Optional

import numpy as np
import streamlit as st
from PIL import Image
from streamlit.errors import StreamlitAPIException

from db import jobs, users, views
from db.engine import database_failure, session_scope
from db.errors import DatabaseUnavailable, DecisionError
from db.models import User
from db.sign_ins import resume_sign_in
from ganaug_core import paths
from ganaug_core.markdown import plain
from ganaug_core.imageio import ImageRejected, read_png, sha256_file

TILE_PX = 112  # a 16×16 sample is unreadable at its own size; nearest-neighbour upscaling keeps pixels honest
TILE_NAME_CHARS = 16  # a longer class name wraps a tile's caption onto many lines
# A caption's width per character, in px, rounded up from the caption font's (Source Sans at 14 px: ≈ 6.6 px a
# lowercase letter in chromium). A word wider than its image breaks anywhere: "dermatofibroma_nodular" under a
# 96-px nearest real image read "dermatofibrom / a_nodular".
CAPTION_CHAR_PX = 8


def tile_name(name, px: int = TILE_PX) -> str:
    """A class name as the caption under an image `px` wide gives it: cut with "…" after TILE_NAME_CHARS
    characters, or sooner where one of its words would not fit on one line of the caption (which then breaks it
    mid-word), so that the caption wraps between words only. Where a name is cut, the page gives it whole nearby
    (the batch picker, the sample's detail, `review_sample.names_in_full`). Raw text: `plain` it for Markdown."""
    name = str(name)
    line = max(4, px // CAPTION_CHAR_PX)
    cut = name if len(name) <= TILE_NAME_CHARS else name[:TILE_NAME_CHARS - 1] + "…"
    start = 0
    for word in cut.split(" "):
        if len(word) > line:
            return cut[:start + line - 1] + "…"
        start += len(word) + 1
    return cut


# What a page with no dataset says: an admin adds one from a folder on the server (the Overview's "Add a dataset",
# pages/ingest_form.py), or anyone with a shell ingests it; a new user's data is a folder, not the demo.
NO_DATASET = ("**No dataset yet.** An admin adds one on the Overview page, from a folder on the server with one "
              "sub-folder per class. In a terminal (an `.npz` works too):"
              "\n\n`ganaug data ingest PATH/TO/FOLDER --name NAME`\n\nthen reload this page. To try the tool first, "
              "`ganaug data ingest demo:digits --name digits`, or `ganaug demo`.")


def home() -> str:
    """GANAUG_HOME as a string: a cache key for the image functions below."""
    return str(paths.home())


@st.cache_data(ttl=60, show_spinner=False)
def train_counts(home_dir: str, dataset: str) -> list[int]:
    """Real training images per class of `dataset` (index order), for the pages that redraw on every click (Review's
    opened sample, Evaluate's form): the count groups every real image row of the home."""
    with session_scope() as session:
        return views.train_class_counts(session).get(dataset) or []


@contextmanager
def database_answers(again: str = "Reload the page to try again.") -> Iterator[None]:
    """A database that fails while the app runs a page (a PostgreSQL server restarting or out of reach, a role
    without rights on a table) is one message on the page, not a traceback; the next page run tries again.

    The page's line names no server, port, role, database or file: the sign-in page shows it to whoever reaches the
    app. What `database_failure` says (the URL, password masked, and the driver's reason) goes to the app's stderr,
    where whoever runs the app reads it."""
    try:
        yield
    except Exception as e:
        message = database_failure(e)
        if message is None:
            raise
        _log_database_failure(message)
        lasting = isinstance(e, DatabaseUnavailable) and e.lasting  # no wait mends it: someone must change something
        said = ("The app cannot use its database until whoever runs the app mends what the app's log names."
                if lasting else "The database is not answering (the app's log says why, for whoever runs the app).")
        st.error(f"{said} {again}", icon=":material/cloud_off:")
        st.stop()


_logged: dict[str, float] = {}  # each failure's line and when it went to stderr: a panel redraws every 2 s


def _log_database_failure(message: str, every_s: float = 60.0) -> None:
    now = time.monotonic()
    if now - _logged.get(message, -every_s) >= every_s:
        _logged[message] = now
        print(f"ganaug app: {message}", file=sys.stderr, flush=True)


RETRIED = "This panel tries again by itself."  # what `database_checked` says in a panel redrawn every few seconds


def database_checked(again: str = "Reload the page to try again.") -> Callable[[Callable], Callable]:
    """A fragment's body under `database_answers`, for a signed-in account checked now (`require_user`): a
    fragment's own runs (a job panel's redraw every 2 s, a click inside it) run without the page around them, so a
    server restarting showed Streamlit's OperationalError box, and an account disabled (or signed out elsewhere) since
    the page ran went on receiving a training's new grids of samples every 2 s for as long as it ran."""
    def decorate(fragment: Callable) -> Callable:
        @functools.wraps(fragment)
        def run(*args, **kwargs):
            with database_answers(again):
                require_user()
                return fragment(*args, **kwargs)
        return run
    return decorate


def theme() -> str:
    """"dark" where the browser shows Streamlit's dark theme (the system prefers it, or the app's menu chose it),
    else "light": the figures that draw on the page (their ground is see-through) take colours that stand out on it.
    Streamlit tells it with each run; a switch in the menu reruns nothing, so a figure follows at the next click."""
    return "dark" if st.context.theme.type == "dark" else "light"


def current_user() -> Optional[dict]:
    return st.session_state.get("user")


def require_user() -> dict:
    """The signed-in user, re-checked in the database on every page run: an account an admin has disabled (or
    removed) since it signed in is signed out here, so it cannot keep browsing samples and patient images. Each
    decision, job and export checks again when it is made (`signed_in_row`)."""
    user = current_user()
    if user is None:
        # Signed out during this run (see below): the rerun's navigation holds the sign-in page alone, but the
        # browser still asks for this page; send it there. A page run without app.py has no such page: it stops.
        try:
            st.switch_page("pages/sign_in.py")
        except StreamlitAPIException:
            st.warning("Please sign in first.")
            st.stop()
    with session_scope() as session:
        try:
            users.require_user(session, SimpleNamespace(id=user["id"], name=user["name"]), action="use the app")
            token = st.session_state.get("sign_in_token")
            if token and resume_sign_in(session, token) is None:
                raise DecisionError("Your sign-in has ended (it expired, you signed out in another tab, or an admin "
                                    "changed your account)")
        except DecisionError as e:
            # The sidebar was drawn for the account already: run the app again, so that it shows the sign-in
            # page (which says why) instead of a signed-out page under "Signed in as …".
            st.session_state.pop("user", None)
            st.session_state["sign_in_notice"] = f"{e}. You have been signed out."
            st.rerun(scope="app")
    return user


def signed_in_row(session, outcome: str = "nothing was recorded") -> User:
    """The signed-in user's row, re-read and checked now by `db.users.require_user` (an admin may have disabled the
    account since it signed in), and its sign-in still live (not ended by a new password, a sign-out in another
    tab, or its expiry): a button's callback runs before the page checks either. Checked before every decision, job
    launch and export; `outcome` says what the refusal left undone. It reads in the caller's session: the page's
    own `require_user` has its session, and draws."""
    me = current_user()
    if me is None:
        raise PermissionError(f"no one is signed in: {outcome}")
    try:
        row = users.require_user(session, SimpleNamespace(id=me["id"], name=me["name"]))
        token = st.session_state.get("sign_in_token")
        if token and resume_sign_in(session, token) is None:  # a callback runs before the page's `require_user`
            raise DecisionError("your sign-in has ended (it expired, you signed out in another tab, or an admin "
                                "changed your account)")
    except DecisionError as e:
        raise PermissionError(f"{e}: {outcome}") from None
    return row


@contextmanager
def acting_user(immediate: bool = True, outcome: str = "nothing was recorded") -> Iterator[tuple]:
    """A write session and the signed-in reviewer's row, re-read now (see `signed_in_row`)."""
    with session_scope(immediate=immediate) as session:
        yield session, signed_in_row(session, outcome=outcome)


def decision_errors() -> tuple[type[BaseException], ...]:
    from db.datasets import UnknownDataset
    from db.errors import DecisionError
    from ganaug_core.errors import GanaugError

    return (DecisionError, GanaugError, UnknownDataset, PermissionError, ValueError)


def _file(home_dir: str, stored: str) -> tuple[str, Optional[tuple[int, int]]]:
    """The file's path, and its (modification time, size) — the caches' key, so a file changed on disk is read
    again — or None when it is gone."""
    path = Path(stored) if Path(stored).is_absolute() else Path(home_dir) / stored
    try:
        stat = path.stat()
    except OSError:
        return str(path), None
    return str(path), (stat.st_mtime_ns, stat.st_size)


def image_uri(home_dir: str, stored: str, size: int = TILE_PX, mark: Optional[str] = None) -> Optional[str]:
    """The image at `stored` (relative to GANAUG_HOME) scaled to `size` px on its longer side, as a PNG data URI;
    None if it is gone or unreadable. `mark` (a key of TILE_MARKS) draws the sample's state into the tile.

    A data URI travels inside the page update itself: a grid of 48 tiles costs the browser no extra requests,
    which is what keeps a page switch within a few hundred milliseconds.
    """
    path, version = _file(home_dir, stored)
    return None if version is None else _image_uri(path, version, size, mark)


@st.cache_data(show_spinner=False, max_entries=8192)
def _image_uri(path: str, version: tuple[int, int], size: int, mark: Optional[str] = None) -> Optional[str]:
    try:
        chw = read_png(Path(path))  # size-guarded, like every decode of ours
    except (OSError, ValueError, ImageRejected):
        return None
    im = Image.fromarray(chw[0] if chw.shape[0] == 1 else chw.transpose(1, 2, 0))
    w, h = im.size  # a run's grid is wider than tall: keep its shape
    scaled = (size, max(1, round(h * size / w))) if w >= h else (max(1, round(w * size / h)), size)
    # Enlarged pixel for pixel; shrunk by averaging, so that a thin line fades instead of vanishing with its row.
    im = im.resize(scaled, Image.NEAREST if scaled[0] >= w else Image.BOX)
    return png_data_uri(marked_tile(im, mark) if mark else im, compress_level=1)


# How a grid tile shows a sample that is out (or must be taken out), drawn into its pixels: st.image takes no
# per-image style, and a caption alone is missed at a glance. Both marks are in the tile's cache key.
TILE_MARKS = {  # mark → (frame colour, dimmed, dashed frame)
    "rejected": ((214, 39, 40), True, False),  # greyed out in a solid red frame: it will not enter training
    "memorized": ((231, 108, 0), False, True),  # a dashed orange frame: a near-copy, to reject before approval
}
MARK_PX = 5  # frame width at TILE_PX; the dashes are 2 frames long


def marked_tile(im: Image.Image, mark: str) -> Image.Image:
    colour, dimmed, dashed = TILE_MARKS[mark]
    rgb = np.asarray(im.convert("L" if dimmed else "RGB").convert("RGB"), dtype=np.float32)
    if dimmed:  # washed out towards light grey, so it reads as "no longer in play" beside the others
        rgb = 0.35 * rgb + 0.65 * 225.0
    out = rgb.astype(np.uint8)
    h, w = out.shape[:2]
    frame = np.zeros((h, w), dtype=bool)
    b = max(1, min(MARK_PX, h // 4, w // 4))
    frame[:b], frame[-b:], frame[:, :b], frame[:, -b:] = True, True, True, True
    if dashed:
        yy, xx = np.indices((h, w))
        frame &= ((xx + yy) // (2 * b)) % 2 == 0
    out[frame] = colour
    return Image.fromarray(out, "RGB")


def file_changed(home_dir: str, stored: str, sha256: str) -> bool:
    """True when the file exists but its bytes no longer match the sha256 recorded for it (hashed once per
    version of the file). The gate already leaves such a file out; the reviewer must see it too."""
    path, version = _file(home_dir, stored)
    return version is not None and _sha256_of(path, version) != sha256


@st.cache_data(show_spinner=False, max_entries=8192)
def _sha256_of(path: str, version: tuple[int, int]) -> str:
    return sha256_file(Path(path))


@st.cache_data(show_spinner=False)
def placeholder_uri(size: int = TILE_PX) -> str:
    """A grey tile with a cross, shown where an image file is missing."""
    arr = np.full((size, size), 200, dtype=np.uint8)
    idx = np.arange(size)
    arr[idx, idx] = arr[idx, size - 1 - idx] = 90
    return png_data_uri(Image.fromarray(arr, "L"))


def png_data_uri(im: Image.Image, **save_options) -> str:
    """`im` encoded as PNG inside a data URI (the browser needs no request of its own for it)."""
    buf = io.BytesIO()
    im.save(buf, format="PNG", **save_options)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def show_image(stored: str, caption: str = "", size: int = TILE_PX, alt: Optional[str] = None) -> None:
    """One image, as `show_images` shows several."""
    show_images([stored], [caption], size, None if alt is None else [alt])


def alt_text(caption: str) -> str:
    """A Markdown caption (names through `plain`) as the plain text of an image's alt: what a screen reader says."""
    return re.sub(r"\\(.)", r"\1", caption)


def show_images(stored: list[str], captions: list[str], size: int = TILE_PX, alts: Optional[list[str]] = None) -> None:
    """Render images as ONE image list (tiles in a wrapping row, one element however many); a missing or unreadable
    file gives a placeholder, and one warning names them. `alts`: what a screen reader says of each image (plain
    text), by default its caption; without an alt an image was an unnamed "img" to it."""
    uris = [image_uri(home(), path, size) for path in stored]
    missing = [path for path, uri in zip(stored, uris) if uri is None]
    if missing:
        st.warning(f"image file missing or unreadable: {plain(', '.join(missing[:5]))}" + (" …" if len(missing) > 5 else ""),
                   icon=":material/broken_image:")
    if uris:
        alts = [alt_text(c) for c in captions] if alts is None else alts
        st.image([uri or placeholder_uri(size) for uri in uris], caption=captions, width=size,
                 alt=[a or None for a in alts])  # "" would mark an image as decorative


def cancel_job(job_id: int) -> None:
    """A job's Cancel button: a queued job is cancelled at once, a running one asked to stop between steps; the job
    records who asked (the pages say so under it)."""
    with session_scope(immediate=True) as session:
        jobs.request_cancel(session, job_id, by=(current_user() or {}).get("name"))


def fmt(value: Optional[float], digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
