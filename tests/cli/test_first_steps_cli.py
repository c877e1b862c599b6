"""A new user's first commands on their own folder: empty lists that name the next command, and the two folder
layouts people try first (one class's folder, a folder of train/ and test/) refused before anything is written."""

from __future__ import annotations

from tests.cli.helpers import assert_bad_input, ganaug
from tests.cli.test_data_cli import assert_nothing_written
from tests.core.test_datasets import make_image_folder


def test_empty_lists_name_the_command_that_fills_them(home):
    # They said "no users yet", "no runs" and offered only the demo dataset.
    assert ganaug("users", "list").output.strip() == (
        "no users yet: the first is an admin, `ganaug users add NAME --role admin`")
    assert ganaug("runs", "list").output.strip() == "no runs yet: `ganaug train --dataset NAME --minutes 2`"
    datasets = ganaug("data", "list").output.strip()
    assert datasets.startswith("no datasets yet: `ganaug data ingest FOLDER --name NAME` (one sub-folder of images")
    assert ganaug("users", "list", "--json").output.strip().replace(" ", "").replace("\n", "") == '{"users":[]}'


def test_the_folder_of_one_class_says_the_images_need_class_folders(home, tmp_path):
    src = make_image_folder(tmp_path / "src", classes=("crack", "ok"), per_class=(4, 6))
    result = ganaug("data", "ingest", src / "ok", "--name", "x")
    # It said "no images found in .../ok", of a folder holding 6 images.
    assert_bad_input(result, f"the 6 images in {src / 'ok'} are in no class folder", "one sub-folder of images per class")
    assert_nothing_written(home)


def test_a_folder_of_splits_is_refused_and_its_training_folder_named(home, tmp_path):
    for split, n in (("train", (4, 6)), ("test", (2, 2)), ("val", (2, 2))):
        make_image_folder(tmp_path / "src" / split, classes=("crack", "ok"), per_class=n)
    result = ganaug("data", "ingest", tmp_path / "src", "--name", "x")
    # It was ingested as three classes named test, train and val, each holding both real classes.
    assert_bad_input(result, f"the folders in {tmp_path / 'src'} (test, train, val) are splits, not classes",
                     f"ingest {tmp_path / 'src' / 'train'}, whose sub-folders are the classes")
    assert_nothing_written(home)
    fine = ganaug("data", "ingest", tmp_path / "src" / "train", "--name", "x")
    assert fine.exit_code == 0, fine.output
    assert "ingested 10 images into dataset 'x'" in fine.output


def test_class_folders_that_only_sound_like_splits_are_classes(home, tmp_path):
    src = make_image_folder(tmp_path / "src", classes=("test", "train", "tram"), per_class=(4, 4, 4))
    result = ganaug("data", "ingest", src, "--name", "vehicles")  # one class that is no split name: all classes
    assert result.exit_code == 0, result.output


def test_a_download_of_splits_beside_an_annotations_folder_is_refused_too(home, tmp_path):
    # train/ and test/ beside annotations/ (no images): it was ingested as two classes named test and train.
    for split, n in (("train", (4, 6)), ("test", (2, 2))):
        make_image_folder(tmp_path / "src" / split, classes=("crack", "ok"), per_class=n)
    (tmp_path / "src" / "annotations").mkdir()
    (tmp_path / "src" / "annotations" / "train.json").write_text("{}")
    result = ganaug("data", "ingest", tmp_path / "src", "--name", "x")
    assert_bad_input(result, f"the folders in {tmp_path / 'src'} (test, train) are splits, not classes",
                     f"ingest {tmp_path / 'src' / 'train'}, whose sub-folders are the classes")
    assert_nothing_written(home)
