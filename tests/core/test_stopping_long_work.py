"""A stop asked while long work runs ends it within a step: a benchmark's classifier between two of its training
steps, a large map's fit by ending the child process it runs in. Asserted on what was done, never on seconds."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from ganaug_core import embedding, embedding_child
from ganaug_core.benchmark import harness
from ganaug_core.benchmark.arms import ArmInputs
from ganaug_core.benchmark.classifier import Budget
from ganaug_core.benchmark.harness import run_benchmark_arms
from ganaug_core.progress import Progress, stopping_at_reports
from tests.core.test_benchmark_report import data


def test_a_benchmark_stopped_during_a_classifier_stops_before_its_next_step_and_arm(monkeypatch):
    # The benchmark asked only between two arms: a Cancel waited for the classifier in training to finish its 400
    # steps (35 s at 32² on a busy machine), then for the arm's scores on the shifted test sets.
    built, asked, seen = [], [], []
    real_build = harness.build_training_set
    monkeypatch.setattr(harness, "build_training_set", lambda *a, **k: built.append(a[0]) or real_build(*a, **k))

    def cancel_at_the_tenth_question() -> bool:
        asked.append(1)
        return len(asked) >= 10

    with pytest.raises(InterruptedError, match="stopped at step 9 of 50"):
        run_benchmark_arms(data(), ["real", "oversample", "smote"], [0, 1], ArmInputs(),
                           Budget(steps=50, batch_size=8, width=4), progress=seen.append,
                           should_stop=cancel_at_the_tenth_question)
    assert built == ["real"]  # no later arm, no later seed
    assert len(asked) == 10  # it stopped at the question that said so: 9 steps of the first classifier trained
    assert [p.done for p in seen if p.stage == "benchmark"] == [0]  # no arm finished


def test_a_large_fit_runs_in_a_child_that_a_stop_ends(monkeypatch):
    # UMAP's neighbour search (numba, from 4,096 points on) cannot be interrupted: a Cancel waited for the whole fit,
    # minutes on a large dataset. A stop reported while the child fits kills it, and nothing comes back.
    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(embedding_child.subprocess, "Popen", popen)
    monkeypatch.setattr(embedding, "IN_CHILD_FROM", 4)
    waits = []

    def progress(p: Progress) -> None:
        waits.append(p.done)

    stopped = InterruptedError("batch 1 was not scored: nothing of it was written")
    features = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    with pytest.raises(InterruptedError, match="batch 1 was not scored"):
        embedding.fit_embedding(features, progress=stopping_at_reports(progress, lambda: len(waits) >= 2, stopped))
    assert waits == [0, 0] and 1 not in waits  # the start, one report while waiting; never the end
    assert len(started) == 1 and started[0].returncode == -9  # killed, not left to fit on
    assert started[0].stdout.closed and started[0].stderr.closed


@pytest.mark.slow  # the child imports umap and fits (≈ 3–9 s)
def test_a_fit_in_a_child_gives_the_same_map_as_in_the_process(monkeypatch):
    features = np.random.default_rng(1).normal(size=(60, 8)).astype(np.float32)
    here = embedding.fit_embedding(features, n_epochs=30)
    monkeypatch.setattr(embedding, "IN_CHILD_FROM", 4)
    reports = []
    there = embedding.fit_embedding(features, n_epochs=30, progress=reports.append)
    assert np.array_equal(here.coords, there.coords) and here.n_neighbors == there.n_neighbors
    assert [p.done for p in reports][-1] == 1
