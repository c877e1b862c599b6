"""Run the downstream benchmark for a dataset and record its report — connects the benchmark core to the database.

Training uses only the real *train* split (plus whatever each arm adds); the locked test split is used for the
final scores and for nothing else — no arm, threshold or checkpoint is chosen by looking at it. The report folder
is written under a temporary name and renamed into place in the same transaction that records its `Report` row,
so an interrupted benchmark leaves no partial report posing as complete. What the arms read from the home (the
generator, the scores, the approved samples) is in `ganaug.benchmark_inputs`.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ganaug.benchmark_inputs import arm_inputs
from ganaug.held_folders import HeldFolder, sweep_abandoned
from ganaug_core import paths
from ganaug_core.benchmark import duration
from ganaug_core.benchmark.arms import ARMS, DEFAULT_ARMS, smote_cannot_run
from ganaug_core.benchmark.classifier import FULL_BUDGET, QUICK_BUDGET, extra_stages
from ganaug_core.benchmark.harness import BenchmarkData, run_benchmark_arms
from ganaug_core.benchmark.report import summarize, test_split_said, write_report
from ganaug_core.benchmark.seeds import DEFAULT_SEEDS, QUICK_MAX_SEEDS, few_seeds_caution
from ganaug_core.benchmark.sweep import MULTIPLIERS, QUICK_MULTIPLIERS
from ganaug_core.errors import GanaugError
from ganaug_core.memory import keep_freed_memory
from ganaug_core.imbalance import minority_classes, some_names
from ganaug_core.progress import Progress, ProgressCallback, no_progress, stop_if, stopping_at_reports

STAGING = ".staging-"  # the prefix of a report folder being written


def parse_arms(arms: Optional[Sequence[str] | str]) -> tuple[list[str], bool]:
    """The arms to run, in canonical order, and whether the user chose them (vs. the default: every arm but
    gan_mix, which runs when named)."""
    if arms is None or arms == "" or arms == []:
        return list(DEFAULT_ARMS), False
    names = [a.strip() for a in (arms.split(",") if isinstance(arms, str) else arms) if a.strip()]
    unknown = [a for a in names if a not in ARMS]
    if unknown:
        raise GanaugError(f"unknown arm {unknown[0]!r}: choose from {', '.join(ARMS)}")
    if not names:
        raise GanaugError("--arms is empty: name at least one arm")
    return [a for a in ARMS if a in names], True


def run_benchmark(
    dataset: str,
    arms: Optional[Sequence[str] | str] = None,
    seeds: int = DEFAULT_SEEDS,
    quick: bool = False,
    out_dir: Optional[Path] = None,
    run_id: Optional[int] = None,
    progress: ProgressCallback = no_progress,
    should_stop: Optional[Callable[[], bool]] = None,
    job_id: Optional[int] = None,
) -> dict:
    """Benchmark every arm over `seeds` seeds; returns the report (as written to report.json) plus where it is."""
    from ganaug.datasets import dataset_arrays

    started = time.perf_counter()
    if not isinstance(seeds, int) or seeds < 1:
        raise GanaugError(f"--seeds must be at least 1, got {seeds}")
    arm_list, chosen = parse_arms(arms)
    if quick:
        seeds = min(seeds, QUICK_MAX_SEEDS)
    final_dir = Path(out_dir) if out_dir else None
    if final_dir is not None:  # checked before the minutes of training, not after them
        check_report_folder(final_dir)
    keep_freed_memory()  # every classifier step reallocates the same maps (ganaug_core/memory.py)
    row, arrays = dataset_arrays(dataset)
    train_images, train_labels = arrays.split("train")
    test_images, test_labels = arrays.split("test")
    train_counts = np.bincount(train_labels, minlength=arrays.num_classes).tolist()
    # The imbalance report's rare classes (`data report`): a copy of its rule here also counted a class with no
    # training image, which `validate` refuses anyway.
    data = BenchmarkData(train_images, train_labels, test_images, test_labels, list(row.class_names),
                         minority_classes(train_counts))
    data.validate()

    # Stopped before each stage, as the harness stops between arms: nothing is written before the report.
    cancelled = InterruptedError("benchmark cancelled")
    stop_if(should_stop, cancelled)
    inputs, provenance, skipped, manifest_sha256 = arm_inputs(dataset, row, arm_list, chosen, run_id, data,
                                                              stopping_at_reports(progress, should_stop, cancelled),
                                                              should_stop)
    stop_if(should_stop, cancelled)  # the harness asks again after each arm
    budget = QUICK_BUDGET if quick else FULL_BUDGET
    seed_list = list(range(seeds))
    raw = run_benchmark_arms(data, arm_list, seed_list, inputs, budget,
                             QUICK_MULTIPLIERS if quick else MULTIPLIERS, progress, should_stop)
    meta = {
        "dataset": dataset,
        "class_names": data.class_names,
        "minority_classes": data.minority,
        "train_counts": train_counts,
        "test_counts": np.bincount(test_labels, minlength=arrays.num_classes).tolist(),
        "seeds": seed_list,
        "arms": arm_list,
        "skipped_arms": skipped,
        "quick": quick,
        "budget": budget.to_dict(),  # and the classifier's stages past 32² (2026-12-07): reports before have none
        "classifier_extra_stages": extra_stages(int(data.train_images.shape[-1])),
        "augmentation": inputs.augmentation.to_dict(),
        "filter": {"min_confidence": inputs.min_confidence, "pool": inputs.filter_pool},
        "mix": {"real_share": inputs.mix_real_share, "latent_scale": inputs.mix_latent_scale},
        "provenance": provenance,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    cautions = [few_seeds_caution(len(seed_list), quick),
                few_test_images_caution(meta["test_counts"], data.minority, data.class_names),
                short_generator_caution(row.id, provenance.get("generator"))]
    meta["caution"] = "; ".join(c for c in cautions if c) or None
    report = summarize(raw, arm_list, arrays.num_classes, data.minority, meta)
    progress(Progress("report", 0, 1))
    where = _write_and_record(report, row.id, final_dir, manifest_sha256, job_id)
    progress(Progress("report", 1, 1))
    return {**report, "report": where}


def expected_line(dataset: str, arms: Optional[Sequence[str] | str], seeds: int, quick: bool) -> Optional[str]:
    """The line said before the benchmark starts: its classifier trainings and gan_filtered's scoring, and about how
    long they take, from the dataset's side, channels and training counts (ganaug_core.benchmark.duration); None
    where `run_benchmark` will refuse to start anyway."""
    from db import views
    from db.engine import session_scope
    from ganaug.domain_models import extractor_fitted
    from ganaug_core.benchmark.arms import ArmInputs

    arm_list, chosen = parse_arms(arms)
    with session_scope() as session:
        summary = views.dataset_summary(session, dataset)
        if summary is None or not isinstance(seeds, int) or seeds < 1:
            return None
        counts = views.train_class_counts(session).get(dataset) or []
        approved = sum(views.approved_class_counts(session).get(dataset) or [])
    if not chosen:  # the default leaves out what cannot run, as `arm_inputs` will
        skip = {"gan_approved"} if not approved else set()
        skip |= {"smote"} if smote_cannot_run(counts, summary["class_names"]) else set()
        arm_list = [a for a in arm_list if a not in skip]
    scoring = (duration.ScoringLoad(summary["channels"], counts, extractor_fitted(dataset), ArmInputs().filter_pool)
               if "gan_filtered" in arm_list and counts else None)
    return duration.expected_line(summary["resolution"], arm_list, min(seeds, QUICK_MAX_SEEDS) if quick else seeds,
                                  QUICK_BUDGET if quick else FULL_BUDGET, QUICK_MULTIPLIERS if quick else MULTIPLIERS,
                                  scoring)


def check_report_folder(folder: Path) -> None:
    """A report folder the user named must not exist yet, and its parent must be a folder we can write in."""
    if folder.exists():
        raise GanaugError(f"report folder {folder} already exists; choose another --out")
    paths.writable_folder(folder.absolute().parent, f"--out {folder}")


def _write_and_record(report: dict, dataset_id: int, final_dir: Optional[Path], manifest_sha256, job_id) -> dict:
    from db.engine import session_scope
    from db.models import Report

    if final_dir is None:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        final_dir = paths.reports_dir() / f"benchmark-{report['meta']['dataset']}-{stamp}-{uuid.uuid4().hex[:6]}"
    final_dir = final_dir.resolve()
    sweep_abandoned(final_dir.parent, STAGING)  # what a benchmark killed outright (`kill -9`) left while writing
    held = HeldFolder.create(final_dir.parent, STAGING)
    staging = held.path
    renamed = False
    try:
        files = write_report(report, staging)
        comp = report["comparison"]
        summary = {
            "arms": report["meta"]["arms"],
            "seeds": len(report["meta"]["seeds"]),
            "quick": report["meta"]["quick"],
            "target_met": comp["target_met"],
            "best_baseline": comp["best_baseline"],
            "balanced_accuracy": {a: v["clean"]["balanced_accuracy"]["mean"] for a, v in report["arms"].items()},
            "minority_recall": {a: v["clean"]["minority_recall"]["mean"] for a, v in report["arms"].items()},
            "files": files,  # every artifact's sha256, kept with the record (not only in --json's output)
        }
        try:
            stored_path = paths.relative_to_home(final_dir)
        except ValueError:  # a folder outside GANAUG_HOME is recorded by its absolute path
            stored_path = str(final_dir)
        with session_scope() as session:
            rec = Report(dataset_id=dataset_id, kind="benchmark", path=stored_path, sha256=files["report.json"],
                         summary=summary, manifest_sha256=manifest_sha256, job_id=job_id)
            session.add(rec)
            session.flush()
            staging.rename(final_dir)
            renamed = True
            report_id = rec.id
        return {"id": report_id, "path": str(final_dir), "files": files}
    except BaseException:
        shutil.rmtree(final_dir if renamed else staging, ignore_errors=True)
        raise
    finally:
        held.release()


# Below this many test images a minority class's recall moves in coarse steps (1/n), and the intervals over seeds
# mostly measure which images the seeds happened to get right.
FEW_TEST = 20


def few_test_images_caution(test_counts: Sequence[int], minority: Sequence[int], class_names: Sequence[str]) -> Optional[str]:
    """A caution when a minority class has fewer than FEW_TEST test images, naming them; None otherwise."""
    few = [(class_names[c], int(test_counts[c])) for c in minority if test_counts[c] < FEW_TEST]
    if not few:
        return None
    listed = some_names([f"{name} ({n})" for name, n in few])
    return (f"few test images in minority class{'es' * (len(few) > 1)} {listed}: their recall moves in steps of 1/n, "
            "so the minority metrics and their intervals are rough indications on this test split")


def short_generator_caution(dataset_id: int, generator: Optional[dict]) -> Optional[str]:
    """A caution when the GAN arms' generator trained fewer than FEW_STEPS steps, naming the dataset's finished run
    that trained the most (the default generator is the newest finished run, which may be a short trial); None
    otherwise."""
    from sqlalchemy import select

    from db.engine import session_scope
    from db.models import Run
    from ganaug_core.runstats import FEW_STEPS

    if generator is None or (generator["step"] or 0) >= FEW_STEPS:
        return None
    with session_scope() as session:
        most = session.execute(select(Run.id, Run.step).where(Run.dataset_id == dataset_id, Run.status == "done")
                               .order_by(Run.step.desc(), Run.id.desc()).limit(1)).first()
    text = (f"the GAN arms' generator, run {generator['run_id']}, trained only {generator['step'] or 0} steps, likely "
            "too few for realistic samples")
    if most is not None and most.step > (generator["step"] or 0):
        text += (f"; run {most.id} trained {most.step:,}: benchmark it with --run {most.id} (on the Evaluate page, "
                 "\"Generator for the GAN arms\")")
    return text


def format_summary(result: dict) -> str:
    """For people: the answer first (with its numbers and any caution), then the two target metrics per arm, the
    target's verdict, and where the report is."""
    from ganaug_core.benchmark.answer import answer, arm_label, generator_used, interval

    from ganaug.cli.line_width import wrapped

    # Every line fits 80 columns, wrapped between words (`ganaug.cli.line_width`): the answer's lines ran to 417.
    meta = result["meta"]
    said = result["comparison"].get("answer") or answer(result)
    lines = [wrapped(said["lines"][0], "")] + [wrapped(line, "    ", "  ") for line in said["lines"][1:]]
    if meta.get("caution"):
        lines.append(wrapped(f"caution: {meta['caution']}"))
    seeds = len(meta["seeds"])
    # Arms in the words of the answer above and of the app ("gan_approved" in the table, "GAN samples approved by
    # reviewers" in the answer); --json and report.md keep the ids that --arms takes.
    width = 2 + max(len(arm_label(a)) for a in [*result["arms"], *meta["skipped_arms"], "arm"])
    # As wide as an interval and two spaces ('0.812 [0.790, 0.834]'): at 28, the longest arm's row was 84 columns.
    middle = 2 + max([len("balanced accuracy"), *(len(interval(a["clean"]["balanced_accuracy"]))
                                                   for a in result["arms"].values())])
    lines += ["",
              wrapped(f"benchmark {meta['dataset']}: {seeds} seed{'s' * (seeds != 1)}, "
                      f"{'quick' if meta['quick'] else 'full'} budget, {meta['seconds']:.0f} s; mean [95 % interval] "
                      f"on {test_split_said(meta)}"),
              f"{'arm':<{width}}{'balanced accuracy':<{middle}}rare-class recall"]
    if generator_used(meta):
        lines.insert(-1, wrapped(f"generator: {generator_used(meta)} (--run picks another)"))
    for arm, a in result["arms"].items():
        lines.append(f"{arm_label(arm):<{width}}{interval(a['clean']['balanced_accuracy']):<{middle}}"
                     f"{interval(a['clean']['minority_recall'])}")
    for arm, why in meta["skipped_arms"].items():
        lines.append(wrapped(f"{arm_label(arm):<{width}}skipped: {why}", " " * width))
    comp = result["comparison"]
    if any(r["metrics"] for r in comp["arms"].values()):
        lines.append(wrapped("target (a GAN arm above the best baseline on balanced accuracy and on rare-class recall, "
                             f"disjoint 95 % intervals): {'met' if comp['target_met'] else 'not met'}"))
    where = str(result["report"]["path"])
    lines.append(wrapped(f"report: {where} (report.md explains each arm)", whole=(where,)))
    return "\n".join(lines)
