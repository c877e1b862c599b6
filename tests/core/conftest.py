"""Fixtures shared by the benchmark's tests: one real tiny benchmark (three arms, two seeds), run once a session."""

from __future__ import annotations

import pytest

from ganaug_core.benchmark.arms import ArmInputs
from ganaug_core.benchmark.harness import run_benchmark_arms
from ganaug_core.benchmark.report import summarize
from tests.core.test_benchmark_report import ARMS, TINY, data, generate


@pytest.fixture(scope="session")
def report():
    """(the arms' raw results, the summarized report) of a real tiny run: toy data, 3 classes, class 2 rare."""
    raw = run_benchmark_arms(data(), ARMS, [0, 1], ArmInputs(generate=generate), TINY, (0.0, 1.0, 2.0))
    meta = {"dataset": "toy", "class_names": ["a", "b", "c"], "minority_classes": [2], "seeds": [0, 1],
            "arms": ARMS, "skipped_arms": {}, "quick": True, "budget": TINY.to_dict()}
    return raw, summarize(raw, ARMS, 3, [2], meta)
