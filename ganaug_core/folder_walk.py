"""Walking an ImageFolder dataset's class folders, links included.

Links are a way to assemble a dataset (a class folder that links to where the images are kept), so they are
followed, and each one followed is reported with where it points. A link is passed over, with why, where following
it would walk a folder again: one that holds the folder being walked (a loop, or `/` and the whole disk), one inside
it or inside the dataset (its images are ingested where they lie), one a link already led to. Before, a class folder
that linked to `/` walked the whole disk, and a link inside a class folder was never followed.

With `follow_links` off (`data ingest --no-follow-links`) every link, to a file or a folder, is passed over and listed
with where it points: a folder someone handed over may link to `/etc` or to another patients' store, whose images
would otherwise be ingested and shown to reviewers.

The app's walks keep within GANAUG_INGEST_ROOTS where it is set (`within_roots`, `outside_roots`): a link that leads
out of them is passed over without saying where it leads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional


def as_text(path: Path) -> str:
    """A path as storable text: bytes that are not UTF-8 shown as escapes (\\udce9)."""
    return str(path).encode("utf-8", "backslashreplace").decode()


def _hidden(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts)


def links_off(in_app: bool) -> str:
    """What turned `follow_links` off, in the words of the place it was set: the app's form (whose walks are the ones
    `within_roots`) has a checkbox, and its users no shell to read a flag in."""
    return "Follow links is unticked" if in_app else "--no-follow-links"


@dataclass
class Walk:
    """One walk of a dataset's folder: what was passed over and which links were followed."""

    root: Path  # the dataset's folder, links resolved
    passed_over: Callable[[Path], Optional[str]]  # why a folder is not walked (a ganaug home), None to walk it
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    links: list[tuple[str, str]] = field(default_factory=list)  # (link, where it points) of every link followed
    followed: list[Path] = field(default_factory=list)  # the folders links led to, resolved
    follow_links: bool = True  # False: every link is passed over (and listed), none walked or read
    unfollowed: int = 0  # how many links were passed over because follow_links is off
    # True for the app's walks (preview and ingest job): a link that leads outside GANAUG_INGEST_ROOTS is passed over.
    # The roots were checked on the dataset's folder only, so a class folder or an image inside it that linked to
    # /home/alice was read all the same. The CLI's ingest is not limited (`folder_preview.source_refusal`).
    within_roots: bool = False

    def _not_followed(self, link: Path) -> None:
        self.unfollowed += 1
        if not self._outside_roots(link):  # where a link out of GANAUG_INGEST_ROOTS leads is not said
            self.skipped.append((as_text(link), f"a link to {as_text(link.resolve())}: not followed "
                                 f"({links_off(self.within_roots)})"))

    def _outside_roots(self, link: Path) -> bool:
        """Whether `link` leads outside GANAUG_INGEST_ROOTS where the walk keeps within them (then listed, without
        where it leads: the app tells nothing of what lies outside)."""
        if not self.within_roots or outside_roots(link) is None:
            return False
        self.skipped.append((as_text(link), "a link that leads outside GANAUG_INGEST_ROOTS: not followed"))
        return True

    def folder_link(self, link: Path, chain: list[Path]) -> Optional[Path]:
        """The folder the link `link` leads to, if it is to be walked (and it is then reported), else None (and
        why is listed). `chain`: the folders being walked, resolved, from the dataset's down to the link's."""
        if not self.follow_links:
            self._not_followed(link)
            return None
        if self._outside_roots(link):
            return None
        target = link.resolve()
        reason = self.passed_over(link) or self._loop(target, chain)
        if reason:
            self.skipped.append((as_text(link), reason))
            return None
        self.links.append((as_text(link), as_text(target)))
        self.followed.append(target)
        return target

    def _loop(self, target: Path, chain: list[Path]) -> Optional[str]:
        shown = as_text(target)
        if target == self.root or target in self.root.parents:
            return f"a link to {shown}, which holds the dataset itself: not followed (a loop; at / the whole disk)"
        if any(target == a or target in a.parents for a in chain):
            return f"a link to {shown}, which holds the folder the link is in: not followed (a loop)"
        holder = next((a for a in chain if a in target.parents and not _hidden(target, a)), None)
        if holder == self.root:
            return f"a link to {shown}, inside the dataset: not followed (its images are ingested where they lie)"
        if holder is not None:
            return (f"a link to {shown}, inside {as_text(holder)}, which is walked: not followed (its images are "
                    "ingested where they lie)")
        if any(f == target or f in target.parents for f in self.followed):
            return f"a link to {shown}, which another link led to already: not followed (walked once)"
        inner = next((f for f in self.followed if target in f.parents), None)
        if inner is not None:
            return (f"a link to {shown}, which holds {as_text(inner)}, where another link led already: not followed "
                    "(walked once)")
        return None

    def file_link(self, link: Path) -> None:
        """Report a link to a file outside the dataset (one inside it is an image of the dataset twice, which the
        duplicate check reports)."""
        target = link.resolve()
        if self.root not in target.parents:
            self.links.append((as_text(link), as_text(target)))

    def files(self, folder: Path, chain: list[Path]) -> list[Path]:
        """Every file in `folder` and the folders inside it, in name order, hidden ones (.DS_Store, .thumbnails/)
        aside; folders that are ganaug homes, loops or walked already are listed in `skipped` instead, and so are
        broken links. `chain` ends with `folder` itself, resolved."""
        found = []
        try:
            entries = sorted(folder.iterdir())
        except OSError as e:  # a folder a link led to that this account may not read, say
            self.skipped.append((as_text(folder), f"a folder that cannot be read ({e.strerror or e})"))
            return found
        for f in entries:
            if f.name.startswith("."):
                continue
            # A link whose target's name is too long for the system, or lies in a folder this account may not
            # enter, cannot even be looked at: one such link in a folder handed over stopped the ingest and the app's
            # preview with a traceback.
            try:
                found += self._entry(f, chain)
            except OSError as e:
                self.skipped.append((as_text(f), f"cannot be read ({e.strerror or e})"))
        return found

    def _entry(self, f: Path, chain: list[Path]) -> list[Path]:
        """The files of one entry of a folder being walked (`files`)."""
        if f.is_symlink() and not f.exists():
            self.skipped.append((as_text(f), "a broken link: what it points to is missing"))
        elif f.is_symlink() and not self.follow_links:
            self._not_followed(f)
        elif f.is_symlink() and f.is_dir():
            target = self.folder_link(f, chain)
            if target is not None:
                return self.files(f, chain + [target])
        elif f.is_dir():
            reason = self.passed_over(f)
            if reason:  # a home kept inside a class folder
                self.skipped.append((as_text(f), reason))
            else:
                return self.files(f, chain + [chain[-1] / f.name])
        elif f.is_file():  # not a socket or a pipe
            if f.is_symlink():
                if self._outside_roots(f):
                    return []
                self.file_link(f)
            return [f]
        return []


def ingest_roots() -> Optional[list[str]]:
    """The folders GANAUG_INGEST_ROOTS allows the app to ingest from (colon-separated absolute paths), as written;
    None where it is unset or empty (any folder the server can read). ValueError naming the variable for a relative
    entry: read against wherever the app was started, it would allow what no admin of the server meant; and for one
    that starts with ~, which the app and a worker running as other accounts would read as two folders (and
    ~nosuchuser was said of the folder typed, as "cannot be read")."""
    entries = [e.strip() for e in (os.environ.get("GANAUG_INGEST_ROOTS") or "").split(":") if e.strip()]
    if relative := [e for e in entries if not Path(e).is_absolute()]:
        raise ValueError(f"GANAUG_INGEST_ROOTS must list absolute folders separated by ':', got {relative[0]!r}: no "
                         "folder is ingested from the app until the server's admin sets it right")
    return entries or None


def outside_roots(path: Path) -> Optional[str]:
    """Why `path` is outside GANAUG_INGEST_ROOTS, in one line, or None. Links are resolved first, the roots' too: a
    link inside an allowed folder to /home/alice is judged where it leads (which is not said: it lies outside)."""
    try:
        roots = ingest_roots()
        if roots is None:
            return None
        resolved = path.resolve()
        allowed = [Path(r).resolve() for r in roots]
    except ValueError as e:
        return str(e)
    except (OSError, RuntimeError) as e:  # a link loop (RuntimeError until Python 3.13)
        return f"{as_text(path)} cannot be read: {getattr(e, 'strerror', None) or e}"
    if any(resolved == r or r in resolved.parents for r in allowed):
        return None
    how = " through a link" if resolved != Path(os.path.normpath(path)) else ""
    return (f"{as_text(path)} lies outside the folders this server ingests from{how} ({', '.join(roots)}: "
            "GANAUG_INGEST_ROOTS): give a folder inside one of them")
