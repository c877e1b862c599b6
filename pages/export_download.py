"""The Audit page's "Download as .zip": a recorded export's folder, taken away from the server by a team that has only a
browser (the export is written under GANAUG_HOME/exports/ on the server, which a clinic never opens a shell on).

The zip holds exactly the folder's files in its layout under one folder of its name, so that after unzipping
`sha256sum -c manifest.sha256` and `ganaug audit folder NAME` still pass. Before the button is offered the folder is
checked as `ganaug audit folder` checks its files (its manifest.csv the recorded one, the CSVs' sha256, every image's
sha256, nothing added); one that fails is refused in one line. The zip is built only on the click (Streamlit runs the
callable then, on a thread of its own), into a temporary file, each file's bytes compared with those checked: a file
changed in between fails the download rather than ship it. Streamlit's download_button reads what the callable
returns into the server's memory to serve it (it has no streaming), so the temporary file spares only the page's run.

Each download is recorded in the decision log (action download, db/exports.py), under the signed-in account,
when the zip is handed over: a download of patient images is an event a hospital wants to find beside the export.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import streamlit as st

from pages.ui import current_user, plain

CHUNK = 1 << 20
STORED_SUFFIXES = (".png",)  # already compressed: deflating them again costs time and saves nothing


def folder_problems(folder: Path, manifest_sha256: Optional[str]) -> list[str]:
    """What keeps a recorded export's folder from being handed out as it was written: `ganaug audit folder`'s checks
    of the folder's own files (not those of the review since, which the withdrawn check above names)."""
    from ganaug.cli.audit_folder import checksum_problems, image_problems, manifest_rows
    from ganaug.cli.common import UserError
    from ganaug.export import folder_check

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
        with open(path, "rb") as f:
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
    files = folder_files(Path(folder))
    return dict(problems=[], files=files, size=sum((Path(folder) / f).stat().st_size for f in files))


def build_zip(folder: Path, files: dict[str, str]) -> tuple[io.RawIOBase, str]:
    """The folder's `files` under one folder of its name, in a temporary file (rewound), and the zip's sha256.
    ValueError where a file's bytes are no longer the ones checked, or a file came or went."""
    now = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    if now != sorted(files):
        raise ValueError(f"the folder of {folder.name} changed since it was checked (files added or removed): "
                         "nothing was handed over; choose the export again")
    # Gone when closed: nothing left on the server's disk. Unbuffered: Streamlit takes a RawIOBase (or a BufferedReader)
    # from the callable, not the BufferedRandom a default TemporaryFile is.
    out = tempfile.TemporaryFile(buffering=0)
    with zipfile.ZipFile(out, "w", allowZip64=True) as z:
        for rel, expected in files.items():
            info = zipfile.ZipInfo.from_file(folder / rel, f"{folder.name}/{rel}")  # its time and mode (0600) too
            info.compress_type = zipfile.ZIP_STORED if rel.endswith(STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
            digest = hashlib.sha256()
            with open(folder / rel, "rb") as src, z.open(info, "w") as dst:
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
                         "over; choose the export again")
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
    st.download_button(
        f"Download export {chosen} as {folder.name}.zip ({megabytes(found['size'])})", key="export_download_go",
        icon=":material/download:",
        data=lambda: zip_and_record(record, found["files"], found["size"], user, token),
        file_name=f"{folder.name}.zip", mime="application/zip", on_click="ignore")
    st.caption(f"{len(found['files']):,} files, checked against export {chosen}'s record. The zip is made when you "
               "click, and the download is recorded in the decision log under your name (action "
               "“download”). Unzipped, the folder is as on the server: its manifest.sha256 still checks its CSVs.")
