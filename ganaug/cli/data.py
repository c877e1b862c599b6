"""`ganaug data ingest | list | report | remove`."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Optional

import typer

from ganaug.cli.common import Commands, JSON, cli_errors, distinct_lines, echo, emit, one_line
from ganaug.cli.exits import terminate_as_interrupt
from ganaug_core.imbalance import DEFAULT_MINORITY_FRACTION, some_names
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
    for line in ingest_notes(source, dataset, result, shown, duplicates, defaulted):
        echo(line, err=True)


def shown_report(report):
    """The report with its dataset's and classes' names as one line each (`one_line`), for its text: a class folder
    named 'a\\nb' split its row of the table in two, and one holding ESC drove the terminal. Two names that would read
    alike ('a\\nb' and 'a\\\\nb') are quoted (`distinct_lines`): keyed by the shown name, they shared a row."""
    name = distinct_lines(report.class_names)
    return dataclasses.replace(
        report, dataset=one_line(report.dataset), class_names=[name[c] for c in report.class_names],
        counts={split: {name[c]: n for c, n in per.items()} for split, per in report.counts.items()},
        minority_classes=[name[c] for c in report.minority_classes])


def ingest_notes(source: str, dataset, result, report, duplicates: dict, defaulted: bool) -> list[str]:
    """What an ingest says on stderr beside its report: what was lost or made up in conversion, duplicates, what the
    split left a class, and an earlier copy of the same source."""
    from ganaug.datasets import all_datasets
    from ganaug_core.datasets import DEMO_NAME

    lines = []
    side, res = result.source_side, dataset.resolution
    if defaulted and side and side >= 2 * res:
        lines.append(shrunk_note(side, res))
    lines += duplicates_notes(duplicates, res, source)
    lines += near_copies_notes(result.near_copies(), source)
    lines += case_notes(result.class_names)
    if not defaulted and source != DEMO_NAME and side and res >= 2 * side:
        lines.append(enlarged_note(side, res))
    if result.stretched:
        lines.append(stretched_note(result.stretched, res))
    if result.frames:
        lines.append(frames_note(result.frames))
    if result.small:
        lines.append(small_note(result.small, side, res))
    lines += depth_notes(result.wide, result.wide_peak, result.bit_depth)
    lines += colour_notes(result.colourless, [im.class_index for im in result.images], result.class_names)
    lines += split_warnings(report, folder=Path(source).expanduser().is_dir())
    lines += few_rare_test_note(report)
    if Path(source).expanduser().is_dir():  # the split is ganaug's (an .npz may bring its own)
        lines += held_note(held_beyond_fraction(report, result.test_fraction), result.test_fraction)
    before = [d.name for d in all_datasets() if d.source == dataset.source and d.name != dataset.name]
    if before and dataset.source != DEMO_NAME:  # two copies of one folder: runs and reviews of one miss the other
        lines.append(f"note: {one_line(dataset.source)} was ingested before, as dataset{'s' * (len(before) > 1)} "
                     f"{some_names([repr(b) for b in before])}: this is a separate copy, with runs and reviews of "
                     "its own")
    return lines


def duplicates_notes(dup: dict, resolution: int, source: str) -> list[str]:
    """Said of images identical after conversion: that each set kept to one side of the split (a folder's split,
    `stratified_test_mask`) or how many the source's own split put on both, and which sit under two classes."""
    if not dup["images"]:
        return []
    n, sets = dup["images"], dup["sets"]
    kept = ("each set was kept on one side of the train/test split, so no test image is also a training image"
            if not dup["across_splits"] else
            f"{dup['across_splits']} of them on both sides of the source's own train/test split (a test image that "
            "is also a training image inflates test scores)")
    lines = [f"warning: {n} images are identical to another one after conversion to {resolution}² ({sets} "
             f"set{'s' * (sets > 1)}): {kept}; `--json` lists them by source path"]
    across = [(paths, names) for paths, names in zip(dup["groups"], dup["classes"]) if len(set(names)) > 1]
    if dup["across_classes"]:
        shown = "; ".join(" = ".join(_shown_source(p, c, source) for p, c in zip(*g)) for g in across[:3])
        more = " …" if dup["across_classes"] > sum(len(g[0]) for g in across[:3]) else ""
        lines.append(f"warning: {dup['across_classes']} of them are filed under two classes or more, which teaches a "
                     f"classifier both labels: {shown}{more}; keep each image in its one class and ingest again")
    return lines


def near_copies_notes(near: dict, source: str) -> list[str]:
    """Said of near-copy sets (one picture saved again with loss, resized, a thumbnail: not identical, so not in
    `duplicates_notes`): kept on one side of a split ganaug made, or how many a source's own split put on both."""
    if not near["images"]:
        return []
    n, sets = near["images"], near["sets"]
    kept = ("each set was kept on one side of the train/test split, as identical images are" if not
            near["across_splits"] else f"{near['across_splits']} of them on both sides of the source's own train/test "
            "split (a test image whose near-copy trains inflates test scores)")
    g, c = near["groups"][0], near["classes"][0]
    example = " ≈ ".join(_shown_source(p, k, source) for p, k in zip(g[:3], c[:3])) + (" …" if len(g) > 3 else "")
    classes = f"; {near['across_classes']} of them under two classes or more" if near["across_classes"] else ""
    return [f"warning: {n} images are near-copies of another one ({sets} set{'s' * (sets > 1)}: saved again with loss, "
            f"resized or a thumbnail, e.g. {example}{classes}): {kept}; `--json` lists them by source path "
            "(`near_copy_sets`)"]


def case_notes(class_names: list[str]) -> list[str]:
    """Said of classes whose names differ only in case ('Tumor' and 'tumor', from two microscopes' exports): two
    classes here, one folder on a Mac or Windows. Not refused: 'A' and 'a' are two classes of a letters dataset."""
    alike: dict[str, list[str]] = {}
    for name in class_names:
        alike.setdefault(name.casefold(), []).append(name)
    return [f"warning: classes {' and '.join(repr(one_line(n)) for n in names)} differ only in case: they were "
            "ingested as separate classes (on a Mac or Windows they would be one folder); if they are one class, move "
            "the images into one folder and ingest again" for names in alike.values() if len(names) > 1]


def _shown_source(path: str, class_name: str, source: str) -> str:
    """An image's source path as the user knows it: relative to the folder ingested (it starts with its class
    folder), else whole with its class."""
    try:
        rel = Path(path).relative_to(Path(source).expanduser().resolve())
    except ValueError:
        return f"{one_line(path)} (class {one_line(class_name)})"
    return one_line(str(rel)) if rel.parts[0] == class_name else f"{one_line(str(rel))} (class {one_line(class_name)})"


def held_note(held: dict[str, int], fraction: float) -> list[str]:
    if not held:
        return []
    many, sizes = len(held) > 1, sorted(set(held.values()))
    size = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
    return [f"note: class{'es' * many} {some_names(list(held))} {'hold' if many else 'holds'} out 1 of "
            f"{'their' if many else 'its'} {size} images for test, more than --test-fraction {fraction:g} asks: a "
            "class of 2 or more keeps one test image, for `ganaug benchmark`"]


def split_warnings(report, folder: bool = False) -> list[str]:
    """What the split left a class without: training images (an .npz whose own test split holds a class its
    training split lacks: no generator can learn it), or a test image (the benchmark cannot score it). `folder`: the
    split is ganaug's own, which keeps a class's one image for training."""
    lines = []
    untrained = [c for c in report.class_names if not report.counts.get("train", {}).get(c)]
    if untrained:
        many = len(untrained) > 1
        lines.append(f"warning: class{'es' * many} {some_names(untrained)} {'have' if many else 'has'} no training "
                     f"image (only held-out ones): no generator can learn {'them' if many else 'it'} and `ganaug "
                     "generate` refuses " + ("them" if many else "it") + "; add training images to the source")
    untested = [c for c in report.class_names if "test" in report.counts and not report.counts["test"].get(c)]
    if untested:  # the benchmark refuses such a dataset; better said now than after a generator is trained
        many = len(untested) > 1
        # Not "a larger --test-fraction": a class of one image keeps it for training and one of 2 or more already
        # holds out one, whatever the fraction, so that advice changed nothing for the classes named here.
        lone = folder and all(report.counts.get("train", {}).get(c) == 1 for c in untested)
        why = (("each has one image, kept for training" if many else "its one image is kept for training")
               + " (a class of 2 or more keeps one for test); " if lone else "")
        lines.append(f"warning: class{'es' * many} {some_names(untested)} {'have' if many else 'has'} no test "
                     f"image, so `ganaug benchmark` cannot score {'them' if many else 'it'}: {why}add images to the "
                     f"class{'es' * many}")
    return lines


def few_rare_test_note(report) -> list[str]:
    """Said where the rare classes' test images are too few for `ganaug benchmark` to show a gain on them (its answer
    says so too, `answer.MIN_RARE_TEST_IMAGES`): better known before a generator is trained for them."""
    from ganaug_core.benchmark.answer import MIN_RARE_TEST_IMAGES

    test = report.counts.get("test", {})
    n = sum(test.get(c, 0) for c in report.minority_classes)
    if not n or n >= MIN_RARE_TEST_IMAGES:  # none at all is warned of above
        return []
    many = len(report.minority_classes) > 1
    return [f"note: the rare class{'es' * many} {some_names(report.minority_classes)} {'hold' if many else 'holds'} "
            f"only {n} test image{'s' * (n > 1)}: `ganaug benchmark` can show no gain on fewer than "
            f"{MIN_RARE_TEST_IMAGES}; add images to {'them' if many else 'it'} where you can"]


def colour_notes(colourless: list[int], labels: list[int], class_names: list[str]) -> list[str]:
    """Said of a colour dataset holding images with no colour (a monochrome camera's files beside a colour one's):
    where they gather in one class, colour alone tells the classes apart, to a classifier and to the generator."""
    if not 0 < sum(colourless) < len(labels):
        return []
    totals = Counter(labels)
    per_class = some_names([f"{one_line(class_names[c])} {n} of {totals[c]}" for c, n in enumerate(colourless)])
    return [f"note: {sum(colourless)} of {len(labels)} images have no colour (grayscale files, stored as colour with "
            f"R = G = B); per class: {per_class}. A classifier or generator may learn colour itself as the class: "
            "where one camera is monochrome, ingest again under another --name with --channels 1"]


def stretched_note(stretched: list[tuple[str, int, int]], resolution: int) -> str:
    """Said of images far from square: stored stretched, a 30×200 strip no longer looks like itself."""
    path, w, h = max(stretched, key=lambda s: max(s[1], s[2]) / max(1, min(s[1], s[2])))
    n = len(stretched)
    return (f"note: {n} image{'s' * (n > 1)} {'are' if n > 1 else 'is'} far from square (the longer side 2× the "
            f"shorter or more; the most: {one_line(path)}, {w}×{h}) and {'were' if n > 1 else 'was'} stretched to "
            f"{resolution}×{resolution}; crop or pad {'them' if n > 1 else 'it'} first where the shape matters "
            "(`--json` lists them)")


def frames_note(frames: list[tuple[str, int]]) -> str:
    """Said of files of several frames or pages: a microscope's multi-page TIFF (a z-stack, channels, a time series)
    became one image of its first page, and nothing said the rest was not ingested."""
    path, most = max(frames, key=lambda f: f[1])
    n = len(frames)
    return (f"note: {n} file{'s' * (n > 1)} {'hold' if n > 1 else 'holds'} several frames or pages (the most: "
            f"{one_line(path)}, {most} of them) and only the first of each was ingested: save the others as images of "
            "their own to ingest them (`--json` lists them)")


def small_note(small: list[tuple[str, int, int]], side: int, resolution: int) -> str:
    """Said of images much smaller than the others (icons, thumbnails beside the scans they show): enlarged to the
    resolution, they add no detail, and a thumbnail of a scan is a near-copy of it."""
    path, w, h = min(small, key=lambda s: min(s[1], s[2]))
    n = len(small)
    return (f"note: {n} image{'s' * (n > 1)} {'are' if n > 1 else 'is'} much smaller than the others (whose shorter "
            f"side is {side} px, median; the smallest: {one_line(path)}, {w}×{h}) and {'were' if n > 1 else 'was'} "
            f"enlarged to {resolution}×{resolution}: thumbnails or icons? (`--json` lists them)")


def depth_notes(wide: int, peak: int, bit_depth: int) -> list[str]:
    """Said of a folder's 16-bit images whose values use fewer bits than --bit-depth says (a 12-bit microscope camera
    saves into 16-bit files: scaled 65535 → 255 they were stored at 0–16, nearly black, in 17 grey levels), or more
    (clipped to white)."""
    if not wide:
        return []
    top, many = 2**bit_depth - 1, wide > 1
    these = f"the {wide} images of 16 bits hold" if many else "the image of 16 bits holds"
    if peak > top:
        return [f"warning: {these} values up to {peak:,}, above the {top:,} that --bit-depth {bit_depth} scales to "
                f"255: the values above it were stored as 255 (white); ingest again under another --name with a "
                "larger --bit-depth"]
    fewer = next((b for b in (8, 10, 12, 14) if b < bit_depth and peak < 2**b), None)
    if fewer is None:
        return []
    level = round(peak / (top / 255))
    return [f"note: {these} values up to {peak:,} only, stored at 0–{level} of 255 by --bit-depth {bit_depth} "
            f"({top:,} → 255): nearly black, in {level + 1} grey levels. If a {fewer}-bit camera made "
            f"{'them' if many else 'it'}, ingest again under another --name with --bit-depth {fewer}"]


def held_beyond_fraction(report, fraction: float) -> dict[str, int]:
    """Classes whose one test image is more than `fraction` of their images asks (a class of 2 trains on 1), with
    their number of images."""
    counts = report.counts
    held = {}
    for c in report.class_names:
        total = sum(counts[s].get(c, 0) for s in counts)
        if counts.get("test", {}).get(c) == 1 and total >= 2 and round(total * fraction) == 0:
            held[c] = total
    return held


def enlarged_note(side: int, resolution: int) -> str:
    """Said when --resolution enlarged the images 2× or more: it adds no detail, and each training step costs more."""
    own = 8
    while own * 2 <= side:
        own *= 2
    return (f"note: the source images are {side} px on their shorter side (median) and were enlarged to "
            f"{resolution}×{resolution}: that adds no detail, and a training step at {resolution}² costs more than "
            f"one at {own}²; to train faster, ingest again under another --name with --resolution {own}")


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
    """List the ingested datasets; one whose folder or arrays file is gone is marked."""
    from ganaug.datasets import listed_datasets

    rows = [
        dict(name=d.name, source=d.source, resolution=d.resolution, channels=d.channels, classes=len(d.class_names),
             bit_depth=d.bit_depth, created_at=d.created_at.isoformat(), missing=missing)
        for d, missing in listed_datasets()
    ]
    text = "\n".join(f"{one_line(r['name']):<24} {r['resolution']}²×{r['channels']}  {r['classes']} classes  "
                     f"{one_line(r['source'])}" + missing_mark(r["name"], r["missing"]) for r in rows)
    emit({"datasets": rows}, as_json, text or "no datasets yet: `ganaug data ingest FOLDER --name NAME` (one sub-folder "
         "of images per class), or `ganaug data ingest demo:digits --name digits` to try the tool")


def missing_mark(name: str, missing) -> str:
    if missing is None:
        return ""
    what = "its folder" if missing == "folder" else "its arrays.npz"
    return f"  [MISSING: {what} is gone; put it back, or forget it with `ganaug data remove {one_line(name)}`]"


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
