"""The Audit page's export tab in a reviewer's words: which rare classes an export would leave without a single
synthetic image, and why (a batch still pending review, rejected, revoked, none generated), said before the click and
again under an export whose imbalance it did not change. A clinic exported "Imbalance 24 → 24" with its rarest class
gaining nothing because that class's batch was still pending review, and nothing had said so.

From the review tables (`db.views`, the gate's rules in SQL) and the ratio's cap, never the gate itself: it reads
every approved sample's file, and this runs with every rerun of the page.
"""

from __future__ import annotations

import math

import streamlit as st
from sqlalchemy import select

from db import views
from db.engine import session_scope
from db.models import Batch, Dataset
from ganaug_core.imbalance import minority_classes, some_names
from ganaug_core.markdown import plain
from pages.ui import home, train_counts

RATIO_HELP = ("How many approved synthetic images the export may add per real image, class by class: at 1 a class "
              "with 40 real training images gets at most 40 synthetic ones (fewer where fewer are approved); at 0.5 at "
              "most 20; at 0 none, the real images alone.")
NO_BATCH = "no batch was generated for it (the Generate page makes one)"


def ratio_words(ratio: float) -> str:
    """The ratio, said under its field for a reader who never hovers over the tooltip."""
    if ratio <= 0:
        return "At 0 the export holds the real training images alone, no synthetic ones."
    return (f"At {ratio:g}, each class gets at most {ratio:g} approved synthetic image{'s' * (ratio != 1)} per real "
            f"image it has (a class with 40 real images: at most {math.floor(ratio * 40 + 1e-9):,}).")


def _batch_words(batches: list[tuple[int, str]]) -> str:
    """Why a class's batches admit nothing, one phrase per status: "batch 3 is still pending review"."""
    by_status: dict[str, list[str]] = {}
    for batch_id, status in batches:
        by_status.setdefault(status, []).append(str(batch_id))
    says = {"pending": ("is still pending review", "are still pending review"),
            "rejected": ("was rejected", "were rejected"),
            "revoked": ("had its approval revoked", "had their approvals revoked"),
            "approved": ("is approved, but all its samples were rejected or tagged out",
                         "are approved, but all their samples were rejected or tagged out")}
    parts = []
    for status in ("pending", "rejected", "revoked", "approved"):
        ids = by_status.get(status)
        if ids:
            many = len(ids) > 1
            parts.append(f"batch{'es' * many} {some_names(ids)} {says[status][many]}")
    return "; ".join(parts)


def gaining_nothing(dataset: str, ratio: float, synthetic: dict[int, int] | None = None) -> list[tuple[str, str]]:
    """(class name, why) for each rare class (below DEFAULT_MINORITY_FRACTION of the largest, as `ganaug data
    report` names them) that the export gives no synthetic image, the rarest first. `synthetic` (class index →
    synthetic images an export holds) is a written export's; else what the review admits now, capped by `ratio`."""
    with session_scope() as session:
        ds = session.scalar(select(Dataset).where(Dataset.name == dataset))
        if ds is None:
            return []
        names = list(ds.class_names or [])
        admitted = views.approved_class_counts(session).get(dataset) or []
        batches = session.execute(select(Batch.class_index, Batch.id, Batch.status)
                                  .where(Batch.dataset_id == ds.id).order_by(Batch.id)).all()
    real = train_counts(home(), dataset)  # cached: it groups every real image row, and this runs at each rerun
    rare = sorted(minority_classes(real), key=real.__getitem__)
    per_class: dict[int, list[tuple[int, str]]] = {}
    for c, batch_id, status in batches:
        per_class.setdefault(c, []).append((batch_id, status))
    out = []
    for c in rare:
        gets = synthetic.get(c, 0) if synthetic is not None else min(admitted[c] if c < len(admitted) else 0,
                                                                       math.floor(ratio * real[c] + 1e-9))
        if gets:
            continue
        name = names[c] if c < len(names) else str(c)
        if ratio * real[c] < 1:
            why = (f"at a ratio of {ratio:g} its {real[c]:,} real images allow it no synthetic one" if ratio
                   else "the ratio is 0")
        elif per_class.get(c):
            why = _batch_words(per_class[c])
        else:
            why = NO_BATCH
        out.append((name, why))
    return out


def reasons_said(found: list[tuple[str, str]]) -> str:
    """The markdown list of `gaining_nothing`: a line per class, but the classes with no batch yet in one line. A
    38-class plant catalogue's 21 rare classes without a batch repeated "no batch was generated for it" 21 times
    and pushed the export button 1,700 px down the page."""
    unmade = [name for name, why in found if why == NO_BATCH]
    lines = [f"- class {plain(name)}: {plain(why)}" for name, why in found if why != NO_BATCH or len(unmade) == 1]
    if len(unmade) > 1:
        lines.append(f"- {len(unmade)} classes have no batch yet (the Generate page makes them): "
                     + ", ".join(plain(name) for name in unmade))
    return "\n".join(lines)


def gains_warning(dataset: str, ratio: float) -> None:
    """Said before the export button: the rare classes this export would leave as they are, and why."""
    found = gaining_nothing(dataset, ratio)
    if not found:
        return
    many = len(found) > 1
    st.warning(f"**Before you export:** {'these rare classes gain' if many else 'the rare class'} "
               f"{'' if many else plain(found[0][0]) + ' gains '}no synthetic image in this export, so "
               f"{'their' if many else 'its'} imbalance stays as it is:\n\n" + reasons_said(found),
               icon=":material/balance:")


def imbalance_words(dataset: str, ratio: float, counts: dict, ratios: dict) -> str:
    """How imbalanced a written export still is, in words, and, where it did not improve, the rare classes that
    gained nothing and why ("Imbalance 24 → 24" said neither)."""
    before, after = ratios["before"], ratios["after"]
    text = (f"**Imbalance:** the largest class has {before:g} times as many real training images as the smallest; in "
            f"this set, real and synthetic together, {after:g} times as many.")
    if after < before:
        return text
    found = gaining_nothing(dataset, ratio, {int(c): n["synthetic"] for c, n in counts.items()})
    if not found:
        return text
    return (f"{text} It did not improve: {'these rare classes' if len(found) > 1 else 'the rare class'} gained "
            "nothing:\n\n" + reasons_said(found))
