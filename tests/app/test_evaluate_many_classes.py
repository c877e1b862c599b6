"""Evaluate and Overview with many classes: a measure that could not be computed reads as a dash, a long class name
shows whole, and a report's tall or wide figure gets the page's width."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import select

from db.engine import session_scope
from tests.app.conftest import app_test, image_captions, make_batch

LONG_NAME = "crazing along moulded rib near the gate"  # 39 characters, as a class folder was named


def record(home, kind: str, folder: str, files: dict[str, object]) -> None:
    """A Report row of `kind` for the dataset, its folder holding `files` (JSON data or an image array)."""
    from db.models import Dataset, Report
    from ganaug_core.imageio import save_png

    (home / folder).mkdir(parents=True)
    for name, content in files.items():
        if name.endswith(".png"):
            save_png(content, home / folder / name)
        else:
            (home / folder / name).write_text(json.dumps(content))
    with session_scope() as session:
        ds = session.scalars(select(Dataset)).one()
        session.add(Report(dataset_id=ds.id, kind=kind, path=folder, sha256=folder[-1] * 64, summary={}))


def one_held_out_image_metrics(batch: int, class_index: int = 9, held_out_fid=None) -> dict:
    """A batch's metrics.json; by default the held-out real images gave no FID (one image has no spread)."""
    return {"batch": batch, "class_index": class_index, "holdout_split": "test",
            "counts": {"synthetic": 6, "real": 4},
            "overall": {"fid": 81.5, "prdc": {"precision": 0.5, "recall": 0.25, "coverage": 0.5}},
            "reference": {"fid": held_out_fid, "prdc": {"precision": None, "recall": None, "coverage": None}}}


def rename_class_9(long_name: str) -> None:
    from db.models import Dataset

    with session_scope() as session:
        ds = session.scalars(select(Dataset)).one()
        ds.class_names = [*ds.class_names[:9], long_name]


def test_a_measure_that_could_not_be_computed_reads_as_a_dash_and_stays_a_number(users, digits, home):
    """The quality table showed the word "None" for the held-out FID of a class with one held-out image."""
    record(home, "batch_metrics", "reports/batches/1", {"metrics.json": one_held_out_image_metrics(1)})
    record(home, "batch_metrics", "reports/batches/2", {"metrics.json": one_held_out_image_metrics(2, 8, 40.25)})

    at = app_test(users["rita"], "evaluate.py")
    for frame in at.dataframe:  # the main table and the whole one in the expander
        assert frame.proto.placeholder == "–"  # what the browser shows for a missing value
    main = at.dataframe[0].value
    assert main["batch"].tolist() == [2, 1] and main["fid_held_out"].dtype.kind == "f"  # numbers: they sort
    assert main["fid_held_out"][0] == 40.25 and np.isnan(main["fid_held_out"][1])


def test_a_long_class_name_has_room_in_the_overview_and_evaluate_tables(users, digits, home):
    """A 40-character class name was cut after 38 characters at 1366 px, 45 at 1920 px: Streamlit sized the column."""
    from pages.tables import TABLE_COLUMNS

    rename_class_9(LONG_NAME)
    make_batch(digits, 9, 2)
    record(home, "batch_metrics", "reports/batches/1", {"metrics.json": one_held_out_image_metrics(1)})

    overview = app_test(users["rita"])
    evaluate = app_test(users["rita"], "evaluate.py")
    for frame in (overview.dataframe[0], evaluate.dataframe[0]):  # pending batches; batch quality
        assert LONG_NAME in frame.value["class_name"].tolist()
        width = json.loads(frame.proto.columns)["class_name"]["width"]
        # ~7 px a character; both tables size Class to the names they show, up to the same width
        assert 7 * len(LONG_NAME) <= width <= TABLE_COLUMNS["class_name"]["width"]


def test_every_figure_gets_a_row_of_its_own(users, digits, home):
    """A 40-class per-class recall table (taller than wide) and 4 PR panels (1,500 px wide) were drawn in half the
    page, their text 5 px on a 1366-px screen; the arms' figure, two to a row, read at 4 px at 1024 px."""
    blank = lambda h, w: np.zeros((3, h, w), np.uint8)  # noqa: E731
    record(home, "benchmark", "reports/bench-1", {
        "report.json": {"meta": {"class_names": [str(c) for c in range(10)], "minority_classes": [9]}},
        "arms.png": blank(42, 89), "ratio_sweep.png": blank(38, 54),
        "per_class_recall.png": blank(115, 93), "pr_curves.png": blank(57, 1218)})

    at = app_test(users["rita"], "evaluate.py")
    # Each figure by its caption's opening words: the answer's first, then by file name
    starts = ["Each arm's rare-class recall", "Recall per class and arm", "Precision against recall",
              "The GAN arm with more synthetic images"]
    assert [c[:len(w)] for c, w in zip(image_captions(at), starts)] == starts
    in_columns = [img.caption for col in at.columns for el in col.get("image") for img in el.proto.imgs]
    assert in_columns == []  # none in half the page


def test_a_nan_in_a_metrics_file_reads_as_a_dash_not_nan(users, digits, home):
    """A metrics file holding a NaN mean (JSON's NaN, which Python writes and reads) showed "nan" in the tables."""
    nan = float("nan")
    metrics = {**one_held_out_image_metrics(1), "overall": {"fid": 81.5, "kid": {"mean": nan, "std": 0.01}},
               "reference": {"fid": None, "kid": {"mean": 0.02, "std": nan}}}
    record(home, "batch_metrics", "reports/batches/1", {"metrics.json": metrics})
    record(home, "benchmark", "reports/bench-1", {"report.json": {
        "meta": {"class_names": [str(c) for c in range(10)], "minority_classes": [9]},
        "arms": {"real_only": {"n_train": 10, "n_synthetic": 0, "clean": {
            "macro_f1": {"mean": nan, "low": nan, "high": nan, "n": 3},
            "balanced_accuracy": {"mean": 0.5, "low": nan, "high": nan, "n": 3}}}}}})

    at = app_test(users["rita"], "evaluate.py")
    assert not at.exception
    quality = at.dataframe[-1].value  # every measure, in the expander
    assert (quality["kid"][0], quality["kid_held_out"][0]) == ("–", "0.0200")  # not "nan", not "0.0200 ± nan"
    arms = at.dataframe[1].value  # every measure, in the expander below the arms' main table
    assert (arms["macro_f1"][0], arms["balanced_accuracy"][0]) == ("–", "0.500")  # not "nan", not "[nan, nan]"


def test_the_quality_table_says_which_way_is_better(users, digits, home):
    """FID and KID showed no "lower is better" unless a reader hovered their headers."""
    record(home, "batch_metrics", "reports/batches/1", {"metrics.json": one_held_out_image_metrics(1)})

    at = app_test(users["rita"], "evaluate.py")
    shown = {name: config.get("label") for name, config in json.loads(at.dataframe[0].proto.columns).items()}
    assert (shown["fid"], shown["recall"], shown["copies"]) == ("FID ↓", "Recall ↑", "Copies ↓")
    assert shown["fid_held_out"] == "FID, held-out real"  # a reference to compare with, neither better nor worse
    every = json.loads(at.dataframe[1].proto.columns)
    assert every["coverage"]["label"] == "Coverage ↑"
    assert every["kid"]["label"] == "KID ↓" and every["kid"]["help"].startswith("Lower is better.")
    assert any("↓ lower is better, ↑ higher is better" in c.value for c in at.caption)
    # What FID and KID measure was said only in their headers' help, on hover, which a clinician does not do: a few
    # plain sentences in an expander below the table say it, and against what.
    assert not [c for c in at.caption if "hover" in c.value]
    [said] = [e for e in at.expander if e.label == "What FID and KID measure"]
    text = " ".join(m.value for m in said.markdown)
    for words in ("**FID ↓**", "**KID ↓**", "lower is better", "real training images", "not Inception",
                  "\"held-out real\" value"):
        assert words in text, words
