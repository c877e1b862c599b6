"""What a folder on the server holds before it is ingested: its class folders and how many image files each has.

The app's "Add a dataset" form shows this before an admin starts an ingest (README, "Datasets"): it lists files by
their names alone, decoding none, so a folder of 100,000 images answers in about a second and a wrong path (a
folder of splits, a class's own folder, the home's datasets folder) is seen before the job starts. The ingest itself
reads the images (`dataset_sources.read_folder`), and may still leave some out (unreadable, too small a class).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ganaug_core import paths
from ganaug_core.dataset_sources import SPLIT_FOLDER_NAMES, _not_a_class
from ganaug_core.errors import GanaugError
from ganaug_core.folder_walk import Walk, as_text, outside_roots
from ganaug_core.imageio import IMAGE_SUFFIXES


@dataclass
class FolderPreview:
    folder: str  # the folder, resolved
    classes: list[tuple[str, int]]  # (class folder's name, image files in it and below), in name order
    passed_over: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of what the ingest would leave out
    loose: int = 0  # image files directly in the folder, in no class
    # (link, where it points) of each link the ingest would follow: said before it starts, since a folder handed over
    # may link to another patients' store, whose images would be ingested and shown to reviewers
    links: list[tuple[str, str]] = field(default_factory=list)

    @property
    def images(self) -> int:
        return sum(n for _, n in self.classes)


def _system_folder(resolved: Path) -> bool:
    """/, or inside /proc, /sys or /dev, but for /dev/shm: a tmpfs where datasets are staged, like /tmp."""
    top = resolved.parts[1:3]
    return resolved == Path("/") or top[:1] in (("proc",), ("sys",)) or (top[:1] == ("dev",) and top != ("dev", "shm"))


def source_refusal(source: str) -> Optional[str]:
    """Why `source` (a path typed into the app) cannot be ingested from the app, in one line, or None: not there, not
    a folder, outside GANAUG_INGEST_ROOTS where it is set, not readable by the server, or inside the folders ganaug
    writes in its own home (its datasets, runs, batches: ingesting those would take ganaug's own files, or a dataset's
    images, for a new dataset). The form asks it, and the ingest's job again when it starts (the folder may have become
    a link meanwhile); `ganaug data ingest` does not: its user reads any folder their account can anyway."""
    if not source.strip():
        return "give the path of a folder on the server, or demo:digits"
    path = Path(source).expanduser()
    if not path.is_absolute():  # relative to wherever the app was started: not what the admin can see
        return f"{source!r} is not an absolute path: give the folder's whole path on the server (starting with /)"
    # Before anything is looked up: outside the allowed folders, the app says nothing of what exists there.
    if refused := outside_roots(path):
        return refused
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except OSError as e:  # a name too long, say
        return f"{source!r} cannot be read: {e.strerror or e}"
    if not exists:
        return f"{source} does not exist on the server (the path is the server's, not your computer's)"
    if not is_dir:
        return f"{source} is a file, not a folder: give the folder that holds one sub-folder of images per class"
    if _system_folder(path.resolve()):
        # Walked as a dataset, / is every file of the disk and /proc every process's: the preview of either ran for
        # minutes on the admin's page (/proc 38 s, / past 2 min on a quiet container), and the ingest would take
        # every image it found.
        return (f"{source} is a system folder, not a dataset: give the folder that holds one sub-folder of images per "
                "class")
    if (managed := paths.managed_by_home(path)) is not None or path.resolve() == paths.home_path():
        where = managed if managed is not None else paths.home_path()
        return (f"{source} is inside {where}, which ganaug writes itself (GANAUG_HOME's own files): give a folder "
                "of your images outside it")
    try:
        next(path.iterdir(), None)
    except OSError as e:
        return f"{source} cannot be read by the server: {e.strerror or e}"
    return None


def preview_folder(source: str, follow_links: bool = True) -> FolderPreview:
    """The class folders of `source` and their image files, by name (`source_refusal` first; GanaugError for a
    folder with no class folders of images, or one of splits)."""
    refused = source_refusal(source)
    if refused:
        raise GanaugError(refused)
    root = Path(source).expanduser().resolve()
    home = paths.home_path()
    walk = Walk(root, lambda d: _not_a_class(d, home), follow_links=follow_links, within_roots=True)
    entries = sorted(root.iterdir())
    folders = [d for d in entries if d.is_dir() and not d.name.startswith(".")]
    loose = sum(1 for f in entries if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    classes, passed = [], []
    for d in folders:
        reason = _not_a_class(d, home)
        target = None if reason else (walk.folder_link(d, [root]) if d.is_symlink() else root / d.name)
        if reason:
            passed.append((as_text(d), reason))
        if target is None:
            continue
        n = sum(1 for f in walk.files(d, [root, target]) if f.suffix.lower() in IMAGE_SUFFIXES)
        classes.append((as_text(Path(d.name)), n))
    passed += walk.skipped
    named = [c for c, n in classes if n]
    if len(named) >= 2 and all(c.lower() in SPLIT_FOLDER_NAMES for c in named):
        raise GanaugError(f"the folders in {root} ({', '.join(named)}) are splits, not classes: give the folder of "
                          "the training split, whose sub-folders are the classes")
    if not named:
        said = (f"its {loose:,} image{'s are' if loose != 1 else ' is'} in no class folder" if loose
                else "no sub-folder of it holds an image file")
        raise GanaugError(f"{root} holds no class folders: {said}; ganaug expects one sub-folder of images per class "
                          "(named after the class)")
    return FolderPreview(str(root), classes, passed, loose, walk.links)
