"""`ganaug evaluate batch | features` (scores, memorization, metrics) and `ganaug benchmark`.

Shared by two parts: the evaluate group (per-batch scores and metrics) and the downstream benchmark command,
which `register` adds below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import typer

from ganaug.busy_machine import busy_machine_note
from ganaug.cli.common import Commands, JSON, UserError, cli_errors, dataset_class_names, echo, emit
from ganaug.cli.exits import terminate_as_interrupt
from ganaug.cli.line_width import wrapped, wrapped_note
from ganaug.shown_text import class_label, one_line
from ganaug_core import paths
from ganaug_core.benchmark.seeds import DEFAULT_SEEDS, QUICK_MAX_SEEDS
from ganaug_core.imbalance import cut_name
from ganaug_core.progress import tqdm_progress
from ganaug_core.metrics.authenticity import COPY_RATIO
from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO
from ganaug_core.scoring import SCORING_VERSION, older_scoring

evaluate_app = typer.Typer(cls=Commands, no_args_is_help=True)


@evaluate_app.command("batch")
@cli_errors
def batch_cmd(
    batch: int = typer.Argument(..., help="Batch id (`ganaug review pending` lists the batches waiting)"),
    rescore: bool = typer.Option(False, "--rescore", metavar="",
                                 help="Recompute per-sample scores even if already stored (with today's copy check: "
                                      "the output says when the stored ones came from an older one)"),
    as_json: bool = JSON,
) -> None:
    """Score every sample of a batch (confidence, realism, novelty, memorization), compute its metrics and say what
    they mean, worst first, with what to do (`--json`: `verdict`); `--json`'s `near_copies_of_training` counts the
    samples that nearly copy a training image (`near_copies` until 2026-12-07, given too until the next release)."""
    from ganaug.evaluation import measure_batch

    with terminate_as_interrupt(), tqdm_progress() as progress:
        scores, metrics = measure_batch(batch, progress, rescore=rescore)
    # Stored scores keep no copy counts per kind: the metrics' duplicate check counts the same samples against the
    # same training images, so `--json` has the same keys whether the scores were computed now or before.
    duplicates = metrics["overall"].get("duplicates") or {}
    scores.setdefault("exact_copies", duplicates.get("exact_copies"))
    scores.setdefault("near_copies_of_training", duplicates.get("near_copies_of_training"))
    scores.setdefault("near_copies", scores["near_copies_of_training"])  # its old name: one release more
    scores.setdefault("feature_extractor_sha256", None)  # unknown for scores stored before: --rescore records it
    scores["current_scoring_version"] = SCORING_VERSION  # beside `scoring_version` (None: before it was recorded)
    names = dataset_class_names(scores["dataset"])
    run, reading, threshold = _run_reading(batch)
    # The verdict in `--json` names the class whole, as its other keys do; the text's is cut to fit 80 columns.
    result = {"batch": batch, "scores": scores, "metrics": metrics, "verdict": [
        f.to_dict() for f in verdict(batch, run, scores, metrics, class_label(scores["class_index"], names),
                                     reading, threshold, len(names))]}
    said = verdict(batch, run, scores, metrics, class_label(scores["class_index"], names, cut=True), reading,
                   threshold, len(names))
    emit(result, as_json, format_batch_report(result, names, said))


def _run_reading(batch: int) -> tuple[int, dict, float]:
    """The batch's run, its last mode-collapse reading and its diversity threshold (from the run's folder)."""
    from db.engine import session_scope
    from db.models import Batch, Run
    from ganaug_core.run_curves import run_threshold
    from ganaug_core.runstats import last_diversity

    with session_scope() as s:
        run_id = s.get(Batch, batch).run_id
        run_dir = paths.resolve(s.get(Run, run_id).run_dir)
    return run_id, last_diversity(run_dir), run_threshold(run_dir)


def verdict(batch: int, run: Optional[int], scores: dict, metrics: dict, label: str,
            reading: Optional[dict] = None, threshold: Optional[float] = None, n_classes: int = 0) -> list:
    """`batch_verdict` on what `evaluate batch` measured: its findings, worst first."""
    from ganaug_core.batch_verdict import batch_verdict

    cons = ((metrics.get("overall") or {}).get("consistency") or {}).get("class_consistency")
    return batch_verdict(batch, run, label, scores["samples"], scores["memorized"], cons,
                         scores.get("mean_realism"), reading, scores["class_index"], threshold,
                         two_classes=n_classes == 2)


def _num(v, fmt=".3f") -> str:
    return "n/a" if v is None else format(v, fmt)


def _kid(k: Optional[dict]) -> str:
    """KID's mean over subsets and its spread: on a rare class the spread is often larger than the mean."""
    if not k or k.get("mean") is None:
        return "n/a"
    return _num(k["mean"], ".4f") + ("" if k.get("std") is None else f" ± {k['std']:.4f}")


# Each distribution metric: its row name, how to read its value from a metrics scope, and what it means.
_DISTRIBUTION_ROWS = [
    ("FID", lambda o: _num(o.get("fid"), ".2f"), "lower is closer to the training images; 0: the same"),
    ("KID", lambda o: _kid(o.get("kid")), "the same, unbiased; ≈ 0 or below: no measurable gap"),
    ("precision", lambda o: _num((o.get("prdc") or {}).get("precision")),
     "higher is better: samples that look real (fidelity)"),
    ("recall", lambda o: _num((o.get("prdc") or {}).get("recall")),
     "higher is better: real images a sample resembles (diversity)"),
    ("density", lambda o: _num((o.get("prdc") or {}).get("density")),
     "≈ 1 as real data; above 1: samples crowd typical images"),
    ("coverage", lambda o: _num((o.get("prdc") or {}).get("coverage")),
     "higher is better: real images with a sample nearby"),
]


def measured_sides(metrics: dict) -> list[str]:
    """Said where the numbers did not see the images' full side: at 128² the features see them pooled to 64², the
    pixel copy check block-averaged to 32², so a detail of a pixel or two (a nodule's) weighs little in them. A
    report from before 2026-12-07 has no sides: nothing is said."""
    side, features, pixels = (metrics.get(k) for k in ("image_side", "feature_side", "pixel_side"))
    if not side or not features or not pixels or min(features, pixels) >= side:
        return []
    # Only what saw less: at 48² the features see the whole image, the copy check 24².
    seen = ([f"the features see the images pooled to {features}²"] if features < side else []) + (
        [f"the pixel copy check block-averaged to {pixels}²"] if pixels < side else [])
    return [wrapped(f"at less than their {side}²: " + ", ".join(seen), "  ", "  ")]


def format_batch_report(result: dict, class_names: Optional[list[str]] = None, findings: Optional[list] = None) -> str:
    """The batch's numbers for people: each with its direction and meaning, and the distribution metrics beside
    what held-out real images score on the same footing (the reference), without which "FID 5" says nothing; last,
    `findings` (`verdict`), what they mean, worst first."""
    s, m = result["scores"], result["metrics"]
    o, ref = m["overall"], m.get("reference")
    names = class_names or []
    label = class_label(s["class_index"], names, cut=True)  # `--json` and the app have the name whole
    counts = m.get("counts") or {}
    cons = (o.get("consistency") or {}).get("class_consistency")
    auth = (o.get("authenticity") or {}).get("authenticity")
    dcr = o.get("dcr") or {}
    chance = f"; 1/{len(names)}: the label is ignored" if len(names) > 1 else ""
    in_scope = (f"{counts['real']} real training image{'s' * (counts['real'] != 1)}" if "real" in counts
                else "the real training images")
    # Every line fits 80 columns (`ganaug.cli.line_width`): a long class name made them 108–145, and the meanings
    # beside the numbers ran to 119 with any name. A meaning goes on under its own column.
    lines = [
        wrapped(f"batch {result['batch']} (dataset {s['dataset']!r}, class {label}): "
                f"{s['samples']} samples, {s['memorized']} flagged as memorized"),
        "  per sample, over the batch" + (" (stored scores, --rescore recomputes them):" if s.get("recomputed") is False
                                          else ":"),
        *older_scores_said(result["batch"], s),
        _beside(f"    confidence  {_num(s['mean_confidence'])} mean    ",
                f"the real-data classifier's probability of class {label}, higher is better"),
        _beside(f"    realism     {_num(s['mean_realism'])} mean    ",
                "how far inside its class's real images: 0 to 10, higher is better, 1 or more: inside them"),
        _beside(f"    novelty     {_num(s['median_novelty'])} median  ",
                f"≈ 1: as new as a real image; a copy: below {COPY_RATIO:g} (features) or {PIXEL_COPY_RATIO:g} "
                "(pixels)"),
        wrapped(f"distribution: the batch against the {in_scope} in scope, on this dataset's own features (not "
                "Inception's: compare within this dataset only, never with published FIDs), beside " + (
                    f"{ref['n_holdout']} held-out real image{'s' * (ref['n_holdout'] != 1)} "
                    f"({m['holdout_split']} split) measured the same way"
                    if ref else "no held-out real images to compare with"), "  ", "  "),
        *measured_sides(m),
    ]
    rows = [(name, read(o), read(ref) if ref else "–", meaning) for name, read, meaning in _DISTRIBUTION_ROWS]
    # Columns as wide as their widest value, two spaces apart at least: a KID with its spread, '218.5981 ± 26.4822',
    # outgrew a fixed 17 characters and pushed the rest of its row out of line.
    wide = [max(17, *(len(row[i]) + 1 for row in rows)) for i in (1, 2)]
    lines.append(f"    {'':<10} {'batch':<{wide[0]}} held-out real")
    lines += [_beside(f"    {name:<10} {batch:<{wide[0]}} {held_out:<{wide[1]}} ", meaning)
              for name, batch, held_out, meaning in rows]
    if ref and o.get("fid") is not None and ref.get("fid") is not None and o["fid"] < ref["fid"]:
        lines.append(wrapped("the batch is nearer the training images than unseen real images are (FID below the "
                             "held-out level): it may track the training images rather than the class; see DCR below",
                             "  ", "  "))
    lines += [
        wrapped(f"class consistency {_num(cons)}: share the classifier calls class {label} (higher is better"
                f"{chance})", "    ", "  "),
        *two_class_note(s["class_index"], names),
        wrapped(f"authenticity {_num(auth)}: share farther from their nearest training image than real images are "
                "from theirs", "    ", "  "),
        # The flag above also counts copies found in feature space: "1 flagged as memorized" beside "copies: 0" read
        # as a contradiction.
        wrapped(f"copies of training images in pixels: {(o.get('pixel_copies') or {}).get('copies', 'n/a')} (the "
                f"memorized flag also counts copies in features: novelty below {COPY_RATIO:g})", "    ", "  "),
        wrapped(f"DCR vs {m['holdout_split']}: {_num(dcr.get('closer_to_train'))} of samples closer to train than to "
                "held-out (≈ 0.5: no closer to the training images than to unseen ones; near 1: they track the "
                "training images)", "    ", "  "),
        wrapped("every sample has its point on the dataset's embedding map (the app's Embeddings page)", "    ",
                "  "),
        *([wrapped(f"note: {m['caution']}", "    ", "  ")] if m.get("caution") else []),
        *verdict_lines(findings or []),
    ]
    return "\n".join(lines)


def verdict_lines(findings: list) -> list[str]:
    """The verdict last, where a terminal leaves it in sight: one finding a paragraph, worst first, each with its
    number and what to do, a command kept whole on its line."""
    if not findings:
        return []
    head = "verdict:" if findings[0].finding == "fine" else "verdict (worst first):"
    return [head] + [wrapped(text, "    ", "  ", whole=tuple(re.findall(r"`[^`]*`", text)))
                     for text in (f"{f.said}: {f.todo}" for f in findings)]


def _beside(row: str, meaning: str) -> str:
    """A table row and what its number means, the meaning wrapped under its own column where it passes 80."""
    return wrapped(row + meaning, " " * len(row))


def older_scores_said(batch: int, scores: dict) -> list[str]:
    """Stored scores from an older scoring than this one (its memorized flags from a weaker copy check, perhaps):
    what scored them and the command that scores them again. Nothing for scores computed now, or current."""
    lines = older_scores_lines(batch, scores.get("scoring_version")) if scores.get("recomputed") is False else []
    return [f"  {line}" for line in lines]


def older_scores_lines(batch: int, version: Optional[int]) -> list[str]:
    """`evaluate batch`'s and `review samples`' two lines for a batch scored by an older scoring (`older_scoring`),
    none for today's: two within 80 columns, the command whole on the second (one line ran to 114)."""
    older = older_scoring(version)
    if older is None:
        return []
    return [f"scored by an older check ({older}):", f"  `ganaug evaluate batch {batch} --rescore` scores it again"]


def two_class_note(class_index: int, names) -> list[str]:
    """With two classes the classifier picks one of two, so a sample unlike both (noise) is called the class it was
    asked for as readily as a good one: on a two-class colour set, uniform noise was called the rare class with
    0.98, and a 300-step run's purple noise 0.85 with realism 1.35 (2026-12-07): the domain features, learnt from the
    same two classes, are fooled too. Confidence and consistency then read as if the samples showed that class."""
    if len(names) != 2 or class_index not in (0, 1):
        return []
    this, other = (cut_name(one_line(names[class_index])), cut_name(one_line(names[1 - class_index])))
    return wrapped(
        f"with 2 classes the classifier only tells {this} from {other}: a sample like neither (noise, a smear) is "
        f"called {this} too, so confidence and class consistency near 1 do not show that it looks like a {this}: "
        "look at the samples themselves", "    ", "    ").splitlines()


@evaluate_app.command("features")
@cli_errors
def features_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name"),
    embedding: bool = typer.Option(True, "--embedding/--no-embedding", metavar="", help="Also fit the real-data UMAP"),
    as_json: bool = JSON,
) -> None:
    """Train (once) the dataset's domain feature extractor on its real training split, and fit its embedding."""
    from ganaug.domain_models import ensure_embedding, ensure_feature_extractor, extractor_info

    with terminate_as_interrupt(), tqdm_progress() as progress:
        _, path = ensure_feature_extractor(dataset, progress)
        info = extractor_info(dataset)
        if embedding:
            info["embedding"] = ensure_embedding(dataset, progress)
    text = (f"feature extractor for {dataset!r}: {one_line(path)} (sha256 {info['sha256'][:12]}…, train accuracy "
            f"{info['train_accuracy']:.3f})")
    if embedding:
        text += (f"\nembedding: {one_line(info['embedding']['path'])} ({info['embedding']['points']} real training "
                 "points)")
    emit(info, as_json, text)


# A help string, not the docstring: typer keeps a docstring's line breaks after its first paragraph, and the
# sentences broke at column 75 of any terminal. Here a paragraph is one line, wrapped at the terminal's width, and
# each arm has a line of its own.
BENCHMARK_HELP = (
    "Does the synthetic data help? Train the same classifier on every arm and compare on the locked test split.\n\n"
    "The summary answers first: does a GAN arm beat the best baseline on the rare classes, with 95 % intervals over "
    "the seeds? The report folder holds report.md (which explains every arm), report.json and the plots. Arms:\n\n"
    "real: the real training images only\n"
    "oversample: rare images repeated\n"
    "smote: SMOTE interpolations\n"
    "classic: oversample plus random rotation, scale, shift, brightness, contrast\n"
    "gan: GAN samples filling each class's gap\n"
    "gan_classic: gan plus classic's transformations\n"
    "gan_mix (only when named): each gap half rare images repeated, half wider-spread GAN samples, with classic's "
    "transformations\n"
    "gan_filtered: gan without the samples the automatic scores flag\n"
    "gan_approved: the samples reviewers approved")


@cli_errors
def benchmark_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name"),
    arms: str = typer.Option("", "--arms", help="Comma-separated arms (default: all that can run but "
                             "gan_mix, which runs when named): real, oversample, smote, classic, gan, gan_classic, "
                             "gan_mix, gan_filtered, gan_approved"),
    seeds: int = typer.Option(DEFAULT_SEEDS, "--seeds", help="Number of seeds (classifier trainings per arm)"),
    quick: bool = typer.Option(False, "--quick", metavar="", help=f"Small budget and at most {QUICK_MAX_SEEDS} seeds: a smoke test, whose wide intervals show only large differences "
                              "(53 s at 32² on a quiet 2-core machine; 34 min at 128² on a busy one); it says as it starts about how long "
                              "it will take"),
    run: Optional[int] = typer.Option(None, "--run", help="Generator run (default: the dataset's newest finished run)"),
    json_out: Optional[str] = typer.Option(None, "--json", metavar="FILE", help="Write the JSON report to this file ('-': stdout)"),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: GANAUG_HOME/reports/benchmark-...)"),
) -> None:
    """Does the synthetic data help? Train the same classifier on every arm and compare on the locked test split."""
    from ganaug.benchmarking import expected_line, format_summary, run_benchmark

    json_file = _json_destination(json_out)  # checked before the minutes of training, not after them
    note = busy_machine_note("cpu", "ganaug benchmark ...")  # its classifiers train on the CPU
    if note:
        echo(wrapped_note(note), err=True)
    # Said up front: at 128² a quick benchmark took 34 min where 32² took 53 s, and nothing said so before it ran.
    expected = expected_line(dataset, arms, seeds, quick)
    if expected:
        echo(wrapped(expected), err=True)
    with terminate_as_interrupt(), tqdm_progress() as progress:
        result = run_benchmark(dataset, arms, seeds, quick, out, run, progress)
    if json_out == "-":
        emit(result, True)
        return
    if json_file is not None:
        paths.write_atomically(json_file, json.dumps(result, indent=2) + "\n")
    echo(format_summary(result))


def _json_destination(json_out: Optional[str]) -> Optional[Path]:
    """The file `--json FILE` names, once it is known to be writable; None for no file or '-' (stdout)."""
    if json_out is None or json_out == "-":
        return None
    if not json_out.strip():
        raise UserError("--json needs a file name, or '-' for stdout")
    path = Path(json_out)
    if path.is_dir():
        raise UserError(f"--json {json_out}: is a folder; name a file in it")
    managed = paths.managed_by_home(path)
    if managed is not None and managed.name.startswith("ganaug."):  # written with os.replace: the log would be gone
        raise UserError(f"--json {json_out}: {managed} is the home's database; name another file")
    paths.writable_folder(path.absolute().parent, f"--json {json_out}")
    return path


def register(app: typer.Typer) -> None:
    app.add_typer(evaluate_app, name="evaluate", help="Score synthetic batches: quality metrics and memorization checks.")
    app.command("benchmark", help=BENCHMARK_HELP)(benchmark_cmd)
