"""Exports over time, in words. What `ganaug audit folder` says of an export folder's images that the review withdrew
after it was written (a batch's approval revoked, a sample rejected or given a blocking tag): the folder still matches
its record, but a model trained on it learned from images that no export admits now (`db.exports.withdrawn_since` finds
them). And what `ganaug export` says changed since the dataset's previous recorded export (`db.exports.changes_since`):
two exports were told apart by their manifest sha256 alone."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional

from ganaug.cli.common import class_label, one_line

SHOWN = 20  # decisions named one per line; `--json` has them all
_DID = {"revoke": "revoked its approval", "reject": "rejected it", "reject_sample": "rejected it"}


def _by_whom(w: dict) -> str:
    """'ada revoked its approval at 2026-12-07 11:12:32 UTC (event 9: “why”), after this folder was exported'."""
    if w["event_id"] is None:
        return "the review's gate leaves them out now (`ganaug audit trace FILE` shows the decisions on one)"
    did = f"tagged it {one_line(w['tag'])!r} (a blocking tag)" if w["action"] == "tag" else _DID[w["action"]]
    why = f": “{one_line(w['reason'])}”" if w["reason"] else ""
    return (f"{one_line(w['actor'])} {did} at {w['ts'][:19].replace('T', ' ')} UTC (event {w['event_id']}{why}), "
            "after this folder was exported")


def withdrawn_lines(folder: Path, withdrawn: list[dict], synthetic: int) -> list[str]:
    """One line per decision since the export that withdrew some of its images (a sample's by its file in the folder),
    then what to do: export again and train on the new folder."""
    if not withdrawn:
        return []
    try:
        files = [r.get("file") for r in csv.DictReader(io.StringIO((folder / "images.csv").read_text("utf-8")))]
    except (OSError, UnicodeDecodeError, csv.Error):
        files = []
    lines = []
    for w in withdrawn[:SHOWN]:
        if w["action"] in ("reject_sample", "tag"):  # one sample, named by its file
            row = w["rows"][0]
            file = files[row] if row < len(files) and files[row] else f"NNN_*/{row:06d}_synthetic.png"
            lines.append(f"{one_line(file)}: sample {w['sample_ids'][0]} of batch {w['batch_id']} is no longer "
                         f"admitted: {_by_whom(w)}")
            continue
        name = w["class_name"] if w["class_name"] not in (None, str(w["class_index"])) else None
        label = f"class {w['class_index']}" + (f" ({one_line(name)})" if name else "")
        n = w["samples"]
        lines.append(f"batch {w['batch_id']}, {label}: its {n} sample{'s' * (n != 1)} in this folder "
                     f"{'are' if n != 1 else 'is'} no longer admitted: {_by_whom(w)}")
    if len(withdrawn) > SHOWN:  # a sample rejected at a time, thousands of them: the count, and where the rest are
        lines.append(f"… and {len(withdrawn) - SHOWN} more decisions that withdrew images (`--json` lists every one)")
    gone = sum(w["samples"] for w in withdrawn)
    lines.append(f"{gone} of this folder's {synthetic} synthetic images {'are' if gone != 1 else 'is'} no longer "
                 "admitted by the review: a model trained on it learned from them; export again (`ganaug export "
                 f"--dataset {one_line(withdrawn[0]['dataset'])} --out NEW_FOLDER`) and train on the new folder")
    return lines


def changes_text(since: Optional[dict], names: list[str]) -> str:
    """What an export holds otherwise than the dataset's previous recorded one (`db.exports.changes_since`), a line
    per batch and class that changed; '' for a dataset's first."""
    if since is None:
        return ""
    head = (f"since the previous recorded export, event {since['event']} by {one_line(since['actor'])} at "
            f"{since['ts'][:19].replace('T', ' ')} UTC ({one_line(since['folder'])})")
    if since["same"]:
        return f"{head}: nothing changed (the same manifest sha256)\n"
    batches, added, removed = since["batches"], since["added"] or {}, since["removed"] or {}
    if since["added"] is not None:  # the previous folder is still here: image by image
        lines = [("real images" if b == "real" else f"batch {b}") + ": " + ", ".join(
                     f"{n} {'image' if b == 'real' else 'sample'}{'s' * (n != 1)} {word}"
                     for n, word in ((removed.get(b), "out"), (added.get(b), "in")) if n)
                 for b in sorted({*added, *removed}, key=lambda b: (b == "real", int(b) if b != "real" else 0))]
    else:
        lines = [f"batch {b}: {x} → {y} samples" for b, (x, y) in (batches or {}).items()]
    lines += [f"class {class_label(c, names)}: " + ", ".join(f"{k} {x} → {y}" for k, (x, y) in v.items() if x != y)
              for c, v in since["classes"].items()]
    if batches is None and since["added"] is None:
        lines.append("(its batches were not recorded, before 2026-12-07, and its folder is not here)")
    elif removed or any(x > y for x, y in (batches or {}).values()):
        lines.append(f"(`ganaug audit folder {one_line(since['folder'])}` names the decisions that withdrew images)")
    return f"{head}:\n" + "".join(f"  {line}\n" for line in lines or ["the same counts, other images"])
