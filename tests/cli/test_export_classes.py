"""An export's classes.csv: every class of the dataset with its name, folder and counts. A training script had only
images.csv, which names the classes that have images, and the folders, which an ImageFolder reader numbers as it finds
them: a class with no image in the set (an .npz class held out whole) left the output layer one class short and every
later label shifted, with nothing in the folder to size it by but a warning printed once."""

from __future__ import annotations

import csv
import hashlib

import pytest

from db.engine import session_scope
from tests.cli.helpers import ok_json, run
from tests.db.helpers import make_batch, make_dataset

ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password", "GANAUG_ADMIN_PASSWORD": "ada-password"}


@pytest.fixture
def exported(home, tmp_path):
    """Dataset 'toy' of 3 classes, class 2 in its test split only, with an approved batch of 3 samples of class 1,
    exported by ada."""
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    checkpoint = home / "runs" / "1" / "checkpoints" / "checkpoint-0000002.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"the generator's weights")
    with session_scope() as s:
        batch = make_batch(s, home, make_dataset(s, home, train=(6, 3, 0), test=(2, 2, 2)), n=3)
        batch.checkpoint_sha256 = batch.run.checkpoint_sha256 = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
        batch.run.checkpoint_path = "runs/1/checkpoints/checkpoint-0000002.pt"
        batch_id = batch.id
    ok_json("review", "approve", batch_id, env=ADA)
    out = tmp_path / "gated"
    summary = ok_json("export", "--dataset", "toy", "--out", out, env=ADA)
    return out, summary


def test_classes_csv_lists_every_class_a_class_with_no_image_too_and_its_sha256_is_listed(exported):
    out, summary = exported
    assert summary["empty_classes"] == ["c2"]
    assert list(csv.reader((out / "classes.csv").open())) == [
        ["class_index", "class_name", "folder", "real", "synthetic"],
        ["0", "c0", "000_c0", "6", "0"],
        ["1", "c1", "001_c1", "3", "3"],
        ["2", "c2", "", "0", "0"]]
    digest = hashlib.sha256((out / "classes.csv").read_bytes()).hexdigest()
    assert f"{digest}  classes.csv\n" in (out / "manifest.sha256").read_text()  # `sha256sum -c` checks it
    assert ok_json("audit", "folder", out)["ok"] is True


def _rewrite(out, name: str, text: str) -> None:
    """`name` edited in the folder, and its line of manifest.sha256 written again to match."""
    (out / name).write_text(text)
    digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
    lines = [f"{digest}  {name}" if line.endswith(f"  {name}") else line
             for line in (out / "manifest.sha256").read_text().splitlines()]
    (out / "manifest.sha256").write_text("\n".join(lines) + "\n")


def test_classes_csv_with_two_names_swapped_is_named_by_audit_folder(exported):
    out, _ = exported
    text = (out / "classes.csv").read_text()
    _rewrite(out, "classes.csv", text.replace("0,c0,", "0,TMP,").replace("1,c1,", "1,c0,").replace("0,TMP,", "0,c1,"))
    result = run("audit", "folder", out)
    assert result.exit_code == 1, result.output
    assert ("classes.csv line of class 0 reads '0,c1,000_c0,6,0', but the dataset and manifest.csv give "
            "'0,c0,000_c0,6,0': it was edited, and a reader that maps labels by it trains on the wrong ones"
            in result.stdout)
    assert "classes.csv line of class 1 reads" in result.stdout


def test_an_export_from_before_classes_csv_still_passes(exported):
    out, _ = exported
    (out / "classes.csv").unlink()
    (out / "manifest.sha256").write_text("".join(line + "\n" for line in (out / "manifest.sha256").read_text()
                                                 .splitlines() if not line.endswith("  classes.csv")))
    assert ok_json("audit", "folder", out)["ok"] is True
