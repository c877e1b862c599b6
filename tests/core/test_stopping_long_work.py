"""A stop asked while long work runs ends it within a step: a benchmark's classifier between two of its training
steps, a large map's fit by ending the child process it runs in, the pixel copy check between chunks of its work.
Asserted on what was done, never on seconds."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from ganaug_core import embedding, embedding_child
from ganaug_core.benchmark import harness
from ganaug_core.benchmark.arms import ArmInputs
from ganaug_core.benchmark.classifier import Budget
from ganaug_core.benchmark.harness import run_benchmark_arms
from ganaug_core.metrics import pixel_copies
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


def test_the_copy_check_stops_between_chunks_of_its_work(monkeypatch):
    # The pixel copy check asked nothing: a Cancel (or Ctrl-C in `ganaug app`) during a scoring waited for its end,
    # ≈ 130 s for 200 samples against 50,000 real images. It asks now before each slice of the real images its
    # candidate search compares, each part of its blend fit and each orientation it aligns.
    real = np.random.default_rng(3).integers(0, 256, (40, 1, 16, 16), dtype=np.uint8)
    monkeypatch.setattr(pixel_copies, "_SLICE", 8)  # 5 slices of the real images per crop scale
    sliced, aligned, asked = [], [], []
    real_shortlist, real_aligned = pixel_copies._shortlist, pixel_copies._aligned
    monkeypatch.setattr(pixel_copies, "_shortlist", lambda *a, **k: sliced.append(1) or real_shortlist(*a, **k))
    monkeypatch.setattr(pixel_copies, "_aligned", lambda *a, **k: aligned.append(1) or real_aligned(*a, **k))

    def stop_after_the_first_chunk() -> bool:
        asked.append(1)
        return len(asked) >= 2

    bank = pixel_copies.prepare_real(real)
    with pytest.raises(InterruptedError, match="copy check was stopped"):
        pixel_copies.pixel_copy_ratio(real[:4], real, bank=bank, should_stop=stop_after_the_first_chunk)
    assert len(asked) == 2  # one slice of the first orientation's search compared, then the stop
    assert sliced == [1] and aligned == []  # no other orientation searched, nothing aligned
    assert bank.recent == {}  # a search stopped part-way is not kept as the samples' search
    index, ratio = pixel_copies.pixel_copy_ratio(real[:4], real, bank=bank, should_stop=lambda: False)
    assert index.tolist() == [0, 1, 2, 3] and ratio.tolist() == [0.0] * 4
