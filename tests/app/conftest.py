"""Fixtures for the app tests: real SQLite, real PNGs, real accounts; each page driven through Streamlit's AppTest.

Pages import torch-heavy modules on first use, so AppTest gets a generous timeout (its 3 s default is too short).
Streamlit's caches are process-wide: they are cleared before and after every test, since each test has its own
GANAUG_HOME.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def clear_streamlit_caches():
    import streamlit as st

    # No reset of the sign-in form's wrong passwords is needed: they are rows in the database (db/sign_ins.py), and
    # every test has its own (the `home` fixture), so no test inherits another's.
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def users(home, digits):
    """An admin (bootstrap) and a reviewer, as dicts the app keeps in session state."""
    from db.engine import session_scope
    from db.users import add_user

    with session_scope(immediate=True) as session:
        admin = add_user(session, "ada", PASSWORD, role="admin")
        rev = add_user(session, "rita", PASSWORD, role="reviewer", by=admin)
        out = {u.name: dict(id=u.id, name=u.name, role=u.role) for u in (admin, rev)}
    return out


def make_batch(dataset: str, class_index: int, n: int, memorized=(), scored: bool = True, seed: int = 0,
               run_id: int | None = None, scoring_version: int | None = -1) -> int:
    """A run + pending batch of `n` samples with real PNGs under GANAUG_HOME, as the generator would leave them;
    a scored one records `scoring_version` (-1: today's; None: scored before versions were recorded)."""
    from ganaug_core.scoring import SCORING_VERSION

    from db.engine import session_scope
    from db.models import Batch, Dataset, RealImage, Run, Sample
    from ganaug_core import paths
    from ganaug_core.imageio import save_png
    from sqlalchemy import select

    rng = np.random.default_rng(seed)
    # Immediate: it reads, then writes. Beside a served app (the browser tests) that wrote in between, a deferred
    # transaction's write failed at once with "database is locked" (WAL: its read snapshot was stale).
    with session_scope(immediate=True) as session:
        ds = session.scalars(select(Dataset).where(Dataset.name == dataset)).one()
        reals = list(session.scalars(select(RealImage.id).where(RealImage.dataset_id == ds.id,
                                                                RealImage.split == "train").limit(5)))
        run = session.get(Run, run_id) if run_id else None
        if run is None:
            run = Run(dataset_id=ds.id, status="done", run_dir="runs/test", config={"arch": "dcgan"},
                      config_sha256="c" * 64, code_version="test", step=10, total_steps=10, progress=1.0,
                      checkpoint_path="runs/test/checkpoints/last.pt", checkpoint_sha256="k" * 64)
            session.add(run)
            session.flush()
        batch = Batch(run_id=run.id, dataset_id=ds.id, class_index=class_index, count=n, seed=seed, status="pending",
                      checkpoint_sha256="k" * 64, config_sha256="c" * 64, code_version="test", folder="",
                      scores_computed=scored,
                      scoring_version=(SCORING_VERSION if scoring_version == -1 else scoring_version) if scored else None)
        session.add(batch)
        session.flush()
        folder = paths.batches_dir() / str(batch.id)
        batch.folder = paths.relative_to_home(paths.batches_dir()) + f"/{batch.id}"
        for i in range(n):
            img = rng.integers(0, 256, size=(1, ds.resolution, ds.resolution), dtype=np.uint8)
            path = folder / f"{i:05d}.png"
            sha = save_png(img, path)
            session.add(Sample(
                batch_id=batch.id, class_index=class_index, seed=seed * 1000 + i, path=paths.relative_to_home(path),
                sha256=sha, memorized=i in memorized, class_confidence=float(rng.random()) if scored else None,
                realism=float(rng.random()) if scored else None, novelty=1.0 + i / n if scored else None,
                nn_distance=0.5 + i / n if scored else None, nn_real_ids=reals[:3], emb_x=float(rng.normal()),
                emb_y=float(rng.normal())))
        return batch.id


def approved_batch(dataset: str, class_index: int, n: int, seed: int) -> int:
    """`make_batch`'s batch, approved by rita."""
    from db.engine import session_scope
    from db.review import approve_batch
    from db.users import get_user

    batch = make_batch(dataset, class_index, n, seed=seed)
    with session_scope(immediate=True) as session:
        approve_batch(session, batch, get_user(session, "rita"))
    return batch


def export_from_page(at, name: str):
    """The Audit page's export of the gated set into exports/`name`, which must succeed."""
    at.text_input(key="export_name").set_value(name).run()
    button(at, "Export the gated training set").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


@contextmanager
def worker_beating(job_id: int):
    """The worker that runs `job_id` beats, as a live one does, while the block's pages run. A beat made once before
    them had grown older than the 15 s a page allows a live worker by the time a process's first page had imported
    all it needs: 10–13 s beside 3–6 other busy processes, 20 s beside 8 (the page then said no worker ran)."""
    from db.engine import session_scope
    from db.jobs import heartbeat

    stop = threading.Event()

    def beats() -> None:
        while not stop.wait(0.5):
            with session_scope(immediate=True) as session:
                heartbeat(session, job_id)

    beating = threading.Thread(target=beats, name=f"heartbeat-{job_id}", daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join(timeout=30)


def app_test(user: dict | None = None, page: str | None = None, theme: str | None = None):
    """The whole app (app.py + navigation), optionally signed in and switched to `page` (a file in pages/); `theme`
    ("light", "dark"): the one the browser says it shows (`st.context.theme`), none by default."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if theme is not None:
        at.context = {"theme": theme}
    if user is not None:
        at.session_state["user"] = user
    at.run()
    if page is not None:
        at.switch_page(f"pages/{page}")
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at, label: str):
    """The one button (or form submit button) with this label."""
    found = [b for b in at.button if b.label == label]
    assert len(found) == 1, f"{len(found)} buttons labelled {label!r}: {[b.label for b in at.button]}"
    return found[0]


def embed_reals(dataset: str, seed: int = 1) -> int:
    """Give every real training image map coordinates, as the worker's embedding step would."""
    from db.engine import session_scope
    from db.models import Dataset, RealImage
    from sqlalchemy import select, update

    rng = np.random.default_rng(seed)
    with session_scope() as session:
        ds_id = session.scalar(select(Dataset.id).where(Dataset.name == dataset))
        ids = list(session.scalars(select(RealImage.id).where(RealImage.dataset_id == ds_id, RealImage.split == "train")))
        xy = rng.normal(size=(len(ids), 2))
        session.execute(update(RealImage), [dict(id=i, emb_x=float(x), emb_y=float(y)) for i, (x, y) in zip(ids, xy)])
    return len(ids)


def disable(name: str) -> None:
    """An admin disables `name` while the app still holds that account's session."""
    from db.engine import session_scope
    from db.users import get_user, set_active

    with session_scope(immediate=True) as session:
        set_active(session, name, False, by=get_user(session, "ada"), reason="left the project")


def bomb_png(path: Path, side: int = 20_000) -> None:
    """A PNG whose header claims side² pixels (no real pixel data): what a tampered file can look like."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def image_captions(at) -> list[str]:
    return [img.caption for el in at.get("image") for img in el.proto.imgs]
