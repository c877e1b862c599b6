"""`ganaug evaluate batch | features` (scores, memorization, metrics) and `ganaug benchmark`.

Shared by two parts: the evaluate group (per-batch scores and metrics) and the downstream benchmark command,
which `register` adds below.
"""

from __future__ import annotations

import typer

from ganaug.cli.common import cli_errors, emit
from ganaug_core.progress import tqdm_progress

evaluate_app = typer.Typer(no_args_is_help=True)


@evaluate_app.command("batch")
@cli_errors
def batch_cmd(
    batch: int = typer.Argument(..., help="Batch id (see the review queue)"),
    rescore: bool = typer.Option(False, "--rescore", help="Recompute per-sample scores even if already stored"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Score every sample of a batch (confidence, realism, novelty, memorization) and compute its metrics."""
    from ganaug.evaluation import batch_metrics, format_batch_report, score_batch

    with tqdm_progress(enabled=not as_json) as progress:
        scores = score_batch(batch, progress, rescore=rescore)
        metrics = batch_metrics(batch, progress)
    result = {"batch": batch, "scores": scores, "metrics": metrics}
    emit(result, as_json, format_batch_report(result))


@evaluate_app.command("features")
@cli_errors
def features_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name"),
    embedding: bool = typer.Option(True, "--embedding/--no-embedding", help="Also fit the real-data UMAP"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Train (once) the dataset's domain feature extractor on its real training split, and fit its embedding."""
    from ganaug.evaluation import ensure_embedding, ensure_feature_extractor, extractor_info

    with tqdm_progress(enabled=not as_json) as progress:
        _, path = ensure_feature_extractor(dataset, progress)
        info = extractor_info(dataset)
        if embedding:
            info["embedding"] = ensure_embedding(dataset, progress)
    text = f"feature extractor for {dataset!r}: {path} (sha256 {info['sha256'][:12]}…, train accuracy {info['train_accuracy']:.3f})"
    if embedding:
        text += f"\nembedding: {info['embedding']['path']} ({info['embedding']['points']} real training points)"
    emit(info, as_json, text)


def register(app: typer.Typer) -> None:
    app.add_typer(evaluate_app, name="evaluate", help="Score synthetic batches: quality metrics and memorization checks.")
    # The downstream benchmark command (`ganaug benchmark ...`) is registered here too.
