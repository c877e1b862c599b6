"""`ganaug audit trace FILE`: one image, found by its sha256: a synthetic sample's batch, run, checkpoint, class, seed,
the decisions on it and its batch and the exports that hold it, with the command that regenerates its bytes; or the
real image it is. What an auditor handed one image of an export folder can prove with the home it came from (the
whole folder: `audit folder`, audit_folder.py)."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import typer

from ganaug.cli.common import JSON, UserError, cli_errors, emit
from ganaug.shown_text import one_line
from ganaug_core.shown_text import utc_time
from ganaug_core.imageio import sha256_file


def trace_image(file: Path) -> dict:
    """Where an image of this home comes from, found by its sha256."""
    from sqlalchemy import or_, select

    from db.engine import session_scope
    from db.exports import list_exports
    from db.models import Batch, Dataset, Event, RealImage, Sample
    from ganaug.reproduce import find_checkpoint
    from ganaug_core import paths

    if not file.is_file():
        raise UserError(f"{file} is not a file")
    digest = sha256_file(file)
    with session_scope() as s:
        samples = s.scalars(select(Sample).where(Sample.sha256 == digest).order_by(Sample.id)).all()
        recorded = list_exports(s, limit=10**9) if samples else []  # read once, whatever the samples
        found = []
        for sample in samples:
            batch = s.get(Batch, sample.batch_id)
            run = batch.run
            names = s.get(Dataset, batch.dataset_id).class_names
            approvals = s.scalars(select(Event).where(or_(
                (Event.target_type == "batch") & (Event.target_id == batch.id),
                (Event.target_type == "sample") & (Event.target_id == sample.id))).order_by(Event.id)).all()
            exports = [dict(id=e["id"], ts=e["ts"], actor=e["actor"], folder=e["folder"])
                       for e in recorded if _export_holds(e, sample.path, digest)]
            ckpt = find_checkpoint(paths.resolve(run.run_dir), run.checkpoint_path, batch.checkpoint_sha256)
            found.append(dict(
                sample_id=sample.id, batch_id=batch.id, batch_status=batch.status, run_id=run.id,
                class_index=sample.class_index,
                class_name=names[sample.class_index] if sample.class_index < len(names) else None,
                seed=sample.seed, path=sample.path, checkpoint_sha256=batch.checkpoint_sha256,
                checkpoint=None if ckpt is None else str(ckpt),
                decisions=[dict(id=e.id, ts=e.ts, actor=e.actor, role=e.role, action=e.action,
                                target_type=e.target_type, target_id=e.target_id, reason=e.reason)
                           for e in approvals],
                exports=exports))
        real = [dict(id=r.id, class_index=r.class_index, split=r.split, path=r.path, source_path=r.source_path)
                for r in s.scalars(select(RealImage).where(RealImage.sha256 == digest).order_by(RealImage.id))]
    return dict(file=str(file), sha256=digest, samples=found, real=real)


def _export_holds(export: dict, path: str, digest: str) -> bool:
    """Whether a recorded export's manifest lists this sample: read from its folder where that is still here and
    unchanged (the record keeps the manifest's hash, not its rows)."""
    manifest = Path(export["folder"] or "") / "manifest.csv"
    try:
        data = manifest.read_bytes()
    except OSError:
        return False
    if hashlib.sha256(data).hexdigest() != export["manifest_sha256"]:
        return False
    return any(r["path"] == path and r["sha256"] == digest for r in csv.DictReader(io.StringIO(data.decode())))


def audit_trace_cmd(
    file: Path = typer.Argument(..., help="An image: one of an export folder, a batch's or any copy"),
    as_json: bool = JSON,
) -> None:
    """Trace an image by its sha256: for a synthetic sample its batch, run, the checkpoint's sha256, class and seed,
    who decided on its batch and when, the exports (still here) that hold it, and the command that regenerates it;
    for a real image, which one. Exit 1 when no image of this home has those bytes.

    Example: ganaug audit trace ~/gated-digits/007_7/000866_synthetic.png
    """
    out = trace_image(file)
    lines = []
    for t in out["samples"]:
        name = f" ({one_line(t['class_name'])})" if t["class_name"] not in (None, str(t["class_index"])) else ""
        where = t["checkpoint"] or "NOT FOUND here: removed or changed, so it cannot be regenerated"
        lines.append(f"sample {t['sample_id']} of batch {t['batch_id']} ({t['batch_status']}): run {t['run_id']}, "
                     f"class {t['class_index']}{name}, seed {t['seed']}\n"
                     f"  checkpoint sha256 {t['checkpoint_sha256']} ({one_line(where)})")
        lines += [f"  event {d['id']} {utc_time(d['ts'])} {one_line(d['actor'])} ({d['role']}) {d['action']} "
                  f"{d['target_type']} {d['target_id']}" + (f"  — {one_line(d['reason'])}" if d["reason"] else "")
                  for d in t["decisions"]]
        lines += [f"  in export event {e['id']} {utc_time(e['ts'])} by {one_line(e['actor'])}: {one_line(e['folder'])}"
                  for e in t["exports"]]
        lines.append(f"  regenerate: ganaug audit reproduce {t['batch_id']} --sample {t['sample_id']} --out FILE")
    lines += [f"real image {r['id']}: class {r['class_index']}, {r['split']} split, {one_line(r['path'])} "
              f"(ingested from {one_line(r['source_path'])})" for r in out["real"]]
    text = "\n".join(lines) or (f"NOT FOUND: no sample or real image of this home has sha256 {out['sha256']}: the "
                                "file was changed, or it comes from another home")
    emit(out, as_json, text)
    if not lines:
        raise typer.Exit(1)


def register(audit_app: typer.Typer) -> None:
    audit_app.command("trace")(cli_errors(audit_trace_cmd))
