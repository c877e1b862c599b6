"""The Overview says what a dataset's ingest warned of (identical images, files left out): the warnings went to the
terminal of whoever ingested it, and the team reads the dataset in the app."""

from __future__ import annotations

from ganaug.datasets import ingest_dataset
from ganaug_core.datasets import IngestOptions
from tests.app.conftest import app_test
from tests.core.test_identical_images_split import noise_folder


def test_overview_names_identical_images_and_files_left_out(users, tmp_path):
    src = noise_folder(tmp_path / "src")
    (src / "a" / "empty.png").write_bytes(b"")
    ingest_dataset(str(src), "lab", IngestOptions(resolution=8, workers=1))
    at = app_test(users["rita"])
    captions = [c.value for c in at.caption]
    assert ("lab: 6 images are identical to another one (2 of them under two classes or more, 0 on both sides of "
            "the train/test split); 1 file or folder was left out at ingest. `ganaug data report` lists them "
            "(`--json`: by source path).") in captions
    assert not [c for c in captions if c.startswith("digits:")]  # the demo's digits have none


def test_overview_names_near_copies_apart_from_identical_images(users, tmp_path):
    from tests.core.test_near_copies_split import smooth_folder, with_near_copies

    src = with_near_copies(smooth_folder(tmp_path / "src"))
    ingest_dataset(str(src), "lab", IngestOptions(resolution=16, workers=1))
    captions = [c.value for c in app_test(users["rita"]).caption]
    assert ("lab: 6 images are near-copies of another one (saved again with loss, resized or a thumbnail; 0 of them "
            "on both sides of the train/test split). `ganaug data report` lists them (`--json`: by source path)."
            ) in captions


def test_overview_names_the_bit_depth_a_dataset_was_ingested_with(users, tmp_path):
    # A 12-bit camera's dataset ingested with --bit-depth 12: the team read nothing of it, and ingesting the folder
    # again without it gave nearly black images.
    from tests.cli.test_bit_depth_recorded import _twelve_bit_folder

    src = _twelve_bit_folder(tmp_path / "src")
    ingest_dataset(str(src), "cells", IngestOptions(resolution=8, workers=1, bit_depth=12))
    captions = [c.value for c in app_test(users["rita"]).caption]
    # (its gradients are near-copies of each other too: said after it)
    assert [c for c in captions if c.startswith("cells: ")][0].startswith(
        "cells: ingested with --bit-depth 12 (a 16-bit image's values scaled 4,095 → 255); 6 images are near-copies")
    assert not [c for c in captions if c.startswith("digits:")]  # not given: nothing to say
