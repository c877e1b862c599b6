"""What every page shares: the signed-in user, database sessions, images with a placeholder, decision errors.

Not a page itself (app.py never lists it). Session state holds only UI state: the signed-in user's id, name and
role; every decision is written to the database at once through db/ functions.
"""

from __future__ import annotations

import base64
import io
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator, Optional

import numpy as np
import streamlit as st
from PIL import Image

from db import users
from db.engine import session_scope
from db.errors import DecisionError
from db.models import User
from ganaug_core import paths
from ganaug_core.imageio import ImageRejected, read_png

TILE_PX = 112  # a 16×16 sample is unreadable at its own size; nearest-neighbour upscaling keeps pixels honest


def home() -> str:
    """GANAUG_HOME as a string: a cache key for the image functions below."""
    return str(paths.home())


def current_user() -> Optional[dict]:
    return st.session_state.get("user")


def require_user() -> dict:
    user = current_user()
    if user is None:
        st.warning("Please sign in first.")
        st.stop()
    return user


def signed_in_row(session, outcome: str = "nothing was recorded") -> User:
    """The signed-in user's row, re-read and checked now by `db.users.require_user` (an admin may have disabled the
    account since it signed in). Checked before every decision, job launch and export; `outcome` says what the
    refusal left undone."""
    me = require_user()
    try:
        return users.require_user(session, SimpleNamespace(id=me["id"], name=me["name"]))
    except DecisionError as e:
        raise PermissionError(f"{e}: {outcome}") from None


@contextmanager
def acting_user(immediate: bool = True, outcome: str = "nothing was recorded") -> Iterator[tuple]:
    """A write session and the signed-in reviewer's row, re-read now (see `signed_in_row`)."""
    require_user()
    with session_scope(immediate=immediate) as session:
        yield session, signed_in_row(session, outcome=outcome)


def decision_errors() -> tuple[type[BaseException], ...]:
    from db.datasets import UnknownDataset
    from db.errors import DecisionError
    from ganaug_core.errors import GanaugError

    return (DecisionError, GanaugError, UnknownDataset, PermissionError, ValueError)


@st.cache_data(show_spinner=False, max_entries=8192)
def image_uri(home_dir: str, stored: str, size: int = TILE_PX) -> Optional[str]:
    """The image at `stored` (relative to GANAUG_HOME) upscaled to `size` px, as a PNG data URI; None if it is gone.

    A data URI travels inside the page update itself: a grid of 48 tiles costs the browser no extra requests,
    which is what keeps a page switch within a few hundred milliseconds.
    """
    path = Path(stored) if Path(stored).is_absolute() else Path(home_dir) / stored
    try:
        chw = read_png(path)  # size-guarded, like every decode of ours
    except (OSError, ValueError, ImageRejected):
        return None
    im = Image.fromarray(chw[0] if chw.shape[0] == 1 else chw.transpose(1, 2, 0))
    return png_data_uri(im.resize((size, size), Image.NEAREST), compress_level=1)


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


def show_image(stored: str, caption: str = "", size: int = TILE_PX) -> bool:
    """Render one image; a missing or unreadable file gives a placeholder and a warning. Returns False then."""
    uri = image_uri(home(), stored, size)
    if uri is None:
        st.image(placeholder_uri(size), caption=caption, width=size)
        st.warning(f"image file missing or unreadable: {stored}", icon=":material/broken_image:")
        return False
    st.image(uri, caption=caption, width=size)
    return True


def fmt(value: Optional[float], digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
