"""What `ganaug data ingest` says on stderr beside its report (`ingest_notes`): what was lost or made up in conversion
(images shrunk, enlarged, stretched, of many frames, of a wider bit depth, colourless), duplicates and near-copies,
class names that differ only in case, what the split left a class (no test image, fewer than the benchmark needs),
and an earlier copy of the same source. The job worker's ingest says them too, in the app's words (`in_the_app`):
they live here, not under ganaug/cli/, so that the worker loads no command-line module to say them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ganaug.shown_text import one_line
from ganaug_core.imbalance import some_names


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
        lines.append(stretched_note(result.stretched, res, source))
    if result.frames:
        lines.append(frames_note(result.frames, source))
    if result.small:
        lines.append(small_note(result.small, side, res, source))
    lines += depth_notes(result.wide, result.wide_peak, result.bit_depth, result.wide_paths, source)
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


# The words of the notes that name `data ingest`'s options, as the app's "Add a dataset" (pages/ingest_form.py) says
# them: a clinic that adds its folders from the app read "--bit-depth 12" and had no shell to type it in. The form has
# no channels option, so that note sends to the command line; the lists `--json` gives are `data report`'s for
# duplicates and near-copies, and the command line's alone for the rest. Changing a note's words here means changing
# its rewrite too: tests/app/test_ingest_notes_in_app.py checks that no option is left bare.
_FORM_LABEL = {"--bit-depth": "“Bit depth of 16-bit images”", "--resolution": "“Resolution”",
               "--test-fraction": "“Test fraction”"}
_IN_THE_APP = [
    (re.compile(r"ingest again under another --name with --channels 1"),
     "ingest again under another name from the command line, `ganaug data ingest FOLDER --name NAME --channels 1` "
     "(the app's “Add a dataset” has no such option)"),
    (re.compile(r"ingest again under another --name with "), "add the folder again under another name with "),
    (re.compile(r"(--bit-depth|--resolution|--test-fraction) (\d[\d.]*)"),
     lambda m: f"a {_FORM_LABEL[m[1]]} of {m[2]}"),
    (re.compile(r"--bit-depth|--resolution|--test-fraction"), lambda m: _FORM_LABEL[m[0]]),
    (re.compile(r"`--json` lists them by source path"), "`ganaug data report {name} --json` lists them by source path"),
    (re.compile(r"\(`--json` lists them\)"), "(`ganaug data ingest --json` lists them, on the command line only)"),
]


def in_the_app(line: str, name: str) -> str:
    """`line`, a note of `ingest_notes`, as the app says it: each option named by the form's label for it, or the
    command line named where the form has none (`_IN_THE_APP`). `name`: the dataset's."""
    from shlex import quote

    for pattern, said in _IN_THE_APP:
        text = said.replace("{name}", quote(one_line(name))) if isinstance(said, str) else None
        # A function, not a template: a backslash in the dataset's name is no escape.
        line = pattern.sub(said if text is None else lambda _m, text=text: text, line)
    return line


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


def _in_source(path: str, source: str) -> str:
    """A file a note names, as `_shown_source` names one without its class: relative to the folder ingested
    ('cells/strip.png'), else whole. The notes on stretched, small and many-frame images gave the whole path
    ('/data/lab/cells/strip.png') where the notes on duplicates beside them gave 'cells/strip.png'."""
    try:
        return one_line(str(Path(path).relative_to(Path(source).expanduser().resolve()))) if source else one_line(path)
    except ValueError:
        return one_line(path)


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


def stretched_note(stretched: list[tuple[str, int, int]], resolution: int, source: str = "") -> str:
    """Said of images far from square: stored stretched, a 30×200 strip no longer looks like itself."""
    path, w, h = max(stretched, key=lambda s: max(s[1], s[2]) / max(1, min(s[1], s[2])))
    n = len(stretched)
    return (f"note: {n} image{'s' * (n > 1)} {'are' if n > 1 else 'is'} far from square (the longer side 2× the "
            f"shorter or more; the most: {_in_source(path, source)}, {w}×{h}) and {'were' if n > 1 else 'was'} "
            f"stretched to {resolution}×{resolution}; crop or pad {'them' if n > 1 else 'it'} first where the shape "
            "matters (`--json` lists them)")


def frames_note(frames: list[tuple[str, int]], source: str = "") -> str:
    """Said of files of several frames or pages: a microscope's multi-page TIFF (a z-stack, channels, a time series)
    became one image of its first page, and nothing said the rest was not ingested."""
    path, most = max(frames, key=lambda f: f[1])
    n = len(frames)
    return (f"note: {n} file{'s' * (n > 1)} {'hold' if n > 1 else 'holds'} several frames or pages (the most: "
            f"{_in_source(path, source)}, {most} of them) and only the first of each was ingested: save the others as "
            "images of their own to ingest them (`--json` lists them)")


def small_note(small: list[tuple[str, int, int]], side: int, resolution: int, source: str = "") -> str:
    """Said of images much smaller than the others (icons, thumbnails beside the scans they show): enlarged to the
    resolution, they add no detail, and a thumbnail of a scan is a near-copy of it."""
    path, w, h = min(small, key=lambda s: min(s[1], s[2]))
    n = len(small)
    return (f"note: {n} image{'s' * (n > 1)} {'are' if n > 1 else 'is'} much smaller than the others (whose shorter "
            f"side is {side} px, median; the smallest: {_in_source(path, source)}, {w}×{h}) and "
            f"{'were' if n > 1 else 'was'} enlarged to {resolution}×{resolution}: thumbnails or icons? (`--json` lists "
            "them)")


def depth_notes(wide: int, peak: int, bit_depth: int, named: list[str] = (), source: str = "") -> list[str]:
    """Said of a folder's 16-bit images whose values use fewer bits than --bit-depth says (a 12-bit microscope camera
    saves into 16-bit files: scaled 65535 → 255 they were stored at 0–16, nearly black, in 17 grey levels), or more
    (clipped to white); else that they were stored at 8 bits, as everything downstream, the export too, uses them.
    `named`: the first few of them, named at the note's end as the other notes name a file ("the image of 16 bits"
    named none); at the end, so that the job's message, the note's first sentence cut at 200 characters, keeps what
    happened to them."""
    if not wide:
        return []
    top, many = 2**bit_depth - 1, wide > 1
    these = f"the {wide} images of 16 bits hold" if many else "the image of 16 bits holds"
    files = ", ".join(_in_source(p, source) for p in named) + (f" and {wide - len(named)} more" if wide > len(named)
                                                                else "")
    which = f"; {'the files' if many else 'the file'}: {files}" if named else ""
    if peak > top:
        return [f"warning: {these} values up to {peak:,}, above the {top:,} that --bit-depth {bit_depth} scales to "
                f"255: the values above it were stored as 255 (white); ingest again under another --name with a "
                f"larger --bit-depth{which}"]
    fewer = next((b for b in (8, 10, 12, 14) if b < bit_depth and peak < 2**b), None)
    if fewer is None:  # their full range: still 8 bits kept of 16, which an X-ray's owner expects to get back
        return [] if bit_depth <= 8 else [
            f"note: {f'the {wide} images of 16 bits were' if many else 'the image of 16 bits was'} stored at 8 bits "
            f"({top:,} → 255, {(top + 1) // 256} levels to one): training, review and `ganaug export` use "
            f"{'these 8-bit copies' if many else 'this 8-bit copy'}, not the 16-bit files{which}"]
    level = round(peak / (top / 255))
    return [f"note: {these} values up to {peak:,} only, stored at 0–{level} of 255 by --bit-depth {bit_depth} "
            f"({top:,} → 255): nearly black, in {level + 1} grey levels. If a {fewer}-bit camera made "
            f"{'them' if many else 'it'}, ingest again under another --name with --bit-depth {fewer}{which}"]


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
