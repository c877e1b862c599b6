"""An export as a data scientist's own training script reads it, on a machine without ganaug: which file each row
is, where a sample came from, how imbalanced the set still is, folders in class order, and clear refusals."""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import pathlib

import pytest

from db.engine import session_scope
from db.models import Sample
from tests.cli.helpers import ok_json, refused, run
from tests.db.helpers import make_batch, make_dataset, sample_ids


ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password"}


@pytest.fixture
def toy(home):
    """Dataset 'toy' (6 + 3 real training images, 2 + 2 test): an approved batch of 4 samples of class 1, one of
    them rejected, a revoked batch of 2 and a pending one of 2."""
    with session_scope() as s:
        toy = make_dataset(s, home)
        approved, revoked, pending = (make_batch(s, home, toy, n=n, seed=seed).id
                                      for n, seed in ((4, 7), (2, 8), (2, 9)))
        s.get(Sample, sample_ids(s, approved)[1]).seed = 123456789  # a seed of its own, found again in images.csv
        rejected = sample_ids(s, approved)[0]
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    ok_json("review", "reject-sample", rejected, "--reason", "smeared", env=ADA)
    for batch in (approved, revoked):
        ok_json("review", "approve", batch, env=ADA)
    ok_json("review", "revoke", revoked, "--reason", "wrong class", env=ADA)
    return dict(approved=approved, revoked=revoked, pending=pending, rejected=rejected)


def _rows(path: pathlib.Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_images_csv_names_each_file_of_the_folder_and_where_a_sample_came_from(toy, home, tmp_path):
    # The manifest's paths are the sources' under GANAUG_HOME: a script that opened them in the folder found none.
    out = tmp_path / "gated"
    ok_json("export", "--dataset", "toy", "--out", out)
    images, manifest = _rows(out / "images.csv"), _rows(out / "manifest.csv")
    assert [(r["sha256"], r["class_index"], r["source"], r["batch_id"]) for r in images] == [
        (r["sha256"], r["class_index"], r["source"], r["batch_id"]) for r in manifest]
    for r in images:  # relative to the folder, and the bytes the sha256 names
        assert hashlib.sha256((out / r["file"]).read_bytes()).hexdigest() == r["sha256"]
    assert sorted(r["file"] for r in images) == sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert {(r["class_index"], r["class_name"], r["source"]) for r in images} == {
        ("0", "c0", "real"), ("1", "c1", "real"), ("1", "c1", "synthetic")}
    assert all(r["batch_id"] == r["run_id"] == r["checkpoint_sha256"] == r["seed"] == ""
               for r in images if r["source"] == "real")
    synthetic = [r for r in images if r["source"] == "synthetic"]
    with session_scope() as s:
        seeds = {sid: s.get(Sample, sid).seed for sid in sample_ids(s, toy["approved"])}
    assert [(r["batch_id"], r["run_id"], r["checkpoint_sha256"], r["seed"]) for r in synthetic] == [
        (str(toy["approved"]), "1", "k" * 64, str(seeds[sid])) for sid in sorted(seeds)[1:]]  # the rejected one: out
    assert "123456789" in {r["seed"] for r in synthetic}
    assert (len(images), len(synthetic)) == (12, 3)  # 9 real, no test image, nothing revoked, pending or rejected


def test_export_says_how_imbalanced_the_set_still_is(toy, tmp_path):
    summary = ok_json("export", "--dataset", "toy", "--out", tmp_path / "a", "--ratio", "0.5")
    assert summary["imbalance"] == {"before": 2.0, "after": 1.5}  # 6:3 real; 6:(3 + 1): the ratio admits one sample
    text = run("export", "--dataset", "toy", "--out", tmp_path / "b").stdout
    assert "imbalance (largest/smallest class): 2 in the real training images, 1 in this set\n" in text


def test_export_prints_a_line_per_class_and_of_many_classes_those_given_samples(toy, home, tmp_path):
    # Every class's counts were one line: "(class 0 (c0): 6 real + 0 synthetic, class 1 (c1): …)", 100 classes long.
    out = tmp_path / "two"
    lines = run("export", "--dataset", "toy", "--out", out).stdout.splitlines()
    assert lines[:4] == [f"exported 12 images to {out}: 9 real + 3 synthetic",
                         "  real  synthetic  class",
                         "     6          0  0 (c0)",
                         "     3          3  1 (c1)"]
    with session_scope() as s:
        many = make_dataset(s, home, name="many", train=(2,) * 99 + (1,), test=(0,) * 100)
        batch = make_batch(s, home, many, class_index=57, n=2).id
    ok_json("review", "approve", batch, env=ADA)
    lines = run("export", "--dataset", "many", "--out", tmp_path / "hundred").stdout.splitlines()
    assert lines[:4] == [f"exported 201 images to {tmp_path / 'hundred'}: 199 real + 2 synthetic",
                         "  real  synthetic  class",
                         "     2          2  57 (c57)",
                         "  … 99 more classes: real images only, 197 in all (`--json` lists every class)"]
    assert len(ok_json("export", "--dataset", "many", "--out", tmp_path / "json")["counts"]) == 100


def test_every_file_and_folder_of_an_export_is_its_owners_only(toy, tmp_path):
    # The export folder was 0700, but its class folders 0755 and images 0644: a class folder moved out of it showed
    # its images, patients' perhaps, to every account of the machine.
    out = tmp_path / "gated"
    ok_json("export", "--dataset", "toy", "--out", out, env=ADA)
    modes = {p.relative_to(out).as_posix(): p.stat().st_mode & 0o777 for p in out.rglob("*")}
    assert {"001_c1", "manifest.csv", "images.csv", "manifest.sha256", "log_head.txt", "export_event.txt"} <= set(modes)
    assert len([name for name in modes if name.endswith(".png")]) == 12
    assert {name: mode for name, mode in modes.items() if mode != (0o700 if (out / name).is_dir() else 0o600)} == {}
    assert out.stat().st_mode & 0o777 == 0o700


def test_class_folders_sort_in_class_order_past_a_thousand_classes(home, tmp_path):
    # `1000_c1000` sorted before `100_c100`: an ImageFolder reader numbered the classes past 99 wrongly.
    with session_scope() as s:
        make_dataset(s, home, name="many", train=(1,) * 1001, test=(0,) * 1001)
    ok_json("export", "--dataset", "many", "--out", tmp_path / "out")
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert folders[:2] == ["0000_c0", "0001_c1"] and folders[-1] == "1000_c1000"
    assert [int(name.split("_")[0]) for name in folders] == list(range(1001))


def test_a_full_disk_is_said_of_the_out_folder_and_leaves_nothing(toy, tmp_path, monkeypatch):
    import ganaug.export

    write_private = ganaug.export._write_private

    def full_disk(path, data):
        if ".gated.partial-" in str(path) and path.suffix == ".csv":  # the images fit, the manifest does not
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_private(path, data)

    monkeypatch.setattr(ganaug.export, "_write_private", full_disk)
    out = tmp_path / "gated"
    assert refused("export", "--dataset", "toy", "--out", out) == (
        f"error: --out {out}: No space left on device while writing the export; nothing was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_a_disk_too_small_is_refused_before_anything_is_copied_saying_the_room_needed_and_free(toy, tmp_path,
                                                                                                 monkeypatch):
    # It copied every image it had room for, then failed on the next: "No space left on device", nothing on how much
    # room the export needed or how much the disk had.
    import ganaug.export

    statvfs, copied = os.statvfs, []
    out = tmp_path / "gated"

    def a_nearly_full_disk(path):
        real = statvfs(path)
        if pathlib.Path(path) != tmp_path:
            return real
        return os.statvfs_result((real.f_bsize, 4096, 100_000, 12_000, 12_000) + tuple(real)[5:])  # 49 MB free

    monkeypatch.setattr(os, "statvfs", a_nearly_full_disk)
    monkeypatch.setattr(ganaug.export, "_write_private", lambda path, data: copied.append(path))
    assert refused("export", "--dataset", "toy", "--out", out) == (
        f"error: --out {out}: its disk has 49.2 MB free, and this export of 12 images needs about 64.1 MB, 64.0 MB to "
        "spare included; nothing was written: free space on that disk or choose an --out on another one")
    assert copied == [] and sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    # On another disk than the home's (a USB stick), the home's spare is not asked of it.
    stat = os.stat

    def another_disk(path, *args, **kwargs):
        real = stat(path, *args, **kwargs)
        return os.stat_result(tuple(real)[:2] + (real.st_dev + 1,) + tuple(real)[3:]) if path == tmp_path else real

    monkeypatch.setattr(os, "stat", another_disk)
    monkeypatch.setattr(os, "statvfs", lambda path: os.statvfs_result((4096, 4096, 100_000, 5, 5) + (0,) * 6))
    assert refused("export", "--dataset", "toy", "--out", out) == (
        f"error: --out {out}: its disk has 20.5 kB free, and this export of 12 images needs about 55.3 kB; nothing was "
        "written: free space on that disk or choose an --out on another one")


def test_a_mount_point_as_out_is_refused_before_anything_is_copied(toy, tmp_path, monkeypatch):
    # An empty mounted disk cannot be renamed over: the export copied every image beside it, then failed with
    # "Device or resource busy".
    out = tmp_path / "usb"
    out.mkdir()
    is_mount = pathlib.Path.is_mount
    monkeypatch.setattr(pathlib.Path, "is_mount", lambda self: self == out or is_mount(self))
    assert refused("export", "--dataset", "toy", "--out", out) == (
        f"error: --out {out} is a mount point: the export is assembled beside its folder and renamed into place; "
        f"give a new folder inside it, e.g. --out {out / 'gated'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "usb"] and not any(out.iterdir())
