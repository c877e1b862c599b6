"""`ganaug benchmark`: bad input exits 2 with one line; --quick runs end to end on a tiny GAN; reports are atomic."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from ganaug.cli import app
from tests.cli.test_interruptions import killed_writer

runner = CliRunner()
BASELINES = "real,oversample,smote,classic"


def invoke(*args):
    return runner.invoke(app, list(args))


def one_line_error(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and fragment in lines[-1], result.stderr
    assert "Traceback" not in result.output


def tiny_run(dataset: str, **overrides) -> int:
    from ganaug.runs import default_config, train_run

    cfg = default_config(dataset, **{**dict(steps=12, batch_size=16, width=8, z_dim=16, grid_every=1000,
                                            ckpt_every=1000, stats_every=6, diversity_every=1000), **overrides})
    return train_run(dataset, cfg)


def approve_a_batch(run_id: int, class_index: int, n: int) -> int:
    """A reviewer-approved batch. Scoring (UMAP and all) is C1's to test; here the batch is marked scored
    directly in the database so the approval's precondition holds."""
    from db.engine import session_scope
    from db.models import Batch
    from db.review import approve_batch
    from db.users import add_user
    from ganaug.batches import generate_batch

    batch_id = generate_batch(run_id, class_index, n, seed=3)
    with session_scope(immediate=True) as s:
        s.get(Batch, batch_id).scores_computed = True
        user = add_user(s, "rita", "correct horse battery", role="admin")
        approve_batch(s, batch_id, user, reason="looks like the class")
    return batch_id


def test_quick_benchmark_runs_every_arm_end_to_end_and_records_its_report(digits, home, tmp_path, tiny_quick_budget,
                                                                          monkeypatch):
    from sqlalchemy import select

    import ganaug_core.scoring
    from ganaug_core.metrics import pixel_copies
    from db.engine import session_scope
    from db.models import Report
    from ganaug.benchmarking import run_benchmark
    from ganaug.domain_models import ensure_feature_extractor
    from ganaug_core.imageio import sha256_file

    run_id = tiny_run(digits)
    approve_a_batch(run_id, 9, 6)
    ensure_feature_extractor(digits, steps=15)  # a short extractor; the benchmark reuses it
    # A Cancel while gan_filtered scores its candidates (3 × each class's gap, before its classifier trains) stops
    # within a chunk of the first copy check, leaving no report: its scorer asked no stop, and a Cancel waited for
    # every class's checks, then stopped at the classifier's first step.
    checking, real_check = [], ganaug_core.scoring.pixel_copy_ratio
    with monkeypatch.context() as m:
        m.setattr(ganaug_core.scoring, "pixel_copy_ratio", lambda *a, **k: checking.append(1) or real_check(*a, **k))
        with pytest.raises(InterruptedError, match="the copy check was stopped"):  # was "classifier training …"
            run_benchmark(digits, "gan_filtered", 1, True, should_stop=lambda: bool(checking))
    assert checking == [1] and not (home / "reports").exists()
    left = killed_writer(home / "reports", ".staging-")  # a benchmark killed outright while writing its report
    out = tmp_path / "bench.json"
    prepared, real_prepare = [], pixel_copies.prepare_real
    monkeypatch.setattr(pixel_copies, "prepare_real", lambda images: prepared.append(1) or real_prepare(images))
    result = invoke("benchmark", "--dataset", digits, "--quick", "--seeds", "1", "--json", str(out))
    assert result.exit_code == 0, result.output + result.stderr
    assert prepared == [1]  # gan_filtered's copy checks share one: it was prepared again for each rare class
    # Said before any arm trains (a --quick at 128² ran 34 min without a word of how long): 8 arms and the sweep's 2×.
    # gan_filtered's scoring too (its candidates, 3 × each class's gap to the largest), left out before.
    said = ("This benchmark trains 9 classifiers of 6 steps at 16² (8 arms and 1 sweep point, 1 seed) and scores up "
            "to 1,071 gan_filtered candidates against 863 training images: under a minute on a quiet 2-core machine "
            "(other jobs on its cores have made a benchmark 10× slower).")
    assert said in " ".join(result.stderr.split())  # wrapped at 80 columns
    assert result.stderr.index("This benchmark trains") < result.stderr.index("benchmark:")  # the first bar's line
    assert not left.exists()  # this one removed it
    report = json.loads(out.read_text())
    assert report["schema"] == "ganaug.benchmark/1"
    assert report["meta"]["arms"] == ["real", "oversample", "smote", "classic", "gan", "gan_classic",
                                      "gan_filtered", "gan_approved"]
    assert report["meta"]["skipped_arms"] == {}
    assert report["meta"]["classifier_extra_stages"] == 0  # 16²: the classifier of every report before 2026-12-07
    assert report["meta"]["minority_classes"] == [7, 8, 9]
    # 58–60 test images per rare class are enough; one seed is not.
    assert report["meta"]["caution"].startswith("one seed gives no interval")
    assert "few test images" not in report["meta"]["caution"]
    assert report["meta"]["provenance"]["generator"]["run_id"] == run_id
    assert report["arms"]["gan_approved"]["n_synthetic"] == 4  # the gate caps synthetic at 1 × real (class 9 has 4)
    counts = report["meta"]["train_counts"]
    assert report["arms"]["gan"]["n_synthetic"] == sum(max(counts) - n for n in counts)  # every gap filled
    for arm in report["arms"].values():
        assert set(arm["clean"]) == set(report["meta"]["metrics"])
        assert set(arm["shifted"]) == {"noise", "blur", "contrast", "rotation"}
        assert len(arm["per_class_recall"]) == 10 and set(arm["pr_auc"]) == {"7", "8", "9"}
    assert [p["multiplier"] for p in report["sweep"]["points"]] == [0.0, 1.0, 2.0]
    assert set(report["comparison"]["arms"]) == {"gan", "gan_classic", "gan_filtered", "gan_approved"}
    folder = report["report"]["path"]
    with session_scope() as s:
        row = s.scalars(select(Report).where(Report.kind == "benchmark")).one()
        assert row.sha256 == sha256_file(f"{folder}/report.json") == report["report"]["files"]["report.json"]
        assert row.manifest_sha256 == report["meta"]["provenance"]["gated_manifest_sha256"]
        recorded = row.summary["files"]
    for name in ("report.md", "arms.png", "per_class_recall.png", "ratio_sweep.png", "pr_curves.png"):
        assert sha256_file(f"{folder}/{name}") == report["report"]["files"][name] == recorded[name]
    assert "Per-class recall" in open(f"{folder}/report.md").read()
    # --json - prints exactly one JSON object on stdout.
    result = invoke("benchmark", "--dataset", digits, "--quick", "--seeds", "1", "--arms", "real", "--json", "-")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["meta"]["arms"] == ["real"]
    assert "This benchmark trains 1 classifier of 6 steps at 16² (1 arm, 1 seed)" in result.stderr


def test_a_generator_below_the_datasets_side_gives_samples_at_the_datasets_side(digits, tmp_path, tiny_quick_budget):
    """Samples are stored, benchmarked and exported at the dataset's 16×16 though the generator works at 8×8."""
    from sqlalchemy import select

    from db.engine import session_scope
    from db.models import Sample
    from ganaug.export import export_gated_set
    from ganaug_core import paths
    from ganaug_core.imageio import read_png

    batch_id = approve_a_batch(tiny_run(digits, resolution=8), 9, 6)
    with session_scope() as s:
        stored = s.scalars(select(Sample.path).where(Sample.batch_id == batch_id)).all()
    assert {read_png(paths.resolve(p)).shape for p in stored} == {(1, 16, 16)}
    result = invoke("benchmark", "--dataset", digits, "--quick", "--seeds", "1", "--arms", "real,gan,gan_approved",
                    "--json", "-")
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.stdout)["arms"]["gan_approved"]["n_synthetic"] == 4
    export_gated_set(digits, tmp_path / "out")
    exported = list((tmp_path / "out").rglob("*.png"))
    assert sum("synthetic" in p.name for p in exported) == 4
    assert {read_png(p).shape for p in exported} == {(1, 16, 16)}


def test_a_short_newest_generator_earns_a_caution_naming_the_run_that_trained_most(digits, tiny_quick_budget):
    # The default generator is the newest finished run: a 75-step trial after a long run made the GAN arms noise.
    longer, trial = tiny_run(digits, steps=12), tiny_run(digits, steps=6)
    result = invoke("benchmark", "--dataset", digits, "--quick", "--seeds", "1", "--arms", "real,gan", "--json", "-")
    assert result.exit_code == 0, result.output + result.stderr
    meta = json.loads(result.stdout)["meta"]
    assert meta["provenance"]["generator"]["run_id"] == trial
    assert (f"the GAN arms' generator, run {trial}, trained only 6 steps, likely too few for realistic samples; "
            f"run {longer} trained 12: benchmark it with --run {longer}") in meta["caution"]
    chosen = invoke("benchmark", "--dataset", digits, "--quick", "--seeds", "1", "--arms", "real,gan", "--run",
                    str(longer), "--json", "-")
    caution = json.loads(chosen.stdout)["meta"]["caution"]
    assert f"run {longer}, trained only 12 steps" in caution and "benchmark it with" not in caution


def test_few_test_images_in_a_minority_class_earn_a_caution():
    from ganaug.benchmarking import few_test_images_caution

    names = ["common", "rare", "rarer"]
    caution = few_test_images_caution([60, 20, 2], [1, 2], names)
    assert caution.startswith("few test images in minority class rarer (2): their recall moves in steps of 1/n")
    assert few_test_images_caution([60, 20, 2], [1], names) is None  # 20 is enough; a common class is not asked
    many = [f"sous-type {c:03d}" for c in range(100)]  # 99 rare classes with 3 test images each: 10 named
    caution = few_test_images_caution([60] + [3] * 99, list(range(1, 100)), many)
    assert "sous-type 010 (3) and 89 more: their recall" in caution and len(caution) < 400
    assert caution.startswith("few test images in minority classes sous-type 001 (3), ")  # more than one: plural


BAD_INPUT = [
    (["--arms", "real,gans"], "unknown arm 'gans'"),
    (["--seeds", "0"], "--seeds must be at least 1"),
    (["--arms", ","], "--arms is empty"),
    ([], "no finished generator run for dataset 'digits'"),
    (["--arms", "gan_approved"], "no reviewer-approved synthetic samples"),
    (["--run", "99", "--arms", "gan"], "unknown run 99"),
    (["--run", "99", "--arms", "real"], "unknown run 99"),  # checked even when no arm would use it
    (["--run", str(10**23), "--arms", "real"], "out of range"),
    (["--arms", "real", "--json", ""], "--json needs a file name"),
    (["--arms", "real", "--json", "/nonexistent-folder/report.json"], "folder /nonexistent-folder does not exist"),
    (["--arms", "real", "--out", "/nonexistent-folder/report"], "folder /nonexistent-folder does not exist"),
]


def test_bad_input_is_one_line_and_exit_2(digits, tmp_path):
    # One dataset for all cases: each is refused before any training starts.
    for args, fragment in BAD_INPUT:
        one_line_error(invoke("benchmark", "--dataset", digits, "--quick", *args), fragment)
    taken = tmp_path / "taken"
    taken.mkdir()
    one_line_error(invoke("benchmark", "--dataset", digits, "--quick", "--arms", "real", "--out", str(taken)),
                   "already exists")
    one_line_error(invoke("benchmark", "--dataset", digits, "--quick", "--arms", "real", "--json", str(taken)),
                   "is a folder")
    from sqlalchemy import func, select

    from db.engine import session_scope
    from db.models import Report

    with session_scope() as s:  # refused before training: nothing was written or recorded
        assert s.scalar(select(func.count(Report.id))) == 0


def test_unknown_dataset_is_refused(home):
    one_line_error(invoke("benchmark", "--dataset", "nope", "--quick", "--arms", "real"), "nope")


def test_a_run_of_another_dataset_is_refused(digits):
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    ingest_dataset("demo:digits", "other", IngestOptions(resolution=16))
    run_id = tiny_run("other")
    one_line_error(invoke("benchmark", "--dataset", digits, "--quick", "--run", str(run_id), "--arms", "gan"),
                   f"run {run_id} was trained on dataset 'other', not 'digits'")


def test_classes_missing_in_the_test_split_are_refused(home, tmp_path):
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    rng = np.random.default_rng(0)
    # Class 2 has a single image: the stratified split keeps it in train, so the test split lacks class 2.
    labels = np.array([0] * 6 + [1] * 6 + [2])
    np.savez(tmp_path / "d.npz", images=rng.integers(0, 255, (13, 8, 8), dtype=np.uint8), labels=labels)
    ingest_dataset(str(tmp_path / "d.npz"), "odd", IngestOptions(resolution=8, test_fraction=0.3))
    one_line_error(invoke("benchmark", "--dataset", "odd", "--quick", "--arms", "real"),
                   "classes missing in the test split: 2")


def test_a_dataset_without_a_minority_class_is_refused_before_training(home, tmp_path):
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", images=rng.integers(0, 255, (24, 8, 8), dtype=np.uint8), labels=np.arange(24) % 3)
    ingest_dataset(str(tmp_path / "d.npz"), "even", IngestOptions(resolution=8, test_fraction=0.25))
    # The arms trained, then the ratio-sweep plot failed on the undefined rare-class recall (a TypeError).
    one_line_error(invoke("benchmark", "--dataset", "even", "--quick", "--arms", "real,oversample"),
                   "no minority class: every class has at least 20% of the largest class's training images")
    assert not (home / "reports").exists() or not list((home / "reports").iterdir())


def test_an_interrupted_benchmark_leaves_no_report(digits, home):
    from sqlalchemy import func, select

    from db.engine import session_scope
    from db.models import Report
    from ganaug.benchmarking import run_benchmark

    calls = []

    def stop_after_two() -> bool:
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(InterruptedError):
        run_benchmark(digits, "real,oversample,smote", 1, True, should_stop=stop_after_two)
    reports = home / "reports"
    assert not reports.exists() or not any(reports.iterdir())
    with session_scope() as s:
        assert s.scalar(select(func.count(Report.id))) == 0


def test_a_benchmark_cancelled_before_its_arms_trains_no_classifier(digits):
    # A cancel asked while it prepared (the scorer's feature extractor, the generator) was first seen after the
    # first arm's classifier had trained.
    from ganaug.benchmarking import run_benchmark

    seen = []
    with pytest.raises(InterruptedError):
        run_benchmark(digits, "real", 1, True, progress=seen.append, should_stop=lambda: True)
    assert [p for p in seen if p.stage == "benchmark"] == []


def test_sigterm_stops_a_benchmark_like_ctrl_c_and_leaves_no_report(digits, home, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from sqlalchemy import func, select

    from db.engine import session_scope
    from db.models import Report

    out = tmp_path / "reports"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganaug", "benchmark", "--dataset", digits, "--arms", BASELINES, "--seeds", "3",
         "--out", str(out / "r")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "GANAUG_HOME": str(home)},
    )
    seen, deadline = b"", time.monotonic() + 120
    while b"benchmark:" not in seen and time.monotonic() < deadline and proc.poll() is None:
        seen += os.read(proc.stderr.fileno(), 4096)  # the first progress bar: the arms are training
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err  # SIGTERM's own status (Ctrl-C: 130)
    assert b"Traceback" not in err and err.splitlines()[-1] == b"interrupted by SIGTERM"
    assert list(out.iterdir()) == []  # no report folder, no staging folder
    reports = home / "reports"
    assert not reports.exists() or not any(reports.iterdir())
    with session_scope() as s:
        assert s.scalar(select(func.count(Report.id))) == 0


def test_help_names_every_arm_at_80_columns():
    # The arms were one comma-joined word, which the help cut at 80 columns: "...gan_classic,g…".
    result = runner.invoke(app, ["benchmark", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "gan_filtered, gan_approved" in text and "…" not in result.output
    assert "gan_approved: the samples reviewers approved" in text


def test_help_describes_every_arm_it_names():
    # The list of what each arm trains on left out gan_mix, which --arms names and the report explains.
    result = runner.invoke(app, ["benchmark", "--help"], env={"COLUMNS": "120", "TERMINAL_WIDTH": "120"})
    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())
    described = text.split("Arms:", 1)[1].split("Options", 1)[0]
    named = text.split("which runs when named):", 1)[1].split("--seeds", 1)[0].replace(",", " ").split()
    assert "gan_mix" in named and "gan_approved" in named
    assert [arm for arm in named if f"{arm}:" not in described and f"{arm} (only when named):" not in described] == []



def _one_rare_training_image(tmp_path) -> str:
    """A factory's two-class colour set whose rare class has 2 images: the split keeps 1 to train on, 1 to test."""
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    rng = np.random.default_rng(0)
    labels = np.array([0] * 20 + [1] * 2)
    np.savez(tmp_path / "d.npz", images=rng.integers(0, 255, (22, 8, 8, 3), dtype=np.uint8), labels=labels)
    ingest_dataset(str(tmp_path / "d.npz"), "parts", IngestOptions(resolution=8, test_fraction=0.2))
    return "parts"


ONE_IMAGE_SMOTE = "SMOTE interpolates between two training images of one class, and class 1 has only one"


def test_smote_named_for_a_class_of_one_training_image_is_refused_before_any_classifier_trains(home, tmp_path):
    # SMOTE failed only when its turn came, after "real" and "oversample" had each trained a classifier.
    from ganaug.benchmarking import run_benchmark

    name = _one_rare_training_image(tmp_path)
    seen = []
    with pytest.raises(Exception, match=f"arm 'smote' cannot run: {ONE_IMAGE_SMOTE}"):
        run_benchmark(name, "real,oversample,smote", 1, True, progress=seen.append)
    assert [p for p in seen if p.stage == "benchmark"] == []
    one_line_error(invoke("benchmark", "--dataset", name, "--quick", "--arms", "real,smote"), ONE_IMAGE_SMOTE)
    # Without a generator the default arms are refused with the baselines to run instead: those this set can run.
    one_line_error(invoke("benchmark", "--dataset", name, "--quick"), "--arms real,oversample,classic")


def test_smote_by_default_is_skipped_with_why_for_a_class_of_one_training_image(home, tmp_path):
    # The default arms are resolved the same way with a generator: SMOTE is left out, saying why, and the others run.
    from ganaug.benchmark_inputs import arm_inputs
    from ganaug.datasets import dataset_arrays
    from ganaug_core.benchmark.harness import BenchmarkData

    name = _one_rare_training_image(tmp_path)
    row, arrays = dataset_arrays(name)
    data = BenchmarkData(*arrays.split("train"), *arrays.split("test"), list(row.class_names), [1])
    arms = ["real", "oversample", "smote", "classic"]
    _, _, skipped, _ = arm_inputs(name, row, arms, False, None, data, lambda p: None)
    assert arms == ["real", "oversample", "classic"] and skipped == {"smote": ONE_IMAGE_SMOTE}
