"""The training gate: exactly what reviewers approved, and nothing else, plus the real training split.

`gated_training_set` returns every real *train* image (never val or test) and the synthetic samples of approved
(not revoked) batches of the dataset, minus rejected samples, samples carrying a blocking tag and samples added to
a batch after it was approved; per class at most `synthetic_ratio` × (real train images of that class), taken in
sample-id order; and only files whose bytes still match their recorded sha256 (re-hashed on every call, except files
unchanged since this process hashed them — see `_verified`). The manifest lists each entry with
the event that approved it; its sha256 identifies the training set (the bytes of `manifest.csv` on export).

Admission first verifies the log's hash chain: a log that `ganaug audit verify` calls broken admits nothing, and the
set records the head it was gated on (`log_head`), so a later truncation of the log's tail can be noticed. Call it in
`session_scope(snapshot=True)`: on PostgreSQL a colleague's approval between the log's read and the tables' otherwise
reads as "batch approved in the table but not in the log", a warning of tampering.
Admission reads the decision log as well as the state tables, since a row of state can be edited without breaking
any hash (`db.replay`): a batch counts as approved only when its status and its last decision in the log both say
so and its samples still match the digest its approval recorded; a sample rejected or blocking-tagged in either
stays out, and so does one that carried a blocking tag when its batch was approved. A sample flagged as memorized
stays out too: approval refuses a batch with unrejected memorized samples, so such a flag was set after approval
(a rescore with a stronger copy check) and no reviewer decided to admit a copy of a training image.
A sample also stays out when its class, or its batch's dataset, is no longer the one its batch's approval recorded
(the digest covers bytes, not labels), when its batch holds a decision no ganaug command records
(`LogState.impossible`: an event appended by hand, or signed by an account the log had disabled), and when its
bytes are those of a sample the review kept out in another batch (`kept_out_bytes`).
The real images are admitted only while their rows agree with the digest the dataset's ingest (or an admin's seal)
recorded in the log (`db.ingests`); a dataset ingested before ingests were recorded is admitted, and says so
(`GatedSet.real_images`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.audit import verify_chain
from db.datasets import get_dataset
from db.errors import DecisionError
from db.ingests import DIFFERS, real_images_standing
from db.models import Batch, Dataset, RealImage, Sample, carries_blocking_tag
from db.replay import Approval, LogState, digest_agrees, replay
from ganaug_core.plain_files import open_plain_fd

MANIFEST_COLUMNS = ("path", "sha256", "class_index", "source", "batch_id", "event_id")

# An approved sample whose bytes the review kept out in another batch: a twin regenerated from a rejected batch's
# seed, or a copy slipped in: either way one image with two decisions, of which the one that keeps it out holds.
KEPT_OUT_ELSEWHERE = "the bytes of a sample kept out in another batch"
# Every real image of a dataset whose real_images rows differ from what its ingest (or seal) recorded (`db.ingests`):
# one digest covers them all, so which row was added or changed cannot be told, and none is admitted.
REAL_ROWS_CHANGED = "real images differ from what their ingest recorded"
# A batch whose row now names another dataset than its approval did: one UPDATE of batches.dataset_id, which no hash
# covers, put one dataset's approved samples (a "7" of digits, say) into another's training set under the same index.
MOVED_DATASET = "approved for another dataset"

# Reasons in `GatedSet.excluded` that mean something changed behind the review's back (a file, a row of the state
# tables, a hand-written event) or an image with two decisions, as opposed to the review's own decisions (pending,
# rejected, tagged, over the cap): worth a warning.
INTEGRITY_REASONS = (
    "real file missing or changed",
    REAL_ROWS_CHANGED,
    "synthetic file missing or changed",
    "batch approved in the table but not in the log",
    "batch's samples differ from what its approval recorded",
    MOVED_DATASET,
    "added after approval",
    "blocking tag when approved",
    "rejected or blocking-tagged in the log, not in the tables",
    "flagged as memorized after approval",
    "rejected when its batch was approved",
    "class changed after approval",
    "decided in a way no ganaug command records",
    KEPT_OUT_ELSEWHERE,
)


class ManifestEntry(NamedTuple):  # a tuple: 100,000 of them are built per call, and they never change
    path: str  # relative to GANAUG_HOME
    sha256: str
    class_index: int
    source: str  # "real" or "synthetic"
    batch_id: Optional[int] = None
    event_id: Optional[int] = None  # the approval event that admitted it (synthetic only)


@dataclass
class GatedSet:
    dataset: str
    synthetic_ratio: float
    entries: list[ManifestEntry]
    manifest_sha256: str
    excluded: dict[str, int] = field(default_factory=dict)  # reason → samples left out
    counts: dict[int, dict[str, int]] = field(default_factory=dict)  # class → {"real": n, "synthetic": m}
    log_head: dict = field(default_factory=dict)  # {"events": n, "hash": h}: the verified log this set rests on
    over_cap: dict[int, int] = field(default_factory=dict)  # class → admissible samples left out over the cap
    # {"standing": "recorded" | "not covered" | "differs", "event_id": the ingest or seal}: the real images against
    # the log (`db.ingests.real_images_standing`); "not covered" (ingested before 2026-12-07, not sealed) admits them
    real_images: dict = field(default_factory=dict)

    def manifest_csv(self) -> bytes:
        return manifest_csv(self.entries)

    def summary(self) -> dict:
        return dict(dataset=self.dataset, synthetic_ratio=self.synthetic_ratio, entries=len(self.entries),
                    manifest_sha256=self.manifest_sha256, counts={str(k): v for k, v in self.counts.items()},
                    excluded=self.excluded, log_head=self.log_head,
                    over_cap={str(k): v for k, v in self.over_cap.items()}, real_images=self.real_images)


def manifest_csv(entries: list[ManifestEntry]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MANIFEST_COLUMNS)
    w.writerows(entries)  # None is written as an empty field
    return buf.getvalue().encode("utf-8")


# path → (stat fingerprint, sha256) of files hashed earlier in this process. A file whose inode, size, mtime and
# ctime are all unchanged has unchanged bytes (ctime cannot be set back from user space; git trusts the same
# fingerprint). Files modified within RACY_NS of being hashed are never cached: timestamps are coarse, so a second
# write in the same tick could otherwise go unnoticed.
_verified: dict[str, tuple[tuple, str]] = {}
RACY_NS = 2_000_000_000
CACHE_LIMIT = 500_000


def file_sha256s(paths: list[str]) -> list[Optional[str]]:
    """Each file's sha256 (None for a file that cannot be read), from `_verified` where its fingerprint is
    unchanged."""
    # os-level calls: Python's buffered open() costs more than hashing a small image.
    out: list[Optional[str]] = []
    for path in paths:
        try:
            # A pipe named manifest.csv in an export's folder held every page and command that lists the exports.
            fd, st = open_plain_fd(path)
        except OSError:  # NotAPlainFile among them: a pipe or a device is no file that was written
            out.append(None)
            continue
        try:
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            hit = _verified.get(path)
            if hit is not None and hit[0] == key:
                out.append(hit[1])
                continue
            h = hashlib.sha256()
            while chunk := os.read(fd, max(st.st_size, 1 << 16) + 1):
                h.update(chunk)
            digest = h.hexdigest()
            out.append(digest)
            if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_NS and len(_verified) < CACHE_LIMIT:
                _verified[path] = (key, digest)
        except OSError:
            out.append(None)
        finally:
            os.close(fd)
    return out


def _matching(base: Path, rows: list, workers: int = min(4, os.cpu_count() or 1)) -> list[bool]:
    """Which rows' files exist and match their recorded sha256.

    A few threads over contiguous slices: reads overlap (helps on cold caches and network disks) while the
    per-file Python overhead stays that of a plain loop — a future per file would cost more than the hash.
    """
    if not rows:
        return []
    root = str(base) + os.sep
    paths = [root + r.path for r in rows]  # stored paths are relative to the home
    size = -(-len(paths) // workers)
    slices = [paths[i:i + size] for i in range(0, len(paths), size)]
    if len(slices) == 1:
        digests = file_sha256s(paths)
    else:
        with ThreadPoolExecutor(max_workers=len(slices)) as pool:
            digests = [d for part in pool.map(file_sha256s, slices) for d in part]
    return [d == r.sha256 for d, r in zip(digests, rows)]


def gated_training_set(session: Session, dataset_name: str, synthetic_ratio: float = 1.0,
                       home: Optional[Path] = None) -> GatedSet:
    if not (isinstance(synthetic_ratio, (int, float)) and math.isfinite(synthetic_ratio) and synthetic_ratio >= 0):
        raise DecisionError(f"the synthetic:real ratio must be a number ≥ 0, got {synthetic_ratio!r}")
    if home is None:
        from ganaug_core.paths import home as default_home

        home = default_home()
    base = Path(home)
    dataset = get_dataset(session, dataset_name)
    log = LogState()
    chain = verify_chain(session, visit=log.apply)  # one read of the log: its hashes checked, its decisions replayed
    if not chain.ok:
        raise DecisionError(f"the decision log is broken, so nothing can be admitted: {chain.message}. "
                            "`ganaug audit verify` shows it; restore the database from a backup")
    excluded: Counter = Counter()
    entries, real_per_class, standing, recorded_by = _real_entries(session, dataset, dataset_name, log, base,
                                                                   excluded)
    admitted, not_admitted = admissible_samples(session, dataset.id, log)
    excluded.update(not_admitted)
    chosen, taken, over_cap = _under_cap(admitted, real_per_class, synthetic_ratio, excluded)
    # Hash only what the cap admits; a mismatching file is dropped, not replaced, so the result stays
    # independent of which files happen to be damaged elsewhere.
    for entry, ok in zip(chosen, _matching(base, chosen)):
        if ok:
            entries.append(entry)
        else:
            excluded["synthetic file missing or changed"] += 1
            taken[entry.class_index] -= 1

    counts = {c: {"real": real_per_class.get(c, 0), "synthetic": taken.get(c, 0)}
              for c in sorted(set(real_per_class) | set(taken))}
    digest = hashlib.sha256(manifest_csv(entries)).hexdigest()
    return GatedSet(dataset_name, float(synthetic_ratio), entries, digest, dict(excluded), counts,
                    {"events": chain.checked, "hash": chain.head_hash}, dict(sorted(over_cap.items())),
                    dict(standing=standing, event_id=recorded_by))


def _real_entries(session: Session, dataset: Dataset, dataset_name: str, log: LogState, base: Path,
                  excluded: Counter):
    """The real training images admitted (those whose rows agree with the log's digest and whose files match their
    sha256), how many of each class, and the rows' standing against the log and the event that recorded them; what
    is left out is counted in `excluded`."""
    # Every split in one read: the log's digest covers them all (a test image moved into training is a change too).
    all_real = session.execute(
        select(RealImage.id, RealImage.split, RealImage.class_index, RealImage.sha256, RealImage.path)
        .where(RealImage.dataset_id == dataset.id).order_by(RealImage.id)
    ).all()
    real_rows = [r for r in all_real if r.split == "train"]
    standing, recorded_by = real_images_standing(session, dataset.id, log, all_real)
    if standing == DIFFERS:  # a row added (a rejected sample listed as real, say) or a file swapped with its sha256
        excluded[REAL_ROWS_CHANGED] += len(real_rows)
    entries: list[ManifestEntry] = []
    real_per_class: Counter = Counter()
    for r, ok in zip(real_rows, [] if standing == DIFFERS else _matching(base, real_rows)):
        if not ok:
            excluded["real file missing or changed"] += 1
            continue
        entries.append(ManifestEntry(r.path, r.sha256, r.class_index, "real"))
        real_per_class[r.class_index] += 1
    if real_rows and not entries and standing != DIFFERS:  # not one file: the wrong GANAUG_HOME, not damage
        raise DecisionError(f"none of dataset {dataset_name!r}'s {len(real_rows)} real training images is under "
                            f"{base} with its recorded bytes: is GANAUG_HOME the folder the dataset was ingested into?")
    return entries, real_per_class, standing, recorded_by


def _under_cap(admitted: list[ManifestEntry], real_per_class: Counter, synthetic_ratio: float, excluded: Counter):
    """The admitted samples within each class's cap (`synthetic_ratio` × its real images), in id order, how many of
    each class, and how many of each the cap left out (also counted in `excluded`)."""
    caps = {c: math.floor(synthetic_ratio * n + 1e-9) for c, n in real_per_class.items()}
    chosen, taken, over_cap = [], Counter(), Counter()
    for entry in admitted:
        if taken[entry.class_index] >= caps.get(entry.class_index, 0):
            excluded["over the synthetic:real cap"] += 1
            over_cap[entry.class_index] += 1
        else:
            chosen.append(entry)
            taken[entry.class_index] += 1
    return chosen, taken, over_cap


def admissible_samples(session: Session, dataset_id: int,
                       log: Optional[LogState] = None) -> tuple[list[ManifestEntry], Counter]:
    """The dataset's synthetic samples that the review admits, in id order, before the per-class cap and the file
    check; and the samples left out, by reason (each counted once, under the first reason that applies). `log`:
    the log's state when the caller replayed it already."""
    log = replay(session) if log is None else log
    excluded: Counter = Counter()
    for status, n in session.execute(
        select(Batch.status, func.count(Sample.id)).join(Sample, Sample.batch_id == Batch.id)
        .where(Batch.dataset_id == dataset_id, Batch.status != "approved").group_by(Batch.status)
    ):
        excluded[f"in a {status} batch"] = n  # "240 in a pending batch" (it read "240 batch pending")
    blocking = carries_blocking_tag()
    # One pass over every sample of the table-approved batches: the digests need them all, rejected ones too.
    rows = session.execute(
        select(Sample.id, Sample.path, Sample.sha256, Sample.class_index, Sample.batch_id, Sample.rejected,
               blocking.label("blocked"), Sample.memorized)
        .join(Batch, Batch.id == Sample.batch_id)
        .where(Batch.dataset_id == dataset_id, Batch.status == "approved")
        .order_by(Sample.id)
    ).all()
    # batch id → its samples' (id, sha256), unpacked once: reading a row's fields by name twice per sample took 0.54 s
    # of a gate over 96,500 approved samples, this 0.21 s
    members: dict[int, list[tuple[int, str]]] = {}
    for sid, _path, sha, _class, batch_id, _rejected, _blocked, _memorized in rows:
        members.setdefault(batch_id, []).append((sid, sha))
    kept_out = kept_out_bytes(session, log)
    approvals = _approved_in_log(members, log, dataset_id, excluded)
    return _admitted(rows, approvals, log, kept_out, excluded), excluded


def _approved_in_log(members: dict[int, list[tuple[int, str]]], log: LogState, dataset_id: int,
                     excluded: Counter) -> dict[int, Approval]:
    """Batch id → its approval, for each table-approved batch whose approval the log holds and its samples still
    match; the samples of the others are counted in `excluded`, under why."""
    approvals: dict[int, Approval] = {}
    for batch_id, batch_rows in members.items():
        approval = log.approvals.get(batch_id)
        if log.batch_status(batch_id) != "approved" or approval is None:
            excluded["batch approved in the table but not in the log"] += len(batch_rows)
        elif batch_id in log.impossible:  # a decision appended to the log by hand (`db.replay`)
            excluded["decided in a way no ganaug command records"] += len(batch_rows)
        elif not digest_agrees(batch_rows, approval):
            excluded["batch's samples differ from what its approval recorded"] += len(batch_rows)
        elif approval.details.get("dataset_id", dataset_id) != dataset_id:  # recorded since 2026-12-07
            excluded[MOVED_DATASET] += len(batch_rows)  # batches.dataset_id edited: another dataset's images
        else:
            approvals[batch_id] = approval
    return approvals


def _admitted(rows: list, approvals: dict[int, Approval], log: LogState, kept_out: dict[str, set[int]],
              excluded: Counter) -> list[ManifestEntry]:
    """The samples of `approvals`' batches that no decision keeps out, each with the approval that admits it; the
    others are counted in `excluded`, under the first reason that applies. One loop, not a call per sample: a gate
    reads 100,000 of them."""
    admitted = []
    for sid, path, sha, c, batch_id, rejected, blocked, memorized in rows:
        approval = approvals.get(batch_id)
        if approval is None:
            continue  # counted by _approved_in_log
        max_sample_id = approval.details.get("max_sample_id")
        approved_class = approval.details.get("class_index")  # every approval records it (2026-11-22 on)
        if rejected:
            excluded["rejected sample"] += 1
        elif blocked:
            excluded["blocking tag"] += 1
        elif max_sample_id is None or sid > max_sample_id:
            excluded["added after approval"] += 1
        elif sid in approval.blocked:
            excluded["blocking tag when approved"] += 1
        elif sid in approval.rejected:  # a restore after approval, which only a hand-written event makes
            excluded["rejected when its batch was approved"] += 1
        elif approved_class is not None and c != approved_class:  # the digest covers bytes, not labels
            excluded["class changed after approval"] += 1
        elif sid in log.rejected or log.blocked_now(sid):
            excluded["rejected or blocking-tagged in the log, not in the tables"] += 1
        elif memorized:  # approval refuses open memorized samples, so this flag came later (a rescore)
            excluded["flagged as memorized after approval"] += 1
        elif kept_out.get(sha, {batch_id}) - {batch_id}:
            excluded[KEPT_OUT_ELSEWHERE] += 1
        else:
            admitted.append(ManifestEntry(path, sha, c, "synthetic", batch_id, approval.event_id))
    return admitted


def kept_out_bytes(session: Session, log: LogState) -> dict[str, set[int]]:
    """sha256 → the batches holding a sample with those bytes that the review kept out: rejected, blocking-tagged (now
    or when its batch was approved), or of a rejected or revoked batch, in the tables or in the log; of bytes found in
    more than one batch only. A decision is about the image, so it holds wherever the same bytes appear again:
    `ganaug generate` with a rejected batch's seed from the same checkpoint gives the same PNGs, which a second
    batch's approval admitted."""
    # Bytes in two batches are rare: SQL finds them (one grouping over the sha256 column, ≈ 0.1 s for 100,000
    # samples), and only those rows are looked at. Reading every kept-out sample instead cost ≈ 1 s there.
    twice = select(Sample.sha256).group_by(Sample.sha256).having(func.count(func.distinct(Sample.batch_id)) > 1)
    blocking = carries_blocking_tag()
    rows = session.execute(
        select(Sample.id, Sample.batch_id, Sample.sha256, Sample.rejected, blocking.label("blocked"), Batch.status)
        .join(Batch, Batch.id == Sample.batch_id).where(Sample.sha256.in_(twice))).all()
    at_approval = {s for a in log.approvals.values() for s in a.blocked}
    found: dict[str, set[int]] = {}
    for sid, batch_id, sha, rejected, blocked, status in rows:
        if (rejected or blocked or status in ("rejected", "revoked") or sid in log.rejected or log.blocked_now(sid)
                or sid in at_approval or log.status.get(batch_id) in ("rejected", "revoked")):
            found.setdefault(sha, set()).add(batch_id)
    return found
