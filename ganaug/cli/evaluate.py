"""`ganaug evaluate batch | features` (scores, memorization, metrics) and `ganaug benchmark`.

Shared by two parts: the evaluate group (per-batch scores and metrics) and the downstream benchmark command,
which `register` adds below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ganaug.cli.common import (JSON, UserError, class_label, cli_errors, dataset_class_names, emit,
                               terminate_as_interrupt, write_atomically)
from ganaug_core import paths
from ganaug_core.progress import tqdm_progress

evaluate_app = typer.Typer(no_args_is_help=True)


@evaluate_app.command("batch")
@cli_errors
def batch_cmd(
    batch: int = typer.Argument(..., help="Batch id (see the review queue)"),
    rescore: bool = typer.Option(False, "--rescore", metavar="", help="Recompute per-sample scores even if already stored"),
    as_json: bool = JSON,
) -> None:
    """Score every sample of a batch (confidence, realism, novelty, memorization) and compute its metrics."""
    from ganaug.evaluation import batch_metrics, score_batch

    with terminate_as_interrupt(), tqdm_progress() as progress:
        scores = score_batch(batch, progress, rescore=rescore)
        metrics = batch_metrics(batch, progress)
    result = {"batch": batch, "scores": scores, "metrics": metrics}
    emit(result, as_json, format_batch_report(result, dataset_class_names(scores["dataset"])))


def format_batch_report(result: dict, class_names: Optional[list[str]] = None) -> str:
    s, m = result["scores"], result["metrics"]
    o = m["overall"]
    prdc = o.get("prdc") or {}
    cons = o.get("consistency") or {}
    auth = o.get("authenticity") or {}
    dcr = o.get("dcr") or {}

    def f(v, fmt=".3f"):
        return "n/a" if v is None else format(v, fmt)

    kid = (o.get("kid") or {}).get("mean")
    return "\n".join([
        f"batch {result['batch']} (dataset {s['dataset']!r}, class {class_label(s['class_index'], class_names or [])}): "
        f"{s['samples']} samples, {s['memorized']} flagged as memorized",
        f"  mean class confidence {f(s['mean_confidence'])}, mean realism {f(s['mean_realism'])}, "
        f"median novelty {f(s['median_novelty'])}",
        f"  FID {f(o.get('fid'), '.2f')}  KID {f(kid, '.4f')}  (domain features; comparable within this dataset only)",
        f"  precision {f(prdc.get('precision'))}  recall {f(prdc.get('recall'))}  density {f(prdc.get('density'))}  "
        f"coverage {f(prdc.get('coverage'))}",
        f"  class consistency {f(cons.get('class_consistency'))}  authenticity {f(auth.get('authenticity'))}  "
        f"copies of training images: {(o.get('pixel_copies') or {}).get('copies', 'n/a')}",
        f"  DCR vs {m['holdout_split']}: {f(dcr.get('closer_to_train'))} of samples closer to train than to held-out "
        "(≈ 0.5: no closer to the training images than to unseen ones; near 1: they track the training images)",
        "  every sample has its point on the dataset's embedding map (the app's Embeddings page)",
        *([f"  note: {m['caution']}"] if m.get("caution") else []),
    ])


@evaluate_app.command("features")
@cli_errors
def features_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name"),
    embedding: bool = typer.Option(True, "--embedding/--no-embedding", metavar="", help="Also fit the real-data UMAP"),
    as_json: bool = JSON,
) -> None:
    """Train (once) the dataset's domain feature extractor on its real training split, and fit its embedding."""
    from ganaug.evaluation import ensure_embedding, ensure_feature_extractor, extractor_info

    with terminate_as_interrupt(), tqdm_progress() as progress:
        _, path = ensure_feature_extractor(dataset, progress)
        info = extractor_info(dataset)
        if embedding:
            info["embedding"] = ensure_embedding(dataset, progress)
    text = f"feature extractor for {dataset!r}: {path} (sha256 {info['sha256'][:12]}…, train accuracy {info['train_accuracy']:.3f})"
    if embedding:
        text += f"\nembedding: {info['embedding']['path']} ({info['embedding']['points']} real training points)"
    emit(info, as_json, text)


@cli_errors
def benchmark_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name"),
    arms: str = typer.Option("", "--arms", help="Comma-separated arms (default: all that can run): "
                             "real,oversample,smote,classic,gan,gan_classic,gan_filtered,gan_approved"),
    seeds: int = typer.Option(5, "--seeds", help="Number of seeds (classifier trainings per arm)"),
    quick: bool = typer.Option(False, "--quick", metavar="", help="Small budget and at most 2 seeds, for tests and demos"),
    run: Optional[int] = typer.Option(None, "--run", help="Generator run (default: the dataset's newest finished run)"),
    json_out: Optional[str] = typer.Option(None, "--json", help="Write the JSON report to this file ('-': stdout)"),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: GANAUG_HOME/reports/benchmark-...)"),
) -> None:
    """Does the synthetic data help? Train the same classifier on every arm and compare on the locked test split."""
    from ganaug.benchmarking import format_summary, run_benchmark

    json_file = _json_destination(json_out)  # checked before the minutes of training, not after them
    with terminate_as_interrupt(), tqdm_progress() as progress:
        result = run_benchmark(dataset, arms, seeds, quick, out, run, progress)
    if json_out == "-":
        emit(result, True)
        return
    if json_file is not None:
        write_atomically(json_file, json.dumps(result, indent=2) + "\n")
    typer.echo(format_summary(result))


def _json_destination(json_out: Optional[str]) -> Optional[Path]:
    """The file `--json FILE` names, once it is known to be writable; None for no file or '-' (stdout)."""
    if json_out is None or json_out == "-":
        return None
    if not json_out.strip():
        raise UserError("--json needs a file name, or '-' for stdout")
    path = Path(json_out)
    if path.is_dir():
        raise UserError(f"--json {json_out}: is a folder; name a file in it")
    paths.writable_folder(path.absolute().parent, f"--json {json_out}")
    return path


def register(app: typer.Typer) -> None:
    app.add_typer(evaluate_app, name="evaluate", help="Score synthetic batches: quality metrics and memorization checks.")
    app.command("benchmark")(benchmark_cmd)
