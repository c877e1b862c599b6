"""Files at a dataset folder's root, beside its class folders: listed among the skipped files with the reason the
same file gets inside a class folder."""

from __future__ import annotations

import os

from ganaug_core.dataset_sources import read_folder
from ganaug_core.datasets import IngestOptions
from ganaug_core.progress import no_progress
from tests.core.test_datasets import make_image_folder


def test_a_file_beside_the_class_folders_is_listed_as_it_is_inside_one(home, tmp_path):
    # `parts/Thumbs.db` was passed over without a word while `parts/a/Thumbs.db` was listed as not an image.
    src = make_image_folder(tmp_path / "parts", classes=("a", "b"), per_class=(3, 3))
    for folder in (src, src / "a"):
        (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
        (folder / "IMG_0002.HEIC").write_bytes(b"\0\0\0\x18ftypheic")
        (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: passed over in both places
        (folder / os.fsdecode(b"caf\xe9.txt")).write_text("x")
    (src / "stray.png").write_bytes((src / "a" / "img000.png").read_bytes())
    skipped = read_folder(src, IngestOptions(resolution=8, test_fraction=0.25), no_progress)[5]
    inside = {os.path.basename(p): why for p, why in skipped if os.path.dirname(p) == str(src / "a")}
    beside = {os.path.basename(p): why for p, why in skipped if os.path.dirname(p) == str(src)}
    assert set(inside) == {"Thumbs.db", "IMG_0002.HEIC", "caf\\udce9.txt"}
    assert beside == {**inside, "stray.png": "an image outside any class folder"}
