"""Shared fixtures: every test gets its own GANAUG_HOME (a real folder, a real SQLite file)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh GANAUG_HOME with its own SQLite database for this test."""
    from db.engine import dispose_engines

    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("GANAUG_HOME", str(path))
    monkeypatch.delenv("GANAUG_DB_URL", raising=False)
    dispose_engines()
    yield path
    dispose_engines()


@pytest.fixture
def digits(home):
    """The demo dataset ingested at 16×16 (small and fast) under the name 'digits'."""
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    ingest_dataset("demo:digits", "digits", IngestOptions(resolution=16))
    return "digits"
