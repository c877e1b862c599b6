"""A dataset of many classes (a defect catalogue of 40 types, a few rare, some with long names) on the pages that
list its classes: every chosen class in sight, every caution said of the batches it is about."""

from __future__ import annotations

import json

from sqlalchemy import select

from db.engine import session_scope
from tests.app.conftest import app_test, make_batch


def test_generate_shows_every_preselected_class(users, digits):
    """In its column the class picker kept its chips on one line that scrolls sideways: of a catalogue's five rare
    classes, one long name showed and the rest hid behind a fade. Its chips wrap onto more rows."""
    at = app_test(users["rita"], "generate.py")
    picker = at.multiselect(key="gen_classes")
    assert picker.value == [7, 8, 9]  # the demo's minority classes, preselected
    assert picker.proto.wrap is True


def _record_metrics(dataset: str, batch: int, class_index: int, caution: str) -> None:
    """A batch's metrics.json and its report row, as `ganaug evaluate batch` leaves them."""
    from db.engine import home
    from db.models import Dataset, Report

    folder = home() / "batches" / str(batch)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps({
        "batch": batch, "class_index": class_index, "caution": caution, "counts": {"synthetic": 8, "real": 4},
        "overall": {"fid": 80.0}, "reference": {}}))
    with session_scope() as session:
        ds = session.scalars(select(Dataset).where(Dataset.name == dataset)).one()
        session.add(Report(dataset_id=ds.id, kind="batch_metrics", path=f"batches/{batch}",
                           sha256=f"{batch:064d}", summary={}))


def test_evaluate_says_which_caution_is_whose(users, digits):
    """Every batch came first, then every caution ("Batches 3, 2, 1: only 2 real …; only 12 held-out …"): with a
    batch for each rare class a reader could not tell which caution was whose. One line per caution names its
    batches and their classes."""
    _record_metrics(digits, 1, 9, "only 2 real training images")
    _record_metrics(digits, 2, 8, "only 12 held-out images")
    _record_metrics(digits, 3, 9, "only 2 real training images")
    at = app_test(users["rita"], "evaluate.py")
    assert not at.exception
    [warning] = [w.value for w in at.warning if "held-out images" in w.value]
    assert warning.split("  \n") == ["Batches 3 (9), 1 (9): only 2 real training images",
                                     "Batch 2 (8): only 12 held-out images"]


def test_review_tiles_cut_a_long_class_name(users, digits):
    """Every tile of a batch repeated its class's whole name: "crazing along moulded rib near the gate insert,
    left-hand side" wrapped each caption onto four lines and doubled the grid's height. The tile cuts it; the batch
    picker and the sample's detail give it whole."""
    from db.models import Dataset, Sample
    from tests.app.conftest import image_captions

    long_name = "crazing along moulded rib near the gate insert, left-hand side"
    with session_scope() as session:
        ds = session.scalars(select(Dataset).where(Dataset.name == digits)).one()
        ds.class_names = [*ds.class_names[:9], long_name]
    batch = make_batch(digits, 9, 3)
    with session_scope() as session:
        first = session.scalars(select(Sample.id).where(Sample.batch_id == batch).order_by(Sample.id)).first()
    at = app_test(users["rita"], "review.py")
    assert at.selectbox(key="review_batch").value == batch
    assert long_name in at.selectbox(key="review_batch").format_func(batch)
    tiles = [c for c in image_captions(at) if c.startswith("#")]
    assert len(tiles) == 3
    assert tiles[0].startswith(f"#{first} · crazing along m… · conf "), tiles[0]


def test_export_preview_puts_the_classes_with_approved_samples_first(users, digits):
    """The preview listed the classes in their order in a box of ten rows: among 40 classes, the rare ones that
    receive approved samples were out of sight below the first ten. They come first now."""
    from db.review import approve_batch
    from db.users import get_user

    batch = make_batch(digits, 9, 4)
    with session_scope(immediate=True) as session:
        approve_batch(session, batch, get_user(session, "rita"))
    at = app_test(users["rita"], "audit.py")
    at.toggle(key="export_preview_on").set_value(True).run()
    [preview] = [d.value for d in at.dataframe if "over_ratio" in d.value.columns]
    assert list(preview["class_name"]) == ["9", *map(str, range(9))]
    assert preview.iloc[0]["synthetic_images"] == 4
    assert any(m.value.endswith("approved synthetic images (the classes with approved samples first)")
               for m in at.markdown)
