"""Ingestion from every source: the demo profile, ImageFolder, npz — on real files, recorded in real SQLite."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from db.engine import session_scope
from db.models import Dataset, RealImage
from ganaug.datasets import dataset_arrays, dataset_report, ingest_dataset
from ganaug_core import paths
from ganaug_core.dataset_sources import stratified_test_mask
from ganaug_core.datasets import IngestOptions
from ganaug_core.imageio import sha256_file


def make_image_folder(root, classes=("crack", "ok", "scratch"), per_class=(6, 40, 4), seed=0, colour=True):
    """Real JPEG/PNG files of mixed sizes: a blob whose position depends on the class, plus noise."""
    rng = np.random.default_rng(seed)
    for c, (name, n) in enumerate(zip(classes, per_class)):
        d = root / name
        d.mkdir(parents=True)
        for i in range(n):
            w, h = int(rng.integers(40, 220)), int(rng.integers(40, 220))
            arr = rng.integers(0, 60, size=(h, w, 3), dtype=np.uint8)
            # A smooth shading of its own (from a generator apart: the sizes and names drawn above stay as they were):
            # with only the blob and noise, which a JPEG smooths away, a class's images were one picture, near-copies
            # of each other by `ganaug_core.near_copies`' measure.
            shade = np.random.default_rng([seed, c, i]).integers(0, 90, (3, 3), dtype=np.uint8)
            arr += np.asarray(Image.fromarray(shade).resize((w, h), Image.BILINEAR))[..., None]
            arr[h // 4 : h // 2, (c * w) // 4 : (c * w) // 4 + w // 4] = 230
            img = Image.fromarray(arr if colour else arr[..., 0])
            suffix = ".jpg" if i % 3 else ".png"
            img.save(d / f"img{i:03d}{suffix}")
    return root


def test_demo_profile_matches_the_documented_imbalance(home):
    ingest_dataset("demo:digits", "digits", IngestOptions())
    report = dataset_report("digits")
    train, test = report.counts["train"], report.counts["test"]
    assert [train[c] for c in "789"] == [10, 6, 4]
    assert all(train[c] > 100 for c in "0123456")
    assert all(55 <= test[c] <= 62 for c in "0123456789")  # a third held out, balanced
    assert report.minority_classes == ["7", "8", "9"]
    assert 25 <= report.imbalance_ratio <= 35


def test_demo_ingest_is_deterministic(digits_template, tmp_path, monkeypatch):
    from db.engine import dispose_engines

    shutil.copytree(digits_template, tmp_path / "home0")  # the session's own ingest (tests/conftest.py) is the first
    digests = []
    for run in range(2):
        monkeypatch.setenv("GANAUG_HOME", str(tmp_path / f"home{run}"))
        dispose_engines()
        if run:
            ingest_dataset("demo:digits", "digits", IngestOptions(resolution=16))
        with session_scope() as s:
            digests.append([(r.split, r.class_index, r.sha256) for r in s.scalars(select(RealImage).order_by(RealImage.id))])
    dispose_engines()
    assert digests[0] == digests[1]


def test_image_folder_of_mixed_sizes_is_converted_and_hashed(home, tmp_path):
    src = make_image_folder(tmp_path / "src", per_class=(60, 200, 40))
    dataset, result = ingest_dataset(str(src), "parts", IngestOptions(resolution=32, test_fraction=0.25, seed=3))
    assert dataset.class_names == ["crack", "ok", "scratch"]
    assert dataset.channels == 3 and dataset.resolution == 32
    assert len(result.images) == 300 and result.skipped == []
    report = dataset_report("parts")
    assert report.counts["test"] == {"crack": 15, "ok": 50, "scratch": 10}
    with session_scope() as s:
        rows = s.scalars(select(RealImage)).all()
    for row in rows[:: 37]:
        path = paths.resolve(row.path)
        assert sha256_file(path) == row.sha256
        assert Image.open(path).size == (32, 32)
        assert row.source_path.startswith(str(src))
    _, arrays = dataset_arrays("parts")
    assert arrays.images.shape == (300, 3, 32, 32) and arrays.images.dtype == np.uint8


def test_a_relative_source_is_recorded_as_an_absolute_path(home, tmp_path, monkeypatch):
    make_image_folder(tmp_path / "src", classes=("a", "b"), per_class=(4, 4))
    monkeypatch.chdir(tmp_path)
    dataset, result = ingest_dataset("src", "rel", IngestOptions(resolution=8))
    assert dataset.source == str(tmp_path.resolve() / "src")
    assert all(i.source_path.startswith(str(tmp_path.resolve() / "src") + "/") for i in result.images)


def test_grayscale_folder_gives_one_channel(home, tmp_path):
    src = make_image_folder(tmp_path / "src", classes=("a", "b"), per_class=(5, 5), colour=False)
    dataset, _ = ingest_dataset(str(src), "gray", IngestOptions(resolution=16))
    assert dataset.channels == 1


def test_npz_medmnist_layout_keeps_its_own_splits(home, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "med.npz"
    np.savez(
        path,
        train_images=rng.integers(0, 255, (30, 28, 28), dtype=np.uint8),
        train_labels=rng.integers(0, 3, (30, 1)),
        val_images=rng.integers(0, 255, (6, 28, 28), dtype=np.uint8),
        val_labels=rng.integers(0, 3, (6, 1)),
        test_images=rng.integers(0, 255, (9, 28, 28), dtype=np.uint8),
        test_labels=np.array([[0], [1], [2]] * 3),
    )
    ingest_dataset(str(path), "med", IngestOptions(resolution=16))
    report = dataset_report("med")
    assert sum(report.counts["train"].values()) == 30
    assert sum(report.counts["val"].values()) == 6
    assert report.counts["test"] == {"0": 3, "1": 3, "2": 3}


def test_plain_npz_pair_is_split_stratified(home, tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "plain.npz"
    np.savez(path, images=rng.integers(0, 255, (40, 3, 20, 20), dtype=np.uint8), labels=np.repeat([0, 1], 20))
    dataset, _ = ingest_dataset(str(path), "plain", IngestOptions(resolution=16, test_fraction=0.25))
    assert dataset.channels == 3
    assert dataset_report("plain").counts["test"] == {"0": 5, "1": 5}


@pytest.mark.parametrize("images, expected", [
    # 16-bit scans were clipped at 255: every image came out white, and identical
    (np.array([0, 257, 32896, 65535], np.uint16), [0, 1, 128, 255]),
    # a generator's tanh range -1..1 was clipped to 0..1: black and one grey level
    (np.array([-1.0, -0.5, 0.0, 1.0], np.float32), [0, 64, 128, 255]),
    (np.array([0.0, 0.5, 1.0, 1.0], np.float32), [0, 128, 255, 255]),
    (np.array([0, 1, 1, 0], np.int64), [0, 255, 255, 0]),  # a binary mask, as before
])
def test_npz_images_wider_than_8_bits_are_scaled_by_their_range_not_clipped(home, tmp_path, images, expected):
    path = tmp_path / "wide.npz"
    # One value per image, 8×8 each, in the MedMNIST layout: the test split is scaled as the training split is.
    imgs = np.repeat(np.repeat(images[:, None, None], 8, 1), 8, 2)
    np.savez(path, train_images=np.concatenate([imgs, imgs]), train_labels=np.array([0, 1] * 4),
             test_images=imgs[::-1].copy(), test_labels=np.array([0, 1] * 2))
    ingest_dataset(str(path), "wide", IngestOptions(resolution=8))
    arrays = dataset_arrays("wide")[1]
    train, _ = arrays.split("train")
    test, _ = arrays.split("test")
    assert train[:4, 0, 0, 0].tolist() == expected
    assert test[:, 0, 0, 0].tolist() == expected[::-1]


def test_npz_with_several_labels_per_image_is_refused(home, tmp_path):
    # A multi-label file (ChestMNIST: 14 findings per image) was ingested with its first finding as the class.
    from ganaug_core.errors import GanaugError

    path = tmp_path / "chest.npz"
    np.savez(path, train_images=np.zeros((6, 8, 8), np.uint8), train_labels=np.eye(6, 14, dtype=np.int64))
    with pytest.raises(GanaugError, match=r"train_labels holds 14 values per image \(multi-label\?\); ganaug needs "
                                          "one class label per image"):
        ingest_dataset(str(path), "chest", IngestOptions(resolution=8))
    assert not (paths.datasets_dir() / "chest").exists()


def test_npz_labels_far_apart_are_renumbered_without_a_table_the_size_of_the_largest(home, tmp_path):
    # Labels [0, 2**62]: the renumbering allocated a table indexed by label value and crashed with a traceback
    # (at [0, 2**40] it asked for 8 TiB).
    from ganaug_core.errors import GanaugError

    path = tmp_path / "far.npz"
    images = np.random.default_rng(0).integers(0, 255, (8, 8, 8), dtype=np.uint8)
    np.savez(path, images=images, labels=np.array([2**62, 0] * 4, dtype=np.int64))
    dataset, _ = ingest_dataset(str(path), "far", IngestOptions(resolution=8))
    assert dataset.class_names == ["0", str(2**62)]
    labels = dataset_arrays("far")[1].labels
    assert sorted(labels.tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]
    for bad in (np.array([-1, 0] * 4), np.array([0.5, 1.0] * 4), np.array([2**64 - 1, 0] * 4, dtype=np.uint64)):
        np.savez(path, images=images, labels=bad)
        with pytest.raises(GanaugError, match=r"labels must hold non-negative integer class labels$"):
            ingest_dataset(str(path), "bad", IngestOptions(resolution=8))


def test_an_npz_whose_arrays_declare_more_than_the_limit_is_refused_before_loading(home, tmp_path):
    # A 2.5 MB compressed .npz inflated to 2.6 GB: nothing bounded the total. The .npy headers declare each array's
    # shape and dtype; this file declares 4.6 GiB of images but holds a few bytes (it would fail to load anyway,
    # after allocating them).
    import zipfile

    from ganaug_core.npz_source import NPZ_MAX_BYTES
    from ganaug_core.errors import GanaugError

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("images.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False,
                                                     "shape": (100_000, 3, 128, 128)})
            f.write(b"\0" * 64)
        with zf.open("labels.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros(100_000, dtype=np.int64))
    assert path.stat().st_size < 10_000 and 100_000 * 3 * 128 * 128 > NPZ_MAX_BYTES
    with pytest.raises(GanaugError, match=r"^refusing .*bomb.npz: its arrays take 4.6 GiB once loaded \(images: "
                                          r"\(100000, 3, 128, 128\) uint8, 4.6 GiB\), above the 2.0 GiB limit"):
        ingest_dataset(str(path), "bomb", IngestOptions(resolution=8))
    assert not (paths.datasets_dir() / "bomb").exists()


def test_an_npz_array_smuggled_beside_its_checked_namesake_is_refused(home, tmp_path, monkeypatch):
    # np.load's data["images"] reads a member "images" before "images.npy"; only "images.npy" was size-checked, so a
    # 4 MB file declaring 20 images there and holding 1,000,000 in "images" took 4 GB (a traceback, exit 70, after).
    import zipfile

    from ganaug_core import npz_source
    from ganaug_core.errors import GanaugError

    monkeypatch.setattr(npz_source, "NPZ_MAX_BYTES", 10_000)  # the same attack at 1/200,000 of the size
    path = tmp_path / "smuggled.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in (("images.npy", np.zeros((20, 8, 8), np.uint8)), ("labels.npy", np.arange(20) % 2),
                            ("images", np.zeros((200, 8, 8), np.uint8))):
            with zf.open(name, "w") as f:
                np.lib.format.write_array(f, array)
    with pytest.raises(GanaugError, match=r"smuggled.npz holds two members named 'images' \(with and without "):
        ingest_dataset(str(path), "smuggled", IngestOptions(resolution=8))
    assert not (paths.datasets_dir() / "smuggled").exists()


def test_links_are_followed_once_and_said_and_never_into_a_folder_that_holds_them(home, tmp_path):
    # A class folder linked to the dataset's parent became a class of everything under it (linked to /, it walked
    # the whole disk); links to files outside were ingested without a word, and links inside a class folder were
    # never followed, though links are a way to assemble a dataset.
    from ganaug_core.dataset_sources import read_folder
    from ganaug_core.progress import no_progress

    src, store = tmp_path / "src", tmp_path / "store"
    make_image_folder(src, classes=("a", "c"), per_class=(6, 3))
    make_image_folder(store, classes=("b",), per_class=(4,), seed=1)
    shutil.copy(src / "a" / "img001.jpg", store / "loose.jpg")
    (src / "b").symlink_to(store / "b", target_is_directory=True)  # a class kept elsewhere: followed
    (src / "a" / "extra.jpg").symlink_to(store / "loose.jpg")  # an image kept elsewhere: followed
    (src / "all").symlink_to(tmp_path, target_is_directory=True)  # holds the dataset: a loop
    (src / "d").symlink_to(store / "b", target_is_directory=True)  # a second way to the same folder
    (src / "a" / "sibling").symlink_to(src / "c", target_is_directory=True)  # inside the dataset
    (store / "b" / "back").symlink_to(store, target_is_directory=True)  # holds the folder the link is in
    (src / "c" / "store").symlink_to(store, target_is_directory=True)  # holds a folder walked already
    links, options = [], IngestOptions(resolution=8, test_fraction=0.25)
    _, labels, _, sources, names, skipped, _, _ = read_folder(src, options, no_progress, links)
    assert names == ["a", "b", "c"] and np.bincount(labels).tolist() == [7, 4, 3]
    assert str(src / "a" / "extra.jpg") in sources and str(src / "b" / "img000.png") in sources
    assert links == [(str(src / "b"), str(store / "b")), (str(src / "a" / "extra.jpg"), str(store / "loose.jpg"))]
    assert dict(skipped) == {
        str(src / "all"): f"a link to {tmp_path}, which holds the dataset itself: not followed (a loop; at / the "
                          "whole disk)",
        str(src / "d"): f"a link to {store / 'b'}, which another link led to already: not followed (walked once)",
        str(src / "a" / "sibling"): f"a link to {src / 'c'}, inside the dataset: not followed (its images are "
                                    "ingested where they lie)",
        str(src / "b" / "back"): f"a link to {store}, which holds the folder the link is in: not followed (a loop)",
        str(src / "c" / "store"): f"a link to {store}, which holds {store / 'b'}, where another link led already: not "
                                  "followed (walked once)",
    }


def test_stratified_split_is_seeded_and_keeps_both_sides():
    labels = np.array([0] * 10 + [1] * 2 + [2] * 1)
    a, b = stratified_test_mask(labels, 0.3, 7), stratified_test_mask(labels, 0.3, 7)
    assert (a == b).all()
    assert a[:10].sum() == 3 and a[10:12].sum() == 1 and a[12:].sum() == 0
    # However large the fraction, every class keeps a training image; a class of one keeps its only one.
    big = stratified_test_mask(labels, 0.6, 7)
    assert big[:10].sum() == 6 and big[10:12].sum() == 1 and big[12:].sum() == 0


def test_exif_rotation_is_applied_and_wide_images_keep_a_fixed_scale(tmp_path):
    from ganaug_core.imageio import load_image

    top_white = np.zeros((8, 8), np.uint8)
    top_white[:4] = 255
    im = Image.fromarray(top_white)
    exif = im.getexif()
    exif[0x0112] = 3  # the camera was upside down: viewers rotate by 180°
    im.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    assert (load_image(tmp_path / "rotated.jpg", 8, 1)[0, :, 0] > 128).tolist() == [False] * 4 + [True] * 4
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(tmp_path / "white16.png")
    assert (load_image(tmp_path / "white16.png", 8, 1) == 255).all()  # a per-image stretch made it black
    Image.fromarray((np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)).save(tmp_path / "dark16.png")
    assert load_image(tmp_path / "dark16.png", 8, 1).max() == 245  # 63,000 / 257, not stretched to 255
    f = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    f[0, 0] = np.nan
    Image.fromarray(f, "F").save(tmp_path / "unit.tif")
    unit = load_image(tmp_path / "unit.tif", 8, 1)
    assert unit[0, 0, 0] == 0 and unit.max() == 255


def test_transparent_pixels_are_black_whatever_colour_the_file_stores_under_them(tmp_path):
    from PIL import Image

    from ganaug_core.imageio import load_image

    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red stored everywhere, visible nowhere: alpha 0 on the left half
    rgba[:, 4:] = (255, 255, 255, 255)  # opaque white on the right half
    rgba[:, 6:, 3] = 128  # half transparent on the last two columns
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    colour = load_image(tmp_path / "rgba.png", 8, 3)
    assert (colour[:, :, :4] == 0).all() and (colour[:, :, 4:6] == 255).all() and (colour[:, :, 6:] == 128).all()
    gray = load_image(tmp_path / "rgba.png", 8, 1)[0]
    assert (gray[:, :4] == 0).all() and (gray[:, 4:6] == 255).all() and (gray[:, 6:] == 128).all()

    la = np.stack([np.full((8, 8), 200, np.uint8), np.tile(np.array([0, 255] * 4, np.uint8), (8, 1))], -1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert load_image(tmp_path / "la.png", 8, 1)[0, 0].tolist() == [0, 200] * 4

    palette = Image.fromarray(np.tile(np.array([0, 1], np.uint8), (8, 4)), "P")
    palette.putpalette([255, 0, 0, 0, 255, 0])  # index 0 red, 1 green; index 0 is the transparent colour
    palette.save(tmp_path / "palette.png", transparency=0)
    assert load_image(tmp_path / "palette.png", 8, 3)[:, 0, :2].T.tolist() == [[0, 0, 0], [0, 255, 0]]


def test_arrays_tampered_after_ingest_are_refused(home):
    ingest_dataset("demo:digits", "digits", IngestOptions(resolution=8))
    with session_scope() as s:
        folder = paths.resolve(s.scalars(select(Dataset.path)).one())
    np.savez(folder / "arrays.npz", images=np.zeros((1, 1, 8, 8), np.uint8), labels=np.zeros(1), splits=np.array(["train"]))
    from ganaug_core.errors import GanaugError

    with pytest.raises(GanaugError, match="does not match the sha256 recorded at ingestion"):
        dataset_arrays("digits")


def test_a_dataset_deleted_from_disk_is_named_gone_not_tampered(home, tmp_path):
    # Its folder removed after ingest, training said "arrays.npz is missing or does not match its recorded sha256":
    # the user could not tell a deleted dataset from a changed file.
    from ganaug_core.errors import GanaugError

    ingest_dataset(str(make_image_folder(tmp_path / "src", per_class=(3, 4, 2))), "parts", IngestOptions(resolution=8))
    folder = paths.datasets_dir() / "parts"
    (folder / "arrays.npz").unlink()
    with pytest.raises(GanaugError, match=r"arrays.npz is missing: put it back, or ingest the source again"):
        dataset_arrays("parts")
    shutil.rmtree(folder)
    with pytest.raises(GanaugError, match=r"^dataset 'parts': its folder .*parts is gone \(deleted or moved\?\)"):
        dataset_arrays("parts")


def test_images_are_shown_at_whole_multiples_of_their_side_near_the_size_asked():
    from ganaug_core.imageio import shown_px

    # The review page's tile (112 px), neighbours (96 px) and opened sample (160 px): the digits' sides keep their
    # sizes; a 64² colour image was scaled 1.75×, 1.5× and 2.5×, a 128² one shrunk (rows dropped).
    assert [shown_px(112, s) for s in (8, 16, 32, 48, 64, 128, 224)] == [112, 112, 128, 96, 128, 128, 224]
    assert [shown_px(96, s) for s in (16, 32, 64, 128)] == [96, 96, 128, 128]
    assert [shown_px(160, s) for s in (16, 32, 64, 128)] == [160, 160, 192, 128]
    assert [shown_px(112, s) for s in (224, 225, 512, 1024)] == [224, 112, 112, 112]  # averaged down to fit a page


def test_colour_files_holding_only_greys_give_one_channel(home, tmp_path):
    # X-rays saved as RGB JPEGs and greyscale GIFs (always palette images) were stored with three equal channels.
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "src" / c).mkdir(parents=True)
        for i in range(3):
            grey = rng.integers(0, 256, (12, 12), dtype=np.uint8)
            Image.fromarray(np.stack([grey] * 3, -1)).save(tmp_path / "src" / c / f"{i}.jpg", quality=90)
            Image.fromarray(grey).save(tmp_path / "src" / c / f"{i}.gif")
    dataset, _ = ingest_dataset(str(tmp_path / "src"), "xray", IngestOptions(resolution=8))
    assert dataset.channels == 1
    assert ingest_dataset(str(tmp_path / "src"), "asked", IngestOptions(resolution=8, channels=3))[0].channels == 3
    Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(tmp_path / "src" / "a" / "colour.png")
    assert ingest_dataset(str(tmp_path / "src"), "mixed", IngestOptions(resolution=8))[0].channels == 3


def test_a_ganaug_home_inside_the_source_is_passed_over_and_said(home, tmp_path):
    # `GANAUG_HOME=./home ganaug data ingest .` twice: the second ingest took the home's stored PNGs for a class
    # named "home"; so did a folder holding another home's ganaug.db, beside the classes or inside one.
    from ganaug_core.errors import GanaugError

    assert home.parent == tmp_path
    make_image_folder(tmp_path, classes=("a", "b"), per_class=(4, 4))
    ingest_dataset(str(tmp_path), "first", IngestOptions(resolution=8))  # the home now holds its PNGs
    for other in (tmp_path / "old-home", tmp_path / "a" / "backup"):
        make_image_folder(other, classes=("x",), per_class=(3,))
        (other / "ganaug.db").write_bytes(b"")
    dataset, result = ingest_dataset(str(tmp_path), "second", IngestOptions(resolution=8))
    assert dataset.class_names == ["a", "b"] and len(result.images) == 8
    reasons = dict(result.skipped)
    assert reasons[str(home)].startswith("the current GANAUG_HOME")
    for other in (tmp_path / "old-home", tmp_path / "a" / "backup"):
        assert reasons[str(other)].startswith("a ganaug home (it holds ganaug.db")
    assert not any("/x/" in path for path, _ in result.skipped)  # the homes' files are not listed one by one
    with pytest.raises(GanaugError, match=r"is a ganaug home, not a dataset"):
        ingest_dataset(str(home), "itself", IngestOptions(resolution=8))
