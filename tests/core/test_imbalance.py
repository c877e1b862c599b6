"""The imbalance report's text: a table that stays a table whatever the class folders are called."""

from __future__ import annotations

from ganaug_core.imbalance import imbalance_report


def test_long_and_wide_class_names_keep_the_count_columns_aligned():
    # A class folder of 200 characters pushed every count 200 columns right, and CJK names (two columns a
    # character) left their counts out of line.
    names = ["x" * 200, "中文类", "café", "a"]
    counts = {"train": {0: 5, 1: 4, 2: 3, 3: 20}, "test": {0: 1, 1: 1, 2: 1, 3: 5}}
    report = imbalance_report("odd", names, counts)
    rows = report.to_text().splitlines()[2:6]
    counts = "       5       1", "       4       1", "       3       1", "      20       5"
    assert rows[0].startswith("x" * 39 + "…" + counts[0])
    assert rows[1].startswith("中文类" + " " * 34 + counts[1])  # 6 columns of name, 34 of spaces
    assert rows[2].startswith("café" + " " * 36 + counts[2])
    assert rows[3].startswith("a" + " " * 39 + counts[3])
    assert report.to_dict()["class_names"][0] == "x" * 200  # the JSON keeps the whole name


def test_one_minority_class_is_said_in_the_singular():
    # "minority classes (< 0.2 × largest): crack" of the one rare class of a two-class set
    one = imbalance_report("parts", ["ok", "crack"], {"train": {0: 40, 1: 2}}).to_text().splitlines()[-1]
    two = imbalance_report("p", ["ok", "crack", "dent"], {"train": {0: 40, 1: 2, 2: 3}}).to_text().splitlines()[-1]
    assert (one, two) == ("minority class (< 0.2 × largest): crack", "minority classes (< 0.2 × largest): crack, dent")


def test_a_row_of_a_long_named_common_class_fits_80_columns():
    # 38 plant-disease classes ("Orange___Haunglongbing_(Citrus_greening)", 40 characters): the largest classes'
    # rows, a 30-column bar beside the name and two counts, were 88 columns long and wrapped at 80.
    names = ["Orange___Haunglongbing_(Citrus_greening)", "Grape___Black_rot", "Café___Leaf_spot"]
    text = imbalance_report("plants", names, {"train": {0: 380, 1: 449, 2: 3}, "test": {0: 95, 1: 112, 2: 1}}).to_text()
    rows = text.splitlines()[2:5]
    assert max(len(row) for row in rows) == 80, rows
    assert rows[2].endswith("  █  ← minority")
    short = imbalance_report("parts", ["ok", "crack"], {"train": {0: 40, 1: 2}}).to_text().splitlines()[2]
    assert short.endswith("█" * 30)  # short names keep the whole bar


def test_the_minority_line_of_long_names_is_wrapped_at_80_columns():
    # Three plant-disease minorities made the report's last line 163 columns.
    names = ["Apple___healthy", "Orange___Haunglongbing_(Citrus_greening)",
             "Tomato___Spider_mites Two-spotted_spider_mite", "Tomato___Tomato_Yellow_Leaf_Curl_Virus"]
    lines = imbalance_report("plants", names, {"train": {0: 400, 1: 10, 2: 6, 3: 4}}).to_text().splitlines()
    assert lines[-3:] == ["minority classes (< 0.2 × largest): Orange___Haunglongbing_(Citrus_greening),",
                          "  Tomato___Spider_mites Two-spotted_spider_mite,",
                          "  Tomato___Tomato_Yellow_Leaf_Curl_Virus"]
    assert max(map(len, lines)) <= 80
