"""Exports over time, in the words that `ganaug export`, `ganaug audit folder` and the app's Audit page share.

What changed in an export since the dataset's previous recorded one (`db.exports.changes_since`), and which decisions
since an export withdrew some of its images (`db.exports.withdrawn_since`): the folder still matches its record, but a
model trained on it learned from images no export admits now. The sentences here hold no command: the CLI adds its
own (ganaug/cli/export_since.py), and the page says where on the page to go instead, so each reads the same facts in
the same words. User text (names, reasons, paths) goes through `one_line`; the page also `plain`s each sentence.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional

from ganaug.shown_text import class_label, one_line
from ganaug_core.shown_text import utc_time

_DID = {"revoke": "revoked its approval", "reject": "rejected it", "reject_sample": "rejected it"}


def withdrawn_by(w: dict, gate_hint: str = "") -> str:
    """'ada revoked its approval at 2026-12-07 11:12:32 UTC (event 9: “why”), after this folder was exported'; for
    images no decision withdrew (a memorized flag from a rescore), that the gate leaves them out, then `gate_hint`."""
    if w["event_id"] is None:
        return "the review's gate leaves them out now" + gate_hint
    did = f"tagged it {one_line(w['tag'])!r} (a blocking tag)" if w["action"] == "tag" else _DID[w["action"]]
    why = f": “{one_line(w['reason'])}”" if w["reason"] else ""
    return (f"{one_line(w['actor'])} {did} at {utc_time(w['ts'])} (event {w['event_id']}{why}), after this folder was "
            "exported")


def withdrawn_items(folder: Path, withdrawn: list[dict], gate_hint: str = "") -> list[str]:
    """One sentence per decision in `withdrawn` (a sample's names its file in the folder, from images.csv)."""
    try:
        files = [r.get("file") for r in csv.DictReader(io.StringIO((folder / "images.csv").read_text("utf-8")))]
    except (OSError, UnicodeDecodeError, csv.Error):
        files = []
    lines = []
    for w in withdrawn:
        if w["action"] in ("reject_sample", "tag"):  # one sample, named by its file
            row = w["rows"][0]
            file = files[row] if row < len(files) and files[row] else f"NNN_*/{row:06d}_synthetic.png"
            lines.append(f"{one_line(file)}: sample {w['sample_ids'][0]} of batch {w['batch_id']} is no longer "
                         f"admitted: {withdrawn_by(w, gate_hint)}")
            continue
        name = w["class_name"] if w["class_name"] not in (None, str(w["class_index"])) else None
        label = f"class {w['class_index']}" + (f" ({one_line(name)})" if name else "")
        n = w["samples"]
        lines.append(f"batch {w['batch_id']}, {label}: its {n} sample{'s' * (n != 1)} in this folder "
                     f"{'are' if n != 1 else 'is'} no longer admitted: {withdrawn_by(w, gate_hint)}")
    return lines


def withdrawn_total(withdrawn: list[dict], synthetic: int) -> str:
    """'3 of this folder's 6 synthetic images are no longer admitted by the review: a model trained on it learned
    from them'; what to do (export again, train on the new folder) is the caller's, said where it is done."""
    gone = sum(w["samples"] for w in withdrawn)
    return (f"{gone} of this folder's {synthetic} synthetic images {'are' if gone != 1 else 'is'} no longer admitted "
            "by the review: a model trained on it learned from them")


def changes_head(since: dict) -> str:
    """'since the previous recorded export, event 7 by rex at 2026-12-07 11:11:34 UTC (/data/gated)'."""
    return (f"since the previous recorded export, event {since['event']} by {one_line(since['actor'])} at "
            f"{utc_time(since['ts'])} ({one_line(since['folder'])})")


NOTHING_CHANGED = "nothing changed (the same manifest sha256)"


def changes_lines(since: dict, names: list[str], withdrawn_hint: str) -> list[str]:
    """What an export holds otherwise than the previous one, a line per batch and class that changed (batch by batch,
    image by image where the previous folder is still here); then `withdrawn_hint` where images went out (where the
    decisions that withdrew them are named), or why the batches are not told. [] when nothing changed."""
    if since["same"]:
        return []
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
    went_out = removed or any(x > y for x, y in (batches or {}).values())
    before, now = since.get("ratio") or (None, None)
    if went_out and before is not None and now is not None and now < before:
        # A lower --ratio leaves samples out that no decision withdrew: `audit folder`, named next, said "ok".
        lines.append(f"ratio {now:g} here, {before:g} there: a lower cap per real image leaves out more samples")
    if batches is None and since["added"] is None:
        lines.append("(its batches were not recorded, before 2026-12-07, and its folder is not here)")
    elif went_out:
        lines.append(withdrawn_hint)
    return lines or ["the same counts, other images"]


def _synthetic_rows(record: dict) -> Optional[list[tuple[int, str, str, int]]]:
    """(manifest row, path, sha256, batch id) of each synthetic image of a recorded export's folder; None when the
    folder is not here with the manifest it was recorded with."""
    import hashlib

    try:
        data = (Path(record["folder"] or "") / "manifest.csv").read_bytes()
        if hashlib.sha256(data).hexdigest() != record["manifest_sha256"]:
            return None
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return [(i, r.get("path"), r.get("sha256"), int(r["batch_id"])) for i, r in enumerate(rows)
            if r.get("source") == "synthetic" and (r.get("batch_id") or "").isdigit()]


def withdrawn_counts(records: list[dict]) -> Optional[dict[int, int]]:
    """Export id → how many of its folder's synthetic images the review no longer admits, for each of `records`
    whose folder is here with its recorded manifest and holds any: what `export_withdrawn` counts, but for a list,
    with the log replayed once and each dataset's admitted samples taken once, not per export (20 exports of 2,200
    images over 1,042 events: 0.17–0.2 s, against 1.5–2.3 s export by export; 2026-12-07, a shared 2-core machine).
    Each manifest.csv is still read, about 4 ms per 2,200 rows. None when the log does not verify."""
    from db.audit import verify_chain
    from db.engine import session_scope
    from db.exports import no_longer_admitted
    from db.replay import LogState

    here = {r["id"]: rows for r in records if (rows := _synthetic_rows(r))}
    if not here:  # no folder here holds a synthetic image: nothing to replay the log for
        return {}
    log, admitted = LogState(), {}
    with session_scope() as s:
        if not verify_chain(s, visit=log.apply).ok:
            return None
        return {i: len(no_longer_admitted(s, rows, log, admitted)) for i, rows in here.items()}


def export_withdrawn(record: dict) -> Optional[dict]:
    """What the review has withdrawn since the recorded export `record` (`db.exports.export_dict`) of its synthetic
    images, read from its folder's manifest.csv: {"ok": whether the log verifies, "synthetic": how many the folder
    holds, "withdrawn": `withdrawn_since`'s list}; None when the folder is not here with the manifest it was recorded
    with. Replays the whole log and names each decision: for one export a reviewer chose (`withdrawn_counts` counts
    them for a list)."""
    from db.audit import verify_chain
    from db.engine import session_scope
    from db.exports import withdrawn_since
    from db.replay import LogState

    synthetic = _synthetic_rows(record)
    if synthetic is None:
        return None
    log = LogState()
    with session_scope() as s:
        chain = verify_chain(s, visit=log.apply)  # the review replayed in the same read, as `audit folder` does
        withdrawn = withdrawn_since(s, synthetic, log) if chain.ok else []
    return dict(ok=chain.ok, message=chain.message, synthetic=len(synthetic), withdrawn=withdrawn)
