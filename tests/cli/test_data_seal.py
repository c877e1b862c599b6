"""`ganaug data seal`: a dataset ingested before ingests were recorded exports with a warning until an admin seals
it; `audit verify` names a dataset whose real_images rows were changed behind the log's back, and `export` says
what that left out."""

from __future__ import annotations

from sqlalchemy import insert, select

from db.engine import session_scope
from db.models import RealImage
from tests.cli.helpers import ok_json, refused, run
from tests.db.helpers import make_dataset

ADA = {"GANAUG_USER": "ada", "GANAUG_PASSWORD": "ada-password"}
REX = {"GANAUG_USER": "rex", "GANAUG_PASSWORD": "rex-password"}
NOT_COVERED = "warning: the real training images of dataset 'toy' are not covered by the decision log"


def _accounts():
    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    ok_json("users", "add", "rex", "--role", "reviewer", env={**ADA, "GANAUG_PASSWORD": "rex-password",
                                                               "GANAUG_ADMIN_PASSWORD": "ada-password"})


def test_an_older_dataset_exports_with_a_warning_until_an_admin_seals_it(home, tmp_path):
    _accounts()
    with session_scope() as s:
        make_dataset(s, home, record=False)  # as ingested before 2026-12-07: no event
    first = run("export", "--dataset", "toy", "--out", tmp_path / "a")
    assert first.exit_code == 0 and NOT_COVERED in first.stderr and "data seal toy --user NAME" in first.stderr
    assert "seal datasets" in refused("data", "seal", "toy", env=REX)  # a reviewer may not
    assert "unknown dataset 'nope'" in refused("data", "seal", "nope", env=ADA)
    sealed = ok_json("data", "seal", "toy", "--reason", "checked against the source", env=ADA)
    assert (sealed["action"], sealed["actor"], sealed["images"], sealed["reason"]) == (
        "seal", "ada", 13, "checked against the source")
    assert "recorded already" in refused("data", "seal", "toy", env=ADA)
    second = run("export", "--dataset", "toy", "--out", tmp_path / "b")
    assert second.exit_code == 0 and "not covered" not in second.stderr


def test_a_real_image_row_added_is_named_by_audit_verify_and_folder_and_left_out_by_export(home, tmp_path):
    _accounts()
    with session_scope() as s:
        toy = make_dataset(s, home)
    ok_json("export", "--dataset", "toy", "--out", tmp_path / "before", env=ADA)
    assert ok_json("audit", "folder", tmp_path / "before")["ok"] is True
    with session_scope() as s:
        s.execute(insert(RealImage).values(dataset_id=toy.id, split="train", class_index=1, sha256="0" * 64,
                                           path=s.scalars(select(RealImage.path)).first(), source_path="x"))
    verify = run("audit", "verify")
    assert verify.exit_code == 1 and "dataset 1 ('toy')'s real images no longer match the digest its ingest (event 3)" \
        in verify.output
    folder = run("audit", "folder", tmp_path / "before")
    assert folder.exit_code == 1 and "the real images of dataset 'toy' are not what the decision log recorded" \
        in folder.output
    # Every real image left out, and with them every synthetic one: the export is refused and writes nothing (it
    # wrote an empty set with a warning)
    out = run("export", "--dataset", "toy", "--out", tmp_path / "a")
    assert out.exit_code == 2 and not (tmp_path / "a").exists()
    assert "the real images of dataset 'toy' are not what the decision log recorded (a row" in out.stderr
