"""`ganaug data ingest | list | report`."""

from __future__ import annotations

from typing import Optional

import typer

from ganaug.cli.common import JSON, cli_errors, echo, emit, terminate_as_interrupt
from ganaug_core.imbalance import DEFAULT_MINORITY_FRACTION, some_names
from ganaug_core.progress import tqdm_progress

app = typer.Typer(no_args_is_help=True)


@app.command("ingest")
@cli_errors
def ingest_cmd(
    source: str = typer.Argument(..., help="demo:digits, an ImageFolder directory, or an .npz file"),
    name: str = typer.Option(..., "--name", help="Name to record the dataset under"),
    resolution: Optional[int] = typer.Option(
        None, help="Side of the square images every image is converted to (8 to 1024; default 32): choose one at "
        "which your smallest defect still shows"),
    channels: Optional[int] = typer.Option(None, help="1 or 3 (default: from the data)"),
    test_fraction: Optional[float] = typer.Option(
        None, help="Share of each class held out as the locked test split (default: 1/3 for demo:digits, else 0.2; "
        "an .npz with its own test split keeps it)"),
    seed: int = typer.Option(0, help="Seed of the stratified test split (demo:digits: also of which rare images stay)"),
    as_json: bool = JSON,
) -> None:
    """Convert and store a dataset under GANAUG_HOME, with each image's sha256, class and split."""
    from ganaug.datasets import dataset_report, ingest_dataset
    from ganaug_core.datasets import IngestOptions

    defaulted = resolution is None
    options = IngestOptions(channels=channels, test_fraction=test_fraction, seed=seed)
    if resolution is not None:
        options.resolution = resolution
    with terminate_as_interrupt(), tqdm_progress() as progress:
        dataset, result = ingest_dataset(source, name, options, progress)
    report = dataset_report(name)
    skipped = [{"path": p, "reason": r} for p, r in result.skipped]
    text = [f"ingested {len(result.images)} images into dataset {name!r} ({dataset.resolution}², {dataset.channels} ch)"]
    if skipped:
        text.append(f"left out {len(skipped)} files or folders:")
        text += [f"  {s['path']}: {s['reason']}" for s in skipped[:20]]
        if len(skipped) > 20:
            text.append(f"  ... and {len(skipped) - 20} more")
    text.append(report.to_text())
    duplicates = result.duplicates()
    emit(
        {"dataset": name, "images": len(result.images), "resolution": dataset.resolution,
         "source_side": result.source_side, "skipped": skipped, "duplicates": duplicates, "report": report.to_dict()},
        as_json,
        "\n".join(text),
    )
    if defaulted and result.source_side and result.source_side >= 2 * dataset.resolution:
        echo(shrunk_note(result.source_side, dataset.resolution), err=True)
    if duplicates["images"]:
        echo(f"warning: {duplicates['images']} images are identical to another one after conversion to "
             f"{dataset.resolution}², {duplicates['across_classes']} of them under another class and "
             f"{duplicates['across_splits']} across train and test (a test image that is also a training image "
             f"inflates test scores); `--json` lists them by source path", err=True)
    untested = [c for c in report.class_names if "test" in report.counts and not report.counts["test"].get(c)]
    if untested:  # the benchmark refuses such a dataset; better said now than after a generator is trained
        echo(f"warning: class{'es' * (len(untested) > 1)} {some_names(untested)} "
             f"{'have' if len(untested) > 1 else 'has'} no test image, so `ganaug benchmark` cannot score "
             "it: add images to the class or ingest again with a larger --test-fraction", err=True)


def shrunk_note(side: int, resolution: int) -> str:
    """Said when the default resolution shrank the images a lot: a team's 128×128 photos stored at 32×32 lose the
    thin crack they are about, and nothing else in the output says so."""
    from ganaug_core.training.config import MAX_RESOLUTION

    larger = []
    r = resolution * 2
    while r <= min(side, MAX_RESOLUTION):
        larger.append(f"--resolution {r}")
        r *= 2
    return (f"note: the source images are {side} px on their shorter side (median) and were stored at "
            f"{resolution}×{resolution}, the default --resolution: detail finer than {side // resolution} source "
            f"pixels (a thin crack, a scratch) may blur away. To keep it, ingest again under another --name with "
            f"{' or '.join(larger)}; a training step at 64² costs 2.5–3× one at 32²")


@app.command("list")
@cli_errors
def list_cmd(as_json: bool = JSON) -> None:
    """List the ingested datasets."""
    from ganaug.datasets import all_datasets

    rows = [
        dict(name=d.name, source=d.source, resolution=d.resolution, channels=d.channels, classes=len(d.class_names),
             created_at=d.created_at.isoformat())
        for d in all_datasets()
    ]
    text = "\n".join(f"{r['name']:<24} {r['resolution']}²×{r['channels']}  {r['classes']} classes  {r['source']}" for r in rows)
    emit({"datasets": rows}, as_json, text or "no datasets yet: `ganaug data ingest FOLDER --name NAME` (one sub-folder "
         "of images per class), or `ganaug data ingest demo:digits --name digits` to try the tool")


@app.command("report")
@cli_errors
def report_cmd(
    name: str,
    minority_fraction: float = typer.Option(DEFAULT_MINORITY_FRACTION, help="Minority: below this share of the largest class"),
    as_json: bool = JSON,
) -> None:
    """Per-class counts per split, the imbalance ratio and the minority classes."""
    from ganaug.datasets import dataset_report

    report = dataset_report(name, minority_fraction)
    emit(report.to_dict(), as_json, report.to_text())
