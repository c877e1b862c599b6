"""What a screen reader gets from the review app's images and charts: each one's alt text names what it shows (a
sample's id, class and flags; a chart's counts), and a flag drawn in colour on a tile is in words on its button."""

from __future__ import annotations

import json

from sqlalchemy import select

from db.engine import session_scope
from db.models import Sample
from tests.app.conftest import app_test, button, embed_reals, make_batch
from tests.app.test_review import open_sample, review


def alts(at) -> list[str]:
    """Every image's alt text in page order; None for an image without one (an unnamed "img" to a screen reader)."""
    return [img.alt if img.HasField("alt") else None for el in at.get("image") for img in el.proto.imgs]


def chart_alt(at, key: str) -> str:
    [chart] = [c for c in at.get("plotly_chart") if key in c.proto.id]
    return chart.proto.alt


def test_review_tiles_buttons_and_the_opened_sample_say_what_they_show(users, digits):
    batch = make_batch(digits, 9, 3, memorized={1})
    with session_scope() as session:
        (plain, c0), (memorized, c1), (rejected, c2) = session.execute(
            select(Sample.id, Sample.class_confidence).where(Sample.batch_id == batch).order_by(Sample.id)).all()
    at = open_sample(review(users["rita"], batch), rejected)
    at.text_input(key=f"reject_reason_{rejected}").input("smeared strokes").run()
    button(at, "Reject sample").click().run()
    open_sample(at, memorized)

    (opened, *neighbours), grid = alts(at)[:-3], alts(at)[-3:]  # the opened sample's box is above the grid
    assert grid == [f"sample #{plain}, class 9; class confidence {c0:.2f}",
                    f"sample #{memorized}, class 9; class confidence {c1:.2f}; memorized: a near-copy of a training "
                    "image",
                    f"sample #{rejected}, class 9; class confidence {c2:.2f}; rejected"]
    assert opened == f"sample #{memorized}, class 9, enlarged; memorized: a near-copy of a training image"
    assert neighbours and all(a.startswith(f"nearest real training image {n} of {len(neighbours)}: #")
                              and ", class " in a for n, a in enumerate(neighbours, start=1)), neighbours
    # The buttons that open a sample by keyboard say what the tiles' frames say in colour.
    [picker] = [p for p in at.get("button_group") if p.key.startswith("open_pick_")]
    assert picker.options == [f"#{plain}", f"#{memorized} · memorized", f"#{rejected} · rejected"]


def test_the_overview_chart_gives_its_counts_in_words(users, digits):
    at = app_test(users["rita"], "overview.py")
    assert not at.exception
    said = chart_alt(at, "imbalance_digits")
    assert said.startswith("Bar chart, digits: training images per class, real (train) plus approved synthetic")
    assert "class 9: " in said and said.count(" real, ") == 10 and "0 approved" in said


def test_the_embedding_map_and_coverage_chart_say_what_they_show(users, digits):
    n_real = embed_reals(digits)
    make_batch(digits, 9, 4)
    at = app_test(users["rita"], "embeddings.py")
    at.radio(key="emb_colour").set_value("decision").run()
    assert not at.exception
    said = chart_alt(at, "emb_chart")
    assert said.startswith("Embedding map of real training images (circles) and synthetic samples (diamonds), "
                           "coloured by decision: ")
    assert f"real: {n_real:,}" in said and "pending · synthetic: 4" in said, said
    coverage = chart_alt(at, "emb_coverage")
    bars = json.loads([c for c in at.get("plotly_chart") if "emb_coverage" in c.proto.id][0].proto.spec)["data"][0]
    assert coverage.startswith("Bar chart, coverage of each class's real training points by its synthetic samples")
    assert all(f"class {c}: {t}" in coverage for c, t in zip(bars["y"], bars["text"])), coverage


def test_a_caption_is_an_images_alt_text_by_default(users, digits):
    """Every image drawn through `show_images` (the selection's tiles, a run's grid of latest samples) is named."""
    from tests.app.test_evaluate_many_classes import rename_class_9

    embed_reals(digits)
    rename_class_9("dermatofibroma_nodular")
    make_batch(digits, 9, 2)
    at = app_test(users["rita"], "embeddings.py")
    at.session_state["emb_selection"] = {"points": [], "box": [{"xref": "x", "yref": "y", "x": [-99, 99],
                                                                "y": [-99, 99]}], "lasso": []}
    at.run()
    assert not at.exception
    shown = [(img.caption, img.alt) for el in at.get("image") for img in el.proto.imgs]
    assert shown and all(alt == caption.replace("\\", "") for caption, alt in shown), shown[:3]
    # Under the selection's 96-px tiles, "dermatofibroma_…" broke mid-word (1024 px, chromium): cut where it fits.
    samples = [caption for caption, _ in shown if caption.startswith("#")]
    assert len(samples) == 2 and all(" · dermatofibr… · batch " in c for c in samples), samples
