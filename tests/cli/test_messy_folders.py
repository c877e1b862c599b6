"""A lab's folders as they come from three microscopes, a phone and a shared drive: what `data ingest` accepts,
converts, passes over or refuses, and that it says so (its notes, `data report`)."""

from __future__ import annotations

import io
import json
import unicodedata

import numpy as np
from PIL import Image

from tests.cli.helpers import assert_bad_input, ganaug, notes
from tests.cli.test_data_cli import assert_nothing_written
from tests.core.test_identical_images_split import noise_folder


def _noise(seed, size=(8, 8), mode="RGB"):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)


def _warnings(result):
    return notes(result.stderr)  # each unwrapped: wrapped at 80 columns on stderr


def test_every_kind_of_lab_file_is_read_and_the_os_litter_passed_over(home, tmp_path):
    src = tmp_path / "src"
    for c in ("a", "b"):
        (src / c / "phone").mkdir(parents=True)
        for i in range(3):
            _noise(10 * (c == "b") + i).save(src / c / f"{i}.png")
    a = src / "a"
    _noise(1).convert("CMYK").save(a / "cmyk.jpg")
    Image.fromarray((np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)).save(a / "gray16.png")
    _noise(2, mode="P").save(a / "palette.png", transparency=0)
    _noise(3, mode="LA").save(a / "la.png")
    _noise(4, mode="RGBA").save(a / "rgba.png")
    _noise(5).save(a / "w.webp", lossless=True)
    _noise(6, size=(4, 4)).save(a / "tiny.png")  # smaller than --resolution
    buf = io.BytesIO()
    _noise(7).save(buf, "PNG")
    (a / "really_a_png.jpg").write_bytes(buf.getvalue())
    _noise(8).save(a / "UPPER.PNG")
    photo = _noise(9, size=(12, 8))
    exif = photo.getexif()
    exif[0x0112] = 6  # taken sideways
    photo.save(a / "phone" / "IMG_0001.JPG", exif=exif)
    (a / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (a / "._0.png").write_bytes(b"\0\x05\x16\x07")  # AppleDouble beside the image it describes
    (a / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (a / "IMG_0002.HEIC").write_bytes(b"\0\0\0\x18ftypheic")
    _noise(10).save(a / "saved_by_a_browser.jfif", format="JPEG")
    (src / "__MACOSX" / "a").mkdir(parents=True)
    (src / "__MACOSX" / "a" / "._0.png").write_bytes(b"\0\x05\x16\x07")
    (a / "empty.png").write_bytes(b"")
    (a / "cut.png").write_bytes(buf.getvalue()[:40])
    result = ganaug("data", "ingest", src, "--name", "lab", "--resolution", "8", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["images"] == 17 and out["report"]["class_names"] == ["a", "b"]  # __MACOSX is no class
    assert {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in out["skipped"]} == {
        "__MACOSX": "macOS's metadata from a zip archive (resource forks, not images): passed over",
        "Thumbs.db": "not an image file type",
        "IMG_0002.HEIC": "an iPhone's HEIC photo, a format ganaug does not read: save it as PNG or TIFF to ingest it",
        "cut.png": "not a readable image (a PNG by its first bytes, but cut short or corrupt)",
        "empty.png": "not a readable image (an empty file)"}
    assert [(s["path"].rsplit("/", 1)[-1], s["width"], s["height"]) for s in out["small"]] == [("tiny.png", 4, 4)]
    assert ("note: 1 image is much smaller than the others (whose shorter side is 8 px, median; the smallest: "
            "a/tiny.png, 4×4) and was enlarged to 8×8: thumbnails or icons? (`--json` lists them)"
            ) in _warnings(result)
    report = ganaug("data", "report", "lab")
    assert report.stdout.splitlines()[-1] == "left out at ingest: 5 files or folders (`--json` lists them with why)"
    assert len(json.loads(ganaug("data", "report", "lab", "--json").stdout)["skipped"]) == 5


def test_copies_are_named_again_by_data_report(home, tmp_path):
    src = noise_folder(tmp_path / "src")
    assert ganaug("data", "ingest", src, "--name", "lab", "--resolution", "8").exit_code == 0
    text = ganaug("data", "report", "lab").stdout.splitlines()
    assert text[-1] == ("identical images: 6 (2 sets), 2 of them under two classes or more, 0 on both sides of the "
                        "split (`--json` lists them by source path)")
    dup = json.loads(ganaug("data", "report", "lab", "--json").stdout)["duplicates"]
    first = dup["groups"][0]  # the set under two classes comes first
    assert [(p["path"].split("/")[-2:], p["class_name"]) for p in first] == [(["a", "1.png"], "a"),
                                                                             (["b", "from_a.png"], "b")]
    assert len({p["split"] for p in first}) == 1


def test_class_folders_spelled_in_two_unicode_forms_are_refused(home, tmp_path):
    src = tmp_path / "src"
    for i, form in enumerate(("NFC", "NFD")):  # a Mac writes the second
        folder = src / unicodedata.normalize(form, "café")
        folder.mkdir(parents=True)
        for k in range(2):
            _noise(10 * i + k).save(folder / f"{k}.png")
    assert_bad_input(ganaug("data", "ingest", src, "--name", "lab", "--resolution", "8"),
                     "are one name spelled with different Unicode characters ('cafe\\u0301' and 'caf\\xe9'",
                     "move the images of one into the other")
    assert_nothing_written(home)


def test_class_names_differing_only_in_case_are_ingested_with_a_warning(home, tmp_path):
    src = tmp_path / "src"
    for i, name in enumerate(("Tumor", "tumor", "normal")):
        (src / name).mkdir(parents=True)
        for k in range(3):
            _noise(10 * i + k).save(src / name / f"{k}.png")
    result = ganaug("data", "ingest", src, "--name", "lab", "--resolution", "8")
    assert result.exit_code == 0, result.output
    assert ("warning: classes 'Tumor' and 'tumor' differ only in case: they were ingested as separate classes (on a "
            "Mac or Windows they would be one folder); if they are one class, move the images into one folder and "
            "ingest again") in _warnings(result)


def test_a_multi_page_tiff_and_an_animated_gif_are_said_to_give_their_first_frame(home, tmp_path):
    src = tmp_path / "src"
    for c in ("a", "b"):
        (src / c).mkdir(parents=True)
        for k in range(3):
            _noise(10 * (c == "b") + k).save(src / c / f"{k}.png")
    pages = [_noise(20 + k) for k in range(4)]
    pages[0].save(src / "a" / "stack.tif", save_all=True, append_images=pages[1:])  # a microscope's z-stack
    frames = [_noise(30 + k, mode="P") for k in range(2)]
    frames[0].save(src / "b" / "anim.gif", save_all=True, append_images=frames[1:])
    result = ganaug("data", "ingest", src, "--name", "lab", "--resolution", "8", "--json")
    assert result.exit_code == 0, result.output
    assert sorted((f["path"].rsplit("/", 1)[-1], f["frames"]) for f in json.loads(result.stdout)["frames"]) == [
        ("anim.gif", 2), ("stack.tif", 4)]
    note = [line for line in _warnings(result) if "frames or pages" in line]
    # named as the notes on duplicates name a file: from the folder ingested (it was /tmp/…/src/a/stack.tif)
    assert note == ["note: 2 files hold several frames or pages (the most: a/stack.tif, 4 of them) and "
                    "only the first of each was ingested: save the others as images of their own to ingest them "
                    "(`--json` lists them)"]


def test_a_12_bit_cameras_16_bit_files_are_said_nearly_black_and_bit_depth_12_scales_them(home, tmp_path):
    src = tmp_path / "src"
    for c, step in (("cells", 60), ("debris", 30)):  # a 12-bit camera's values, saved as 16-bit TIFFs
        (src / c).mkdir(parents=True)
        for k in range(3):
            values = np.arange(64, dtype=np.uint16).reshape(8, 8) * step + 40 * k
            values[0, 0] = 4095
            Image.fromarray(values).save(src / c / f"{k}.tif")
    default = ganaug("data", "ingest", src, "--name", "dark", "--resolution", "8")
    assert default.exit_code == 0, default.output
    # the files named, the first few (it said "the 6 images of 16 bits", and "the image of 16 bits" of one)
    assert ("note: the 6 images of 16 bits hold values up to 4,095 only, stored at 0–16 of 255 by --bit-depth 16 (65,535 "
            "→ 255): nearly black, in 17 grey levels. If a 12-bit camera made them, ingest again under another --name "
            "with --bit-depth 12; the files: cells/0.tif, cells/1.tif, cells/2.tif and 3 more") in _warnings(default)
    twelve = ganaug("data", "ingest", src, "--name", "lit", "--resolution", "8", "--bit-depth", "12", "--json")
    assert twelve.exit_code == 0 and not [w for w in _warnings(twelve) if "bit-depth" in w], twelve.output
    stored = {n: np.load(home / "datasets" / n / "arrays.npz")["images"] for n in ("dark", "lit")}
    assert (stored["dark"].max(), stored["lit"].max()) == (16, 255)  # 4095 / 257, 4095 / (4095 / 255)
    ten = ganaug("data", "ingest", src, "--name", "clipped", "--resolution", "8", "--bit-depth", "10")
    assert [w for w in _warnings(ten) if "bit-depth" in w] == [
        "warning: the 6 images of 16 bits hold values up to 4,095, above the 1,023 that --bit-depth 10 scales to 255: the "
        "values above it were stored as 255 (white); ingest again under another --name with a larger --bit-depth; the "
        "files: cells/0.tif, cells/1.tif, cells/2.tif and 3 more"]
    assert_bad_input(ganaug("data", "ingest", "demo:digits", "--name", "d", "--bit-depth", "12"),
                     "--bit-depth applies to a folder's 16-bit image files")
    assert_bad_input(ganaug("data", "ingest", src, "--name", "d", "--bit-depth", "7"), "--bit-depth must be between 8")


def test_near_copies_are_named_apart_from_identical_images_at_ingest_and_by_data_report(home, tmp_path):
    from tests.core.test_near_copies_split import smooth_folder, with_near_copies

    src = with_near_copies(smooth_folder(tmp_path / "src"))
    (src / "b" / "7_copy.png").write_bytes((src / "b" / "7.png").read_bytes())
    result = ganaug("data", "ingest", src, "--name", "lab", "--resolution", "16", "--json")
    assert result.exit_code == 0
    found = json.loads(result.stdout)
    # `near_copies` also named, in `evaluate batch --json`, the samples that nearly copy a training image
    assert "near_copies" not in found
    assert (found["duplicates"]["images"], found["near_copy_sets"]["images"], found["near_copy_sets"]["sets"]) == (
        2, 6, 3)
    assert [line for line in _warnings(result) if "near-copies" in line] == [
        "warning: 6 images are near-copies of another one (3 sets: saved again with loss, resized or a thumbnail, e.g. "
        "a/thumb_of_b2.png ≈ b/2.png; 2 of them under two classes or more): each set was kept on one side of the "
        "train/test split, as identical images are; `--json` lists them by source path (`near_copy_sets`)"]
    text = ganaug("data", "report", "lab").stdout.splitlines()
    assert text[-2:] == [
        "identical images: 2 (1 set), 0 of them under two classes or more, 0 on both sides of the split (`--json` "
        "lists them by source path)",
        "near-copies: 6 (3 sets; saved again with loss, resized or a thumbnail), 2 of them under two classes or more, "
        "0 on both sides of the split (`--json`: `near_copy_sets`)"]
    near = json.loads(ganaug("data", "report", "lab", "--json").stdout)["near_copy_sets"]
    first = near["groups"][0]  # the set under two classes comes first
    assert [(p["path"].split("/")[-2:], p["class_name"]) for p in first] == [(["a", "thumb_of_b2.png"], "a"),
                                                                             (["b", "2.png"], "b")]
    assert len({p["split"] for p in near["groups"][1]}) == 1


def test_full_range_16_bit_films_are_said_stored_at_8_bits_and_grey_rgb_ones_as_one_channel(home, tmp_path):
    # A radiology export: 8-bit greys, 16-bit PNGs using their whole range, and greys saved as RGB. The 16-bit films
    # were stored at 8 bits without a word, and the export hands back those 8-bit copies, not the films.
    src = tmp_path / "src"
    for c, step in (("normal", 1000), ("nodule", 1020)):
        (src / c).mkdir(parents=True)
        values = np.arange(64, dtype=np.uint16).reshape(8, 8) * step
        Image.fromarray(values).save(src / c / "film16.png")
        Image.fromarray((values // 257).astype(np.uint8)).save(src / c / "film8.png")
        Image.fromarray((values // 300).astype(np.uint8)).convert("RGB").save(src / c / "grey_as_rgb.png")
    result = ganaug("data", "ingest", src, "--name", "films", "--resolution", "8")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "ingested 6 images into dataset 'films' (8², 1 ch)"
    assert ("note: the 2 images of 16 bits were stored at 8 bits (65,535 → 255, 256 levels to one): training, review "
            "and `ganaug export` use these 8-bit copies, not the 16-bit files; the files: nodule/film16.png, "
            "normal/film16.png") in _warnings(result)
    stored = np.load(home / "datasets" / "films" / "arrays.npz")["images"]
    # each 16-bit film as its 8-bit twin (63 × 1000 / 257, 63 × 1020 / 257); the grey RGB ones 63 × 1000 / 300, …
    assert stored.shape == (6, 1, 8, 8) and sorted(stored.max(axis=(1, 2, 3))) == [210, 214, 245, 245, 250, 250]
