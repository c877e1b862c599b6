"""Exports over time, in words. What `ganaug audit folder` says of an export folder's images that the review withdrew
after it was written (a batch's approval revoked, a sample rejected or given a blocking tag): the folder still matches
its record, but a model trained on it learned from images that no export admits now (`db.exports.withdrawn_since` finds
them). And what `ganaug export` says changed since the dataset's previous recorded export (`db.exports.changes_since`):
two exports were told apart by their manifest sha256 alone. The sentences are ganaug/export_changes.py's, which the
Audit page says too; the commands to run are this module's."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ganaug.cli.line_width import wrapped
from ganaug.export_changes import NOTHING_CHANGED, changes_head, changes_lines, withdrawn_items, withdrawn_total
from ganaug.shown_text import one_line

SHOWN = 20  # decisions named one per line; `--json` has them all


def withdrawn_lines(folder: Path, withdrawn: list[dict], synthetic: int) -> list[str]:
    """One line per decision since the export that withdrew some of its images (a sample's by its file in the folder),
    then what to do: export again and train on the new folder."""
    if not withdrawn:
        return []
    lines = withdrawn_items(folder, withdrawn[:SHOWN],
                            gate_hint=" (`ganaug audit trace FILE` shows the decisions on one)")
    if len(withdrawn) > SHOWN:  # a sample rejected at a time, thousands of them: the count, and where the rest are
        lines.append(f"… and {len(withdrawn) - SHOWN} more decisions that withdrew images (`--json` lists every one)")
    lines.append(f"{withdrawn_total(withdrawn, synthetic)}; export again (`ganaug export --dataset "
                 f"{one_line(withdrawn[0]['dataset'])} --out NEW_FOLDER`) and train on the new folder")
    return lines


def changes_text(since: Optional[dict], names: list[str]) -> str:
    """What an export holds otherwise than the dataset's previous recorded one (`db.exports.changes_since`), a line
    per batch and class that changed; '' for a dataset's first."""
    if since is None:
        return ""
    # The head names who and where: with a long name and a team share's path it was 199 columns, 103 without the
    # path. Wrapped, the path whole on a line of its own where it must be (cut, it could not be copied).
    folder = one_line(since["folder"])
    if since["same"]:
        return wrapped(f"{changes_head(since)}: {NOTHING_CHANGED}", whole=(folder,)) + "\n"
    hint = f"(`ganaug audit folder {folder}` names the decisions that withdrew images)"
    return (wrapped(f"{changes_head(since)}:", whole=(folder,)) + "\n"
            + "".join(f"  {line}\n" for line in changes_lines(since, names, hint)))
