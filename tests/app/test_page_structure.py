"""What axe-core (WCAG 2.1 AA) found in the pages' own structure, run in chromium over every page: each page's
sections came as level-3 headings straight under its level-1 title (a gap in the list of headings a screen reader
moves through), and the Evaluate page's benchmark figures were images without alt text ("image", and nothing more)."""

from __future__ import annotations

import numpy as np

from tests.app.conftest import app_test, make_batch
from tests.app.test_evaluate_many_classes import record


def levels(at) -> tuple[int, int, int]:
    """How many headings of level 1, 2 and 3 the page drew (its sidebar's none)."""
    return len(at.main.get("title")), len(at.main.get("header")), len(at.main.get("subheader"))


def test_every_section_is_a_level_two_heading_under_the_title(users, digits):
    """Overview's four; Generate's, Embeddings' and Evaluate's are asserted as `at.header` where their tests read them
    (tests/app/test_first_run.py, test_generate.py, test_embeddings_audit_evaluate.py) and below."""
    make_batch(digits, 9, 2)
    assert levels(app_test(users["ada"], "overview.py")) == (1, 4, 0)


def test_the_benchmark_figures_say_what_they_show_and_where_their_numbers_are(users, digits, home):
    blank = np.zeros((3, 20, 30), np.uint8)
    record(home, "benchmark", "reports/bench-1", {
        "report.json": {"meta": {"class_names": [str(c) for c in range(10)], "minority_classes": [9]}},
        **{f"{name}.png": blank for name in ("arms", "per_class_recall", "ratio_sweep", "pr_curves")}})

    at = app_test(users["rita"], "evaluate.py")
    assert not at.exception and levels(at) == (1, 2, 0)  # "Batch quality", "Results"
    alts = {img.caption[:10]: img.alt for el in at.get("image") for img in el.proto.imgs}
    assert len(alts) == 4 and all(a.startswith("Chart: ") for a in alts.values()), alts
    assert alts["Each arm's"].endswith("Its numbers are in the table of arms above.")
    assert alts["Recall per"].endswith("in the full report below, under “Per-class recall”.")


def contrast(fg: tuple, bg: tuple) -> float:
    """WCAG 2.1's contrast ratio of two sRGB colours (0–255)."""
    def luminance(rgb):
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_captions_are_drawn_dark_enough_to_read(users, digits):
    """Streamlit fades a caption (every tile's id, class and confidence; the keys' line) to 60 % opacity: its text
    colour (47, 45, 43) read 3.9:1 on white and 3.8:1 on the sidebar's (248, 248, 247), where AA asks 4.5:1."""
    import re

    at = app_test(users["rita"])
    [opacity] = [float(m) for el in at.get("html") for m in re.findall(
        r"\[data-testid='stCaptionContainer'\] \{ opacity: ([0-9.]+); \}", el.proto.body)]
    text = (47, 45, 43)
    for background in ((255, 255, 255), (248, 248, 247)):
        shown = tuple(opacity * t + (1 - opacity) * b for t, b in zip(text, background))
        assert contrast(shown, background) >= 4.5, (opacity, background)
    assert contrast(tuple(0.6 * t + 0.4 * 255 for t in text), (255, 255, 255)) < 4.5  # Streamlit's own
