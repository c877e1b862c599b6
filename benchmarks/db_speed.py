"""Speed and reliability of the review workflow's database work.

    .venv/bin/python benchmarks/db_speed.py [--quick] [--url postgresql+psycopg://...]

Targets (issue 4): 10,000 decisions ≤ 2 s; one review page (48 samples with tags and scores) ≤ 50 ms with 100,000
samples in the database; approving a 10,000-sample batch ≤ 1 s; gate + manifest for 100,000 samples ≤ 3 s; and
8 processes × 1,000 decisions on one SQLite file with nothing lost and the chain intact. Everything runs in a
fresh temporary GANAUG_HOME. Prints a table; writes benchmarks/out/db_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup(home: Path, url: str | None, classes: int, real_per_class: int, batches: int, per_batch: int):
    os.environ["GANAUG_HOME"] = str(home)
    if url:
        os.environ["GANAUG_DB_URL"] = url
    from sqlalchemy import select

    from db.datasets import add_dataset
    from db.engine import session_scope
    from db.models import Batch, Run, Sample, Tag
    from db.users import add_user

    with session_scope(immediate=True) as s:
        admin = add_user(s, "ada", "ada-password", role="admin")
        add_user(s, "rex", "rex-password", by=admin)
        for i in range(8):
            add_user(s, f"w{i}", f"w{i}-password", by=admin)
    # Files are small distinct byte strings: the gate hashes bytes and never decodes them.
    real = []
    for c in range(classes):
        for i in range(real_per_class):
            rel = f"datasets/bench/train/{c}/{i:05d}.png"
            _write(home / rel, f"real {c} {i}".encode() * 8)
            real.append(dict(split="train", class_index=c, path=rel, sha256=_sha(f"real {c} {i}".encode() * 8),
                             source_path=rel))
    with session_scope() as s:
        ds = add_dataset(s, real, name="bench", source="bench", path="datasets/bench", resolution=16, channels=1,
                         class_names=[str(c) for c in range(classes)], test_fraction=0.2, seed=0, arrays_sha256="0" * 64)
        run = Run(dataset_id=ds.id, status="done", run_dir="runs/1", config={}, config_sha256="c" * 64, code_version="b")
        s.add(run)
        s.flush()
        batch_ids = []
        for b in range(batches):
            batch = Batch(run_id=run.id, dataset_id=ds.id, class_index=b % classes, count=per_batch, seed=b,
                          status="pending", checkpoint_sha256="k" * 64, config_sha256="c" * 64, code_version="b",
                          folder=f"batches/{b}", scores_computed=True)
            s.add(batch)
            s.flush()
            batch_ids.append(batch.id)
            rows = []
            for i in range(per_batch):
                rel = f"batches/{batch.id}/{i:06d}.png"
                blob = f"synthetic {batch.id} {i}".encode() * 8
                _write(home / rel, blob)
                rows.append(dict(batch_id=batch.id, class_index=b % classes, seed=i, path=rel, sha256=_sha(blob),
                                 rejected=False, memorized=False, class_confidence=(i * 7919 % 1000) / 1000,
                                 realism=(i * 104729 % 1000) / 100, novelty=1 + (i % 13) / 10, nn_distance=i % 97 / 10))
            s.execute(Sample.__table__.insert(), rows)
        tags = list(s.scalars(select(Tag.id)))
        first = s.scalars(select(Sample.id).where(Sample.batch_id == batch_ids[0]).order_by(Sample.id)).all()
    return ds, batch_ids, first, tags


class Timer:
    """Wall-clock and this process's CPU seconds (on a loaded machine the wall clock includes waiting for a core)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def _sample_ids(batch_id: int) -> list[int]:
    from sqlalchemy import select

    from db.engine import session_scope
    from db.models import Sample

    with session_scope() as s:
        return list(s.scalars(select(Sample.id).where(Sample.batch_id == batch_id).order_by(Sample.id)))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def bench_decisions(n: int, sample_id: int) -> float:
    """n decisions, each its own transaction (tag, untag, tag, ... on one sample): the one-click path."""
    from db.engine import session_scope
    from db.review import tag_sample, untag_sample
    from db.users import authenticate

    with session_scope() as s:
        rex = authenticate(s, "rex", "rex-password")
    with Timer() as t:
        for i in range(n):
            with session_scope(immediate=True) as s:
                (tag_sample if i % 2 == 0 else untag_sample)(s, sample_id, "blur", rex)
    return t


def bench_bulk_decisions(samples: list[int], per_action: int = 100) -> float:
    """len(samples) decisions as bulk actions of `per_action` samples (a page's "tag selected"): one event each."""
    from db.engine import session_scope
    from db.review import tag_samples
    from db.users import authenticate

    with session_scope() as s:
        rex = authenticate(s, "rex", "rex-password")
    with Timer() as t:
        for i in range(0, len(samples), per_action):
            with session_scope(immediate=True) as s:
                tag_samples(s, samples[i:i + per_action], "texture artifact", rex)
    return t


def bench_review_page(batch_id: int, samples: list[int], repeats: int = 30) -> float:
    from db.engine import session_scope
    from db.review import tag_sample
    from db.review_queue import review_page
    from db.users import authenticate

    with session_scope(immediate=True) as s:
        rex = authenticate(s, "rex", "rex-password")
        for sid in samples[:2000:7]:
            tag_sample(s, sid, "checkerboard", rex)
    timers = []
    for r in range(repeats):
        with Timer() as t:
            with session_scope() as s:
                rows, total = review_page(s, batch_id, page=r % (len(samples) // 48), per_page=48,
                                          sort="class_confidence", descending=True)
                assert len(rows) == 48 and total == len(samples) and all(isinstance(x.tags, list) for x in rows)
        timers.append(t)
    return sorted(timers, key=lambda t: t.wall)[len(timers) // 2]  # the median page


def bench_approve(batch_ids: list[int]) -> float:
    from db.engine import session_scope
    from db.review import approve_batch
    from db.users import authenticate

    with session_scope() as s:
        rex = authenticate(s, "rex", "rex-password")
    timers = []
    for b in batch_ids:
        with Timer() as t:
            with session_scope(immediate=True) as s:
                approve_batch(s, b, rex)
        timers.append(t)
    return max(timers, key=lambda t: t.wall)


def bench_gate(home: Path, expected: int) -> tuple[float, str]:
    from db.engine import session_scope
    from db.gate import gated_training_set

    with Timer() as t:
        with session_scope() as s:
            gated = gated_training_set(s, "bench", synthetic_ratio=1000.0, home=home)
    assert sum(e.source == "synthetic" for e in gated.entries) == expected, gated.excluded
    return t, gated.manifest_sha256


def bench_chain() -> tuple[float, int]:
    """The gate's first part alone: verifying the log's hash chain."""
    from db.audit import verify_chain
    from db.engine import session_scope

    with Timer() as t:
        with session_scope() as s:
            report = verify_chain(s)
    assert report.ok, report.message
    return t, report.checked


def bench_processes(home: Path, url: str, processes: int, per_process: int, sample_ids: list[int]) -> dict:
    from sqlalchemy import func, select

    from db.audit import verify_chain
    from db.engine import session_scope
    from db.models import Event

    with session_scope() as s:
        before = s.scalar(select(func.count()).select_from(Event))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.db.writers", "decide", url, str(home), f"w{i}",
                               f"w{i}-password", str(sample_ids[100 + i]), str(per_process)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(processes)]
    outs = [p.communicate() for p in procs]
    elapsed = time.perf_counter() - t
    failures = [o.strip() or e[-300:] for o, e in outs if o.split()[:1] != ["ok"]]
    slowest = max((float(o.split()[1]) for o, _ in outs if o.split()[:1] == ["ok"]), default=None)
    locked = sum("database is locked" in (o + e) for o, e in outs)
    with session_scope() as s:
        recorded = s.scalar(select(func.count()).select_from(Event)) - before
        report = verify_chain(s)
    return dict(seconds=elapsed, expected=processes * per_process, recorded=recorded, lost=processes * per_process - recorded,
                failures=failures, locked_errors=locked, slowest_decision_s=slowest, chain_ok=report.ok, events_verified=report.checked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size (a smoke test, not the targets)")
    parser.add_argument("--url", help="database URL (default: a SQLite file in a temporary GANAUG_HOME)")
    args = parser.parse_args()
    k = 10 if args.quick else 1
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        url = args.url or f"sqlite:///{home / 'ganaug.db'}"
        t = time.perf_counter()
        ds, batch_ids, first, _ = setup(home, args.url, classes=10, real_per_class=1000 // k, batches=10,
                                        per_batch=10_000 // k)
        print(f"setup: {10 * 10_000 // k:,} samples in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        results = {}
        second = _sample_ids(batch_ids[1])
        t = bench_bulk_decisions(second)
        results["decisions"] = dict(n=10_000 // k, per_action=100, seconds=t.wall, cpu_seconds=t.cpu, target=2.0)
        t = bench_decisions(2_000 // k, first[0])
        results["single_decisions"] = dict(n=2_000 // k, seconds=t.wall, cpu_seconds=t.cpu)
        t = bench_review_page(batch_ids[0], first)
        results["review_page"] = dict(samples_in_db=100_000 // k, seconds=t.wall, cpu_seconds=t.cpu, target=0.05)
        t = bench_approve(batch_ids)
        results["approve_batch"] = dict(batch_samples=10_000 // k, seconds=t.wall, cpu_seconds=t.cpu, target=1.0)
        gate, digest = bench_gate(home, expected=100_000 // k - len(first[:2000:7]) - len(second))
        warm, _ = bench_gate(home, expected=100_000 // k - len(first[:2000:7]) - len(second))
        chain, events = bench_chain()
        results["gate_manifest"] = dict(synthetic=100_000 // k, real=10_000 // k, seconds=gate.wall, cpu_seconds=gate.cpu,
                                        target=3.0, seconds_second_call=warm.wall, cpu_seconds_second_call=warm.cpu,
                                        manifest_sha256=digest, chain_check_seconds=chain.wall, chain_events=events)
        results["processes"] = bench_processes(home, url, 8, 1000 // k, first)
    results["machine"] = dict(cpus=os.cpu_count(), load=os.getloadavg(), backend=url.split(":")[0],
                              date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    n = 10_000 // k
    r = results
    rows = [
        (f"{n:,} decisions (bulk actions of 100)", r["decisions"]["seconds"], r["decisions"]["cpu_seconds"], 2.0),
        (f"{2_000 // k:,} decisions, one transaction each", r["single_decisions"]["seconds"],
         r["single_decisions"]["cpu_seconds"], None),
        (f"review page, {10 * n:,} samples in db (median)", r["review_page"]["seconds"], r["review_page"]["cpu_seconds"], 0.05),
        (f"approve a {n:,}-sample batch (slowest of 10)", r["approve_batch"]["seconds"], r["approve_batch"]["cpu_seconds"], 1.0),
        (f"gate + manifest, {10 * n:,} synthetic + {n:,} real", r["gate_manifest"]["seconds"],
         r["gate_manifest"]["cpu_seconds"], 3.0),
        ("  same, second call (unchanged files not re-read)", r["gate_manifest"]["seconds_second_call"],
         r["gate_manifest"]["cpu_seconds_second_call"], 3.0),
        (f"  of which the hash-chain check ({r['gate_manifest']['chain_events']:,} events)",
         r["gate_manifest"]["chain_check_seconds"], None, None),
    ]
    print(f"{'measure':<52} {'wall s':>8} {'cpu s':>8} {'target':>7}")
    for name, sec, cpu, target in rows:
        verdict = "" if target is None else ("ok" if sec <= target else "OVER")
        print(f"{name:<52} {sec:>8.3f} {'' if cpu is None else f'{cpu:.3f}':>8} {target or '':>7}  {verdict}")
    p = results["processes"]
    print(f"8 processes × {p['expected'] // 8:,} decisions: {p['seconds']:.1f} s (slowest single decision "
          f"{p['slowest_decision_s']} s), lost {p['lost']}, "
          f"'database is locked' {p['locked_errors']}, chain {'intact' if p['chain_ok'] else 'BROKEN'} "
          f"({p['events_verified']:,} events)")
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "db_speed.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
