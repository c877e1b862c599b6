"""A dataset of many classes (a defect catalogue of 40 types, a few rare, some with long names) on the pages that
list its classes: every chosen class in sight, every caution said of the batches it is about."""

from __future__ import annotations

import json

from sqlalchemy import select

from db.engine import session_scope
from tests.app.conftest import app_test, make_batch


def test_generate_shows_every_preselected_class(users, digits):
    """In its column the class picker kept its chips on one line that scrolls sideways: of a catalogue's five rare
    classes, one long name showed and the rest hid behind a fade. Its chips wrap onto more rows, and their number is
    said."""
    at = app_test(users["rita"], "generate.py")
    picker = at.multiselect(key="gen_classes")
    assert picker.value == [7, 8, 9]  # the demo's minority classes, preselected
    assert picker.proto.wrap is True
    # Past five or so chips the picker's box scrolls (26 minority classes of 38 plant diseases: 21 out of sight):
    # how many are chosen, and what the job leaves to review, is said below it.
    assert "3 classes chosen: 3 batches of 48 samples, 144 to review." in [c.value for c in at.caption]


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


def test_a_long_one_word_class_name_is_cut_between_words_and_said_whole_below(users, digits):
    """At 1024 px in chromium, "dermatofibroma_nodular" under a 96-px nearest real image broke mid-word
    ("dermatofibrom / a_nodular"), and the grid's 112-px tiles wrapped "dermatofibroma_…" as "dermatofibroma_ / …":
    a word wider than its caption breaks anywhere. Where a name is cut to fit, the row says it whole below."""
    from db.models import Dataset, RealImage, Sample
    from pages.ui import alt_text
    from tests.app.conftest import image_captions
    from tests.app.test_review import first_sample_open

    names = ["melanocytic_nevus_common", "melanoma_superficial", "benign_keratosis_like", "basal_cell_carcinoma",
             "actinic_keratosis", "vascular_lesion", "dermatofibroma_classic", "dermatofibroma_nodular",
             "seborrheic_keratosis", "lentigo"]
    with session_scope() as session:
        session.scalars(select(Dataset).where(Dataset.name == digits)).one().class_names = names
    batch = make_batch(digits, 7, 2)
    with session_scope() as session:  # the first sample flagged as a copy of its nearest real image
        sample = session.scalars(select(Sample).where(Sample.batch_id == batch).order_by(Sample.id)).first()
        sample.memorized, sample.copy_match = True, {"kind": "features", "parts": sample.nn_real_ids[:1], "ratio": 0.1}
        nearest = {i: names[session.get(RealImage, i).class_index] for i in sample.nn_real_ids}
    at, _ = first_sample_open(users["rita"], batch)

    captions = [alt_text(c) for c in image_captions(at)]  # as shown: Markdown's escapes undone
    tiles = [c for c in captions if c.startswith("#")]
    assert len(tiles) == 2 and all(c.split(" · ")[1] == "dermatofibrom…" for c in tiles), tiles  # 112 px
    reals = [c for c in captions if c.startswith(("real #", "training image #"))]
    assert len(reals) == len(nearest) + 1  # the nearest real images, and the one the sample copies
    # At 96 px chromium fitted 13 characters of "dermatofibroma_nodular" on a line, and no more.
    assert all(len(word) <= 13 for c in reals for word in c.split()), reals
    whole = [alt_text(c.value) for c in at.caption if c.value.startswith("Classes in full: ")]
    assert len(whole) == 2  # below the image it copies, and below its nearest real images
    cut = {i: n for i, n in nearest.items() if f"real #{i} · {n}" not in captions}
    assert cut and all(f"{n} (" in whole[1] and f"real #{i}" in whole[1] for i, n in cut.items()), (cut, whole)
