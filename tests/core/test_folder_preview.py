"""The app's preview of a folder before its ingest (`ganaug_core.folder_preview`): class folders and image files counted
by name, what the ingest would pass over, and the refusals, without decoding an image."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganaug_core.errors import GanaugError
from ganaug_core.folder_preview import preview_folder, source_refusal


def touch(path, data=b"not decoded"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_classes_are_counted_by_file_name_and_links_are_said(tmp_path, home):
    root = tmp_path / "src"
    for name in ("a/1.png", "a/deep/2.JPG", "a/notes.txt", "b/1.tif", ".hidden/1.png", "loose.png"):
        touch(root / name)
    touch(tmp_path / "elsewhere" / "1.png")
    (root / "c").symlink_to(tmp_path / "elsewhere")
    (root / "a" / "3.png").symlink_to("x" * 300)  # a name too long to look up: it stopped the preview and the ingest
    found = preview_folder(str(root))
    assert found.classes == [("a", 2), ("b", 1), ("c", 1)] and found.images == 4 and found.loose == 1
    assert (str(root / "a" / "3.png"), "cannot be read (File name too long)") in found.passed_over
    not_followed = preview_folder(str(root), follow_links=False)
    assert not_followed.classes == [("a", 2), ("b", 1)]
    # In the form's words (its checkbox), not the CLI's flag: the clinic using the app never opens a shell.
    assert [p for p, why in not_followed.passed_over if "not followed (Follow links is unticked)" in why] == [
        str(root / "c")]
    assert not any("--no-follow-links" in why for _, why in not_followed.passed_over)


def test_a_home_inside_is_passed_over_and_the_homes_own_folders_are_refused(tmp_path, home):
    root = tmp_path / "src"
    touch(root / "a" / "1.png")
    touch(root / "b" / "1.png")
    touch(root / "old-home" / "ganaug.db")
    touch(root / "old-home" / "batches" / "1.png")
    found = preview_folder(str(root))
    assert [c for c, _ in found.classes] == ["a", "b"]
    assert found.passed_over[0][0] == str(root / "old-home") and "a ganaug home" in found.passed_over[0][1]
    (home / "runs" / "000001").mkdir(parents=True)
    assert "which ganaug writes itself" in source_refusal(str(home / "runs" / "000001"))
    assert "which ganaug writes itself" in source_refusal(str(home))
    for system in ("/", "/proc", "/proc/self", "/sys", "/dev"):  # the whole disk, every process: minutes of preview
        assert source_refusal(system) == (f"{system} is a system folder, not a dataset: give the folder that holds "
                                          "one sub-folder of images per class")
    if Path("/dev/shm").is_dir():  # a tmpfs where datasets are staged: refused as "a system folder" on the day's review
        assert "system folder" not in (source_refusal("/dev/shm") or "")


def test_splits_and_a_class_folder_alone_are_refused(tmp_path, home):
    for split in ("train", "test"):
        touch(tmp_path / "splits" / split / "cat" / "1.png")
        touch(tmp_path / "splits" / split / "2.png")
    with pytest.raises(GanaugError, match=r"\(test, train\) are splits, not classes"):
        preview_folder(str(tmp_path / "splits"))
    touch(tmp_path / "one" / "1.png")
    with pytest.raises(GanaugError, match="holds no class folders: its 1 image is in no class folder"):
        preview_folder(str(tmp_path / "one"))


def test_ingest_roots_limit_the_apps_folders_after_resolving_links_and_the_job_asks_again(tmp_path, home, monkeypatch):
    """An app admin could ingest any folder the server's account reads (/home/*); GANAUG_INGEST_ROOTS limits it."""
    from ganaug.job_handlers import ingest

    allowed, other = tmp_path / "data", tmp_path / "patients"
    for root in (allowed / "pets", other):
        touch(root / "a" / "1.png")
        touch(root / "b" / "1.png")
    (allowed / "shortcut").symlink_to(other)
    assert source_refusal(str(other)) is None  # unset: any folder the server reads, as before
    monkeypatch.setenv("GANAUG_INGEST_ROOTS", f"/nowhere/at/all:{allowed}")
    assert preview_folder(str(allowed / "pets")).images == 2
    # Links inside an allowed folder are judged where they lead too: a class folder and an image that linked outside
    # were read all the same (the roots were asked of the dataset's folder only).
    (allowed / "pets" / "c").symlink_to(other / "a")
    (allowed / "pets" / "b" / "2.png").symlink_to(other / "b" / "1.png")
    seen = preview_folder(str(allowed / "pets"))
    assert (seen.images, seen.links) == (2, [])
    assert [p for p in seen.passed_over if "outside GANAUG_INGEST_ROOTS" in p[1]] == [
        (str(allowed / "pets" / "b" / "2.png"), "a link that leads outside GANAUG_INGEST_ROOTS: not followed"),
        (str(allowed / "pets" / "c"), "a link that leads outside GANAUG_INGEST_ROOTS: not followed")]
    # With "Follow links" unticked too, where they lead is not said ("a link to /…/patients/a: not followed").
    unfollowed = preview_folder(str(allowed / "pets"), follow_links=False)
    assert not [p for p in unfollowed.passed_over if str(other) in p[1]], unfollowed.passed_over
    said = "lies outside the folders this server ingests from"
    roots = f"(/nowhere/at/all, {allowed}: GANAUG_INGEST_ROOTS): give a folder inside one of them"
    # Said before anything is looked up: whether a folder outside exists is not told.
    assert source_refusal(str(other / "nowhere")) == f"{other / 'nowhere'} {said} {roots}"
    assert source_refusal(str(allowed / "shortcut")) == f"{allowed / 'shortcut'} {said} through a link {roots}"
    # The job asks again when it starts: a folder the form passed may be a link by then.
    with pytest.raises(GanaugError, match=f"{said} through a link"):
        ingest({"source": str(allowed / "shortcut"), "dataset": "pets"}, lambda p: None, lambda: False)
    for root in ("data", "~nosuchuser/data"):  # ~ is each account's own: the app's and a worker's may differ
        monkeypatch.setenv("GANAUG_INGEST_ROOTS", root)
        assert source_refusal(str(allowed / "pets")) == (
            f"GANAUG_INGEST_ROOTS must list absolute folders separated by ':', got {root!r}: no folder is ingested "
            "from the app until the server's admin sets it right")
