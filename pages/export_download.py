"""The Audit page's "Download as .zip": a recorded export's folder, taken away from the server by a team that has only a
browser (the export is written under GANAUG_HOME/exports/ on the server, which a clinic never opens a shell on).

The zip holds exactly the folder's files in its layout under one folder of its name, so that after unzipping
`sha256sum -c manifest.sha256` and `ganaug audit folder NAME` still pass. Before the button is offered the folder is
checked as `ganaug audit folder` checks its files (its manifest.csv the recorded one, the CSVs' sha256, every image's
sha256, nothing added); one that fails is refused in one line. The zip is built only on the click (Streamlit runs the
callable then, on a thread of its own), into a temporary file, each file's bytes compared with those checked: a file
changed in between fails the download rather than ship it, and so does a link, a pipe or a device in the folder (an
export writes plain files only): a link named log_head.txt, which no check reads the bytes of, handed over whatever the
server could read (the home's database with its password hashes). Streamlit's download_button reads what the callable
returns into the server's memory to serve it (it has no streaming), so the temporary file spares only the page's run.

Each download is recorded in the decision log (action download, db/exports.py), under the signed-in account,
when the zip is handed over: a download of patient images is an event a hospital wants to find beside the export.
A zip that fails is said on the page in one line (pages/download_outcome.py), and a folder over the download cap
(GANAUG_DOWNLOAD_MAX_GB, 2 GB) is not offered: the server would hold it whole in memory; an admin copies it instead.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import tempfile
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Optional
from uuid import uuid4

import streamlit as st

from ganaug_core.plain_files import open_plain
from pages.download_outcome import new_outcome, outcome_of, told, wait_for
from pages.ui import current_user, plain

CHUNK = 1 << 20
STORED_SUFFIXES = (".png",)  # already compressed: deflating them again costs time and saves nothing
# The server holds a zip it serves in its memory, whole, while the session shows the button: two reviewers taking 2 GB
# each need 4 GB beside the app's own. GANAUG_DOWNLOAD_MAX_GB (README, "Configuration") moves it.
DOWNLOAD_MAX_GB = 2.0


def download_max_bytes() -> int:
    """The largest folder the page offers as a .zip; ValueError naming the variable where it is set to no number of
    gigabytes > 0."""
    text = os.environ.get("GANAUG_DOWNLOAD_MAX_GB") or None  # set but empty: as if unset
    if text is None:
        return int(DOWNLOAD_MAX_GB * 1e9)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise ValueError(f"GANAUG_DOWNLOAD_MAX_GB must be a number of gigabytes > 0 (default {DOWNLOAD_MAX_GB:g}), "
                         f"got {text!r}: no export is offered for download until the server's admin sets it right")
    return int(value * 1e9)


def folder_problems(folder: Path, manifest_sha256: Optional[str]) -> list[str]:
    """What keeps a recorded export's folder from being handed out as it was written: `ganaug audit folder`'s checks
    of the folder's own files (not those of the review since, which the withdrawn check above names)."""
    from ganaug.cli.audit_folder import (checksum_problems, image_problems, manifest_rows, not_plain_files,
                                         oversized_files)
    from ganaug.cli.common import UserError
    from ganaug.export import folder_check

    # Before any check reads a file: a pipe named manifest.sha256 or images.csv held the page's run for good, and
    # one named manifest.csv is said as what it is, not as a manifest that changed.
    if odd := not_plain_files(folder) or oversized_files(folder):  # nor a CSV too large to read whole
        return odd
    if folder_check(str(folder), manifest_sha256) != "matches":
        return ["its manifest.csv is no longer the one recorded (or it is gone)"]
    try:
        rows, _ = manifest_rows(folder)
    except UserError as e:
        return [str(e)]
    return checksum_problems(folder) + image_problems(folder, rows)


def folder_files(folder: Path) -> dict[str, str]:
    """Every file of the folder (its path in the folder, '/'-separated) → its sha256, as checked."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with open_plain(path, follow_links=False) as f:  # a link swapped in since the check
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        out[path.relative_to(folder).as_posix()] = digest.hexdigest()
    return out


@st.cache_data(ttl=60, show_spinner="Checking the export's folder…", max_entries=8)
def checked_folder(home_dir: str, folder: str, manifest_sha256: Optional[str]) -> dict:
    """The folder's problems, else its files with their sha256 and its size. Cached a minute: a file changed since
    still fails the zip, which compares every file's bytes with these."""
    problems = folder_problems(Path(folder), manifest_sha256)
    if problems:
        return dict(problems=problems)
    try:
        files = folder_files(Path(folder))
    except OSError as e:  # a file swapped for a link or a pipe since `not_plain_files` looked
        return dict(problems=[str(e)])
    return dict(problems=[], files=files, size=sum((Path(folder) / f).stat().st_size for f in files))


def build_zip(folder: Path, files: dict[str, str]) -> tuple[io.RawIOBase, str]:
    """The folder's `files` under one folder of its name, in a temporary file (rewound), and the zip's sha256.
    ValueError where a file's bytes are no longer the ones checked, or a file came or went."""
    now = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    if came_or_went := sorted(now ^ set(files)):
        first = came_or_went[0]
        raise ValueError(f"{first} in the folder of {folder.name} was {'removed' if first in files else 'added'} "
                         "since the folder was checked: nothing was handed over; export again")
    # Gone when closed: nothing left on the server's disk. Unbuffered: Streamlit takes a RawIOBase (or a BufferedReader)
    # from the callable, not the BufferedRandom a default TemporaryFile is.
    out = tempfile.TemporaryFile(buffering=0)
    with zipfile.ZipFile(out, "w", allowZip64=True) as z:
        for rel, expected in files.items():
            info = zipfile.ZipInfo.from_file(folder / rel, f"{folder.name}/{rel}")  # its time and mode (0600) too
            info.compress_type = zipfile.ZIP_STORED if rel.endswith(STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
            digest = hashlib.sha256()
            try:
                src = open_plain(folder / rel, follow_links=False)
            except OSError:  # swapped for a link or a pipe since the check
                changed = rel
                break
            with src, z.open(info, "w") as dst:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
            if digest.hexdigest() != expected:
                changed = rel
                break
        else:
            changed = None
    if changed is not None:
        out.close()
        raise ValueError(f"{changed} in the folder of {folder.name} changed since it was checked: nothing was handed "
                         "over; export again")
    out.seek(0)
    digest = hashlib.sha256()
    while chunk := out.read(CHUNK):
        digest.update(chunk)
    out.seek(0)
    return out, digest.hexdigest()


def zip_and_record(record: dict, files: dict[str, str], size: int, user, token: Optional[str]) -> io.RawIOBase:
    """The zip of export `record`'s folder, its download recorded in the log under `user` first: an account disabled
    since it signed in (db.exports.record_download), or whose sign-in (`token`) has ended, gets nothing. The page's
    `signed_in_row` reads the session state, which this thread has not."""
    from db.engine import session_scope
    from db.exports import record_download
    from db.sign_ins import resume_sign_in

    data, digest = build_zip(Path(record["folder"]), files)
    try:
        with session_scope(immediate=True) as session:
            if token and resume_sign_in(session, token) is None:
                raise PermissionError("your sign-in has ended: nothing was handed over")
            record_download(session, user, record, len(files), size, digest)
    except BaseException:
        data.close()
        raise
    return data


def zip_failure(e: BaseException, folder: Path) -> Optional[str]:
    """Why a zip was not handed over, in one line that names the file and what to do; None for an error the page
    has no words for (Streamlit logs it)."""
    from ganaug_core.errors import GanaugError

    if isinstance(e, FileNotFoundError) and e.filename:  # removed between the listing and its turn in the zip
        path = Path(e.filename)
        rel = path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.name
        return (f"{rel} in the folder of {folder.name} was removed since the folder was checked: nothing was handed "
                "over; export again")
    if isinstance(e, (ValueError, GanaugError)) or (isinstance(e, PermissionError) and e.filename is None):
        return str(e).splitlines()[0]  # a file that changed; an account disabled, a sign-in ended since the page
    if isinstance(e, OSError):  # the server's temporary folder full, say
        return f"the server could not make the zip ({e.strerror or e}): nothing was handed over; ask its admin"
    return None


def zip_for(outcome, record: dict, found: dict, user, token: Optional[str]) -> io.RawIOBase:
    """The button's callable: `zip_and_record`, its failure told to `outcome` for the page's next run."""
    folder = Path(record["folder"])
    return told(outcome, lambda: zip_and_record(record, found["files"], found["size"], user, token),
                lambda e: zip_failure(e, folder))


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 100_000 else f"{size / 1e3:,.0f} kB"


def download_section(rows: list[dict], label) -> None:
    """Under the recorded exports: choose one whose folder is here, and download it as a .zip once its files check."""
    here = {r["id"]: r for r in rows if r["folder_check"] != "not found"}
    st.markdown("**Take an export away**")
    if not here:
        st.write("No recorded export's folder is on the server any more: export again to download one.")
        return
    chosen = st.selectbox(
        "Download an export as a .zip", list(here), index=None, format_func=lambda i: label(here[i]),
        placeholder="Choose an export", key="export_download",
        help="The export's folder as it was written, for the computer that trains the model. Unzipped, its "
             "manifest.sha256 and `ganaug audit folder` check it as on the server.")
    if chosen is None:
        return
    record = here[chosen]
    folder = Path(record["folder"])
    session_key = st.session_state.setdefault("export_download_session", uuid4().hex)
    last = outcome_of(session_key)
    if last is not None and st.session_state.get("export_download_go"):  # the run the button's click started
        with st.spinner("Making the zip…"):
            wait_for(last)
    if last is not None and last.done.is_set() and last.error:
        st.error(plain(f"Export {last.export_id} was not downloaded: {last.error}."), icon=":material/block:")
        if (failed := here.get(last.export_id)) is not None:  # checked anew, not taken from the minute's cache
            checked_folder.clear(str(Path(failed["folder"]).parent), failed["folder"], failed["manifest_sha256"])
            folder_bytes.clear(failed["folder"])  # (that export's entries only: other sessions keep theirs)
        new_outcome(session_key, chosen)  # said once
        return
    if last is not None and last.done.is_set() and st.session_state.get("export_download_go"):
        st.success(f"Export {last.export_id}'s zip was made and handed to your browser; the download is recorded in "
                   "the decision log under your name.", icon=":material/task_alt:")
    if not too_large(chosen, folder):
        offer(chosen, record, folder, session_key)


@st.cache_data(ttl=60, show_spinner=False, max_entries=8)
def folder_bytes(folder: str) -> int:
    """The folder's size, kept a minute as its check is: walked at every rerun of the page (a tag typed, a tab
    switched), 20,000 files took ≈ 0.1 s each time."""
    from ganaug.disk import tree_bytes

    return tree_bytes(Path(folder))


def too_large(chosen: int, folder: Path) -> bool:
    """Whether the folder is over the download cap, said to the reviewer with what to do instead; measured before its
    files are hashed (a 50 GB folder took the page minutes to check, only to be refused)."""
    from ganaug.disk import human

    try:
        cap = download_max_bytes()
    except ValueError as e:
        st.error(plain(str(e)), icon=":material/block:")
        return True
    size = folder_bytes(str(folder))
    if size <= cap:
        return False
    st.warning(plain(f"Export {chosen} is too large to download from this page: {human(size)}, and the server hands "
                     f"out at most {human(cap)}, since it holds a whole download in its memory while sending it. Ask "
                     "an admin of the server to copy the export's folder for you (named under Technical details)."),
               icon=":material/hard_drive:")
    with st.expander("Technical details (for an engineer or an auditor)"):
        st.markdown(f"Folder on the server: `{folder}`  \nIts size: {size:,} bytes; the cap: {cap:,} bytes "
                    "(`GANAUG_DOWNLOAD_MAX_GB` in the environment of `ganaug app`, default 2).")
    return True


def offer(chosen: int, record: dict, folder: Path, session_key: str) -> None:
    """The download button of a folder whose files check, with what it hands over."""
    found = checked_folder(str(folder.parent), str(folder), record["manifest_sha256"])
    if found["problems"]:
        more = len(found["problems"]) - 1
        st.error(plain(f"Export {chosen} cannot be downloaded: its folder no longer matches its record "
                       f"({found['problems'][0]}{f'; {more} more' if more else ''}). Export again and download the "
                       "new one."), icon=":material/block:")
        return
    me = current_user()
    # The callable runs on a thread of its own, after this run: what it checks is taken now.
    user, token = SimpleNamespace(id=me["id"], name=me["name"]), st.session_state.get("sign_in_token")
    outcome = new_outcome(session_key, chosen)
    # The click reruns the page, which waits for this zip and says why it failed (pages/download_outcome.py).
    st.download_button(
        f"Download export {chosen} as {folder.name}.zip ({megabytes(found['size'])})", key="export_download_go",
        icon=":material/download:", data=lambda: zip_for(outcome, record, found, user, token),
        file_name=f"{folder.name}.zip", mime="application/zip", on_click="rerun")
    st.caption(f"{len(found['files']):,} files, checked against export {chosen}'s record. The zip is made when you "
               "click, and the download is recorded in the decision log under your name (action "
               "“download”). Unzipped, the folder is as on the server: its manifest.sha256 still checks its CSVs.")
