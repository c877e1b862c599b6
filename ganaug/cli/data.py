"""`ganaug data ingest | list | report | remove`."""

from __future__ import annotations

from typing import Optional

import typer

from ganaug.cli.common import Commands, JSON, cli_errors, echo, emit
from ganaug.cli.exits import terminate_as_interrupt
from ganaug.cli.line_width import wrapped_note
from ganaug.ingest_notes import ingest_notes
from ganaug.shown_text import one_line, shown_report
from ganaug_core.imbalance import DEFAULT_MINORITY_FRACTION
from ganaug_core.progress import tqdm_progress

app = typer.Typer(cls=Commands, no_args_is_help=True)


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
    bit_depth: Optional[int] = typer.Option(
        None, show_default=False,
        help="The bits a folder's 16-bit images use: their values are scaled 2^N - 1 → 255 (default 16; 12 for a "
        "12-bit camera's, which 16 stores nearly black; a note says when the values suggest fewer bits). Recorded "
        "with the dataset (`data report`)"),
    no_follow_links: bool = typer.Option(
        False, "--no-follow-links", metavar="", help="Follow no link inside the folder: links to files and to "
        "folders are passed over and listed with where they point, the rest is ingested (a folder handed over may "
        "link to /etc or to another patients' store)"),
    as_json: bool = JSON,
) -> None:
    """Convert and store a dataset under GANAUG_HOME, with each image's sha256, class and split.

    Example: ganaug data ingest ~/data/parts --name parts --resolution 64 (one sub-folder of images per class)"""
    from ganaug.datasets import dataset_report, ingest_dataset
    from ganaug_core.datasets import IngestOptions

    defaulted = resolution is None
    options = IngestOptions(channels=channels, test_fraction=test_fraction, seed=seed,
                            follow_links=not no_follow_links, bit_depth=bit_depth)
    if resolution is not None:
        options.resolution = resolution
    with terminate_as_interrupt(), tqdm_progress() as progress:
        dataset, result = ingest_dataset(source, name, options, progress)
    report = dataset_report(name)
    shown = shown_report(report)
    skipped = [{"path": p, "reason": r} for p, r in result.skipped]
    text = [f"ingested {len(result.images)} images into dataset {name!r} ({dataset.resolution}², {dataset.channels} ch)"]
    if skipped:
        text.append(f"left out {len(skipped)} files or folders:")
        text += [f"  {one_line(s['path'])}: {one_line(s['reason'])}" for s in skipped[:20]]
        if len(skipped) > 20:
            text.append(f"  ... and {len(skipped) - 20} more")
    if result.links:  # a class folder may link to where its images are kept: where each led is said
        text.append(f"followed {len(result.links)} link{'s' * (len(result.links) > 1)}:")
        text += [f"  {one_line(link)} -> {one_line(target)}" for link, target in result.links[:20]]
        if len(result.links) > 20:
            text.append(f"  ... and {len(result.links) - 20} more (`--json` lists them all)")
    text.append(shown.to_text())
    duplicates, near = result.duplicates(), result.near_copies()
    emit(
        {"dataset": name, "images": len(result.images), "resolution": dataset.resolution,
         "bit_depth": dataset.bit_depth, "source_side": result.source_side, "skipped": skipped,
         "duplicates": duplicates, "near_copy_sets": near,
         "stretched": [{"path": p, "width": w, "height": h} for p, w, h in result.stretched],
         "links": [{"link": link, "target": target} for link, target in result.links],
         "frames": [{"path": p, "frames": n} for p, n in result.frames],
         "small": [{"path": p, "width": w, "height": h} for p, w, h in result.small],
         "report": report.to_dict()},
        as_json,
        "\n".join(text),
    )
    # Wrapped as `train`'s and `demo`'s notes are, the folder's path and each command whole: they ran to 250 columns.
    for note in ingest_notes(source, dataset, result, shown, duplicates, defaulted):
        echo(wrapped_note(note, whole=(source, one_line(dataset.source))), err=True)


@app.command("list")
@cli_errors
def list_cmd(as_json: bool = JSON) -> None:
    """List the ingested datasets; one whose folder or arrays file is gone is marked."""
    from ganaug.datasets import listed_datasets

    listed = listed_datasets()
    rows = [
        dict(name=d.name, source=d.source, resolution=d.resolution, channels=d.channels, classes=len(d.class_names),
             bit_depth=d.bit_depth, created_at=d.created_at.isoformat(), missing=missing)
        for d, missing, _ in listed
    ]
    text = "\n".join(f"{one_line(r['name']):<24} {r['resolution']}²×{r['channels']}  {r['classes']} classes  "
                     f"{one_line(r['source'])}" + missing_mark(r["name"], r["missing"], refs)
                     for r, (_, _, refs) in zip(rows, listed))
    emit({"datasets": rows}, as_json, text or "no datasets yet: `ganaug data ingest FOLDER --name NAME` (one sub-folder "
         "of images per class), or `ganaug data ingest demo:digits --name digits` to try the tool")


def missing_mark(name: str, missing, refs: dict[str, list[int]]) -> str:
    """The mark of a dataset whose files are gone, offering `data remove` only where it would not be refused over
    what names the dataset (`refs`)."""
    from ganaug.datasets import referring_words

    if missing is None:
        return ""
    what = "its folder" if missing == "folder" else "its arrays.npz"
    words = referring_words(refs)
    named = ", ".join(words[:-1]) + " and " * (len(words) > 1) + "".join(words[-1:])
    one = sum(len(ids) for ids in refs.values()) == 1
    if set(refs) - {"jobs"}:  # a run, batch, report or export: kept for good, and the dataset with it
        return (f"  [MISSING: {what} is gone; put it back: {named} name{'s' * one} it, so `ganaug data remove` keeps "
                "it (runs, batches, reports and exports are kept for good)]")
    after = f" once {named} {'has' if one else 'have'} ended" if refs else ""  # a job that ends names it no more
    return f"  [MISSING: {what} is gone; put it back, or forget it with `ganaug data remove {one_line(name)}`{after}]"


@app.command("report")
@cli_errors
def report_cmd(
    name: str = typer.Argument(..., help="The dataset (`ganaug data list`)"),
    minority_fraction: float = typer.Option(DEFAULT_MINORITY_FRACTION, help="Minority: below this share of the largest class"),
    as_json: bool = JSON,
) -> None:
    """Per-class counts per split, the imbalance ratio, the minority classes, the --bit-depth the ingest was
    given (`--json`: `bit_depth`, null: not given), and what it warned of (identical images, near-copies, files
    left out; `--json`: `duplicates`, `near_copy_sets`, `skipped`, by source path)."""
    from ganaug.datasets import dataset_report, ingest_findings

    report = dataset_report(name, minority_fraction)
    found = ingest_findings(name)
    dup, near, skipped = found["duplicates"], found["near_copy_sets"], found["skipped"]
    text = [shown_report(report).to_text()]
    if (bits := found["bit_depth"]) is not None:  # ingesting the source again without it gives other images
        text.append(f"ingested with --bit-depth {bits}: a 16-bit image's values were scaled {2**bits - 1:,} → 255 "
                    "(ingest the source again with it to get the same images)")
    if dup["images"]:  # the ingest's warnings scrolled by on one terminal: said to whoever reads the dataset later
        text.append(f"identical images: {dup['images']} ({dup['sets']} set{'s' * (dup['sets'] > 1)}), "
                    f"{dup['across_classes']} of them under two classes or more, {dup['across_splits']} on both sides "
                    "of the split (`--json` lists them by source path)")
    if near["images"]:  # not identical: one picture saved again with loss, resized or a thumbnail
        text.append(f"near-copies: {near['images']} ({near['sets']} set{'s' * (near['sets'] > 1)}; saved again with "
                    f"loss, resized or a thumbnail), {near['across_classes']} of them under two classes or more, "
                    f"{near['across_splits']} on both sides of the split (`--json`: `near_copy_sets`)")
    if skipped:
        text.append(f"left out at ingest: {len(skipped)} file{'s' * (len(skipped) > 1)} or folder"
                    f"{'s' * (len(skipped) > 1)} (`--json` lists them with why)")
    groups = [[dict(path=p, class_name=report.class_names[c], split=s) for p, c, s in g] for g in dup.pop("groups")]
    near_groups = [[dict(path=p, class_name=report.class_names[c], split=s) for p, c, s in g]
                   for g in near.pop("groups")]
    emit({**report.to_dict(), "bit_depth": found["bit_depth"], "duplicates": {**dup, "groups": groups},
          "near_copy_sets": {**near, "groups": near_groups},
          "skipped": [{"path": p, "reason": r} for p, r in skipped]}, as_json, "\n".join(text))


@app.command("remove")
@cli_errors
def remove_cmd(
    name: str = typer.Argument(..., help="The dataset to remove"),
    as_json: bool = JSON,
) -> None:
    """Remove a dataset no run, batch, report, export or queued or running job names: its rows, folder, feature
    extractor and finished jobs; the decision log records the removal."""
    from ganaug.datasets import remove_dataset
    from ganaug.disk import human

    with terminate_as_interrupt():
        removed = remove_dataset(name)
    jobs = len(removed["jobs"])
    emit(removed, as_json, f"removed dataset {name!r}: {removed['images']} images, {jobs} finished "
         f"job{'s' * (jobs != 1)}, {human(removed['freed_bytes'])} freed; its name is free again")
