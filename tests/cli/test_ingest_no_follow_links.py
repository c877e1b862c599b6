"""`ganaug data ingest --no-follow-links`: a folder handed over whose links are not to be trusted."""

from __future__ import annotations

import json

from tests.cli.helpers import assert_bad_input, ganaug
from tests.cli.test_data_cli import assert_nothing_written
from tests.core.test_datasets import make_image_folder


def test_no_follow_links_passes_over_every_link_lists_it_and_ingests_the_rest(home, tmp_path):
    # Links were always followed: a dataset folder with a link to /etc or to another patients' store had those
    # images ingested and shown to reviewers, and a security officer had no way to say no.
    src = make_image_folder(tmp_path / "src", classes=("a", "c"), per_class=(6, 3))
    store = make_image_folder(tmp_path / "store", classes=("b",), per_class=(4,), seed=1).resolve()
    (src / "b").symlink_to(store / "b", target_is_directory=True)  # a class folder kept elsewhere
    (src / "a" / "extra.png").symlink_to(store / "b" / "img000.png")  # an image kept elsewhere
    (src / "c" / "other").symlink_to(store, target_is_directory=True)  # a folder inside a class folder
    (src / "c" / "same.jpg").symlink_to(src / "c" / "img001.jpg")  # a link to an image of the dataset itself
    out = json.loads(ganaug("data", "ingest", src, "--name", "x", "--resolution", "8", "--no-follow-links",
                            "--json").stdout)
    assert out["images"] == 9 and out["links"] == []
    assert {s["path"]: s["reason"] for s in out["skipped"]} == {
        str(src / "b"): f"a link to {store / 'b'}: not followed (--no-follow-links)",
        str(src / "a" / "extra.png"): f"a link to {store / 'b' / 'img000.png'}: not followed (--no-follow-links)",
        str(src / "c" / "other"): f"a link to {store}: not followed (--no-follow-links)",
        str(src / "c" / "same.jpg"): f"a link to {(src / 'c' / 'img001.jpg').resolve()}: not followed "
                                     "(--no-follow-links)",
    }
    assert sorted(out["report"]["class_names"]) == ["a", "c"]
    text = ganaug("data", "ingest", src, "--name", "y", "--resolution", "8", "--no-follow-links")
    assert text.exit_code == 0, text.output
    assert f"  {src / 'b'}: a link to {store / 'b'}: not followed (--no-follow-links)" in text.stdout
    assert "followed 1 link" not in text.stdout
    # Without the option the same folder's links are followed, as before.
    followed = json.loads(ganaug("data", "ingest", src, "--name", "z", "--resolution", "8", "--json").stdout)
    assert followed["images"] > 9 and followed["links"]


def test_a_folder_whose_class_folders_are_all_links_is_refused_naming_them(home, tmp_path):
    store = make_image_folder(tmp_path / "store", classes=("a", "b"), per_class=(4, 4))
    src = tmp_path / "src"
    src.mkdir()
    for c in ("a", "b"):
        (src / c).symlink_to(store / c, target_is_directory=True)
    result = ganaug("data", "ingest", src, "--name", "x", "--resolution", "8", "--no-follow-links")
    assert_bad_input(result, f"no images found in {src} (2 links passed over: --no-follow-links): expected one "
                             "sub-folder")
    assert_nothing_written(home)


def test_help_says_what_no_follow_links_does():
    result = ganaug("data", "ingest", "--help")
    said = " ".join(result.stdout.replace("│", " ").split())  # rich wraps option help inside a box
    assert "--no-follow-links" in said and "links to files and to folders are passed over and listed" in said
