"""The Review page's opened sample, in a box above the grid: the sample and its scores in words beside its tag and
reject controls, why it was flagged as a copy, and its nearest real training images (the callbacks are in
pages/review_decisions.py)."""

from __future__ import annotations

from typing import Optional

import streamlit as st

from db import views
from db.engine import session_scope
from db.review import untag_sample
from db.tags import FREE_FORM_TAG
from ganaug_core.batch_verdict import AMONG_REAL
from ganaug_core.imageio import shown_px
from ganaug_core.metrics.authenticity import COPY_RATIO
from ganaug_core.metrics.copy_match import copy_reason
from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO
from pages.review_decisions import act_on_sample, decide_open_sample, load_tags, rejection_note, tag_open_sample
from pages.ui import alt_text, fmt, home, plain, show_image, show_images, tile_name, train_counts

SCORES_HELP = ("**confidence**: the probability (0–1) a classifier trained on the real images gives the class this "
               "sample was generated as; higher is better. **realism**: above 1, the sample lies among the real images "
               "of its class. **novelty**: how far the sample is from its nearest training image, relative to how far "
               "real images are from each other; about 0 for a copy, around 1 or more for a new image. **nearest "
               "real at**: the distance to the closest training image in the feature space; the images below are "
               "those nearest ones.")

# The sizes images are drawn at (tiles, the opened sample, its nearest real images), in pixels; each is rounded to a
# whole multiple of the dataset's side by `shown_px`: nearest-neighbour scaling by 1.5× or 1.75× (a 64² sample
# drawn 96 or 112 px wide) doubled every other pixel row, a pattern a reviewer could take for the generator's
# checkerboard artifact, and below 1× (a 128² dataset's 112-px tiles) dropped rows, and a one-pixel crack with them.
SAMPLE_PX, NEIGHBOUR_PX = 160, 96
DETAIL_MAX_PX = 256  # the widest the opened sample is drawn: its half of the detail box is 258 px at 1024 px


def detail_px(side: int) -> int:
    """The size the opened sample is drawn at: `shown_px(SAMPLE_PX, side)`, but twice its side where that would draw
    it no larger than it is (a 128² sample was drawn at 128 px, its tile's size: the opened sample showed nothing
    its tile did not) and twice still fits the column."""
    px = shown_px(SAMPLE_PX, side)
    return 2 * side if px <= side and 2 * side <= DETAIL_MAX_PX else px


@st.cache_data(show_spinner="Measuring distances to the nearest real images…", max_entries=512)
def neighbour_distances(home_dir: str, dataset: str, sample_id: int) -> dict[int, float]:
    """Real image id → feature distance, from the scoring step's extractor; {} if it is not available.

    Only an extractor that scoring already trained is used: the page never trains one (that is worker work).
    """
    from ganaug.domain_models import extractor_info
    from ganaug.evaluation import nearest_real_images
    from ganaug_core.errors import GanaugError

    try:
        extractor_info(dataset)
        return {n["real_image_id"]: n["distance"] for n in nearest_real_images(sample_id, k=4)}
    except (GanaugError, OSError, KeyError, ValueError):
        return {}


def why_flagged(s: dict, copied: list[dict], state: dict) -> None:
    """A memorized sample's reason in words (which training image(s), how they line up, the ratio against its
    threshold) with the sample and those images side by side: a shifted or mirrored copy, or a blend, does not look
    like its source at a glance."""
    match = s["copy_match"]
    reason = copy_reason(match)
    if reason is None:  # scored before the reason was recorded
        st.caption(f"Why it was flagged was not recorded when this batch was scored: `ganaug evaluate batch "
                   f"{s['batch']} --rescore` records it.")
        return
    threshold = COPY_RATIO if match["kind"] == "features" else PIXEL_COPY_RATIO
    measure = "feature" if match["kind"] == "features" else "pixel"
    with st.container(border=True, key="copy_reason"):
        st.markdown(f"**Why it was flagged:** it is {reason} ({measure} copy ratio {fmt(match.get('ratio'), 3)}; "
                    f"under {threshold:g} is a copy).")
        weights = match.get("weights") or []
        px, names = shown_px(NEIGHBOUR_PX, state["side"]), state["class_names"]

        def caption(n: int, r: dict, name: str) -> str:
            return (f"training image #{r['id']} · {plain(name)}"
                    + (f" · {round(100 * weights[n])} %" if n < len(weights) else ""))

        show_images([s["path"], *[r["path"] for r in copied]],
                    [f"sample #{s['id']}", *(caption(n, r, tile_name(names[r["class_index"]], px))
                                             for n, r in enumerate(copied))], size=px,
                    alts=[f"sample #{s['id']}", *(alt_text(caption(n, r, names[r["class_index"]]))
                                                 for n, r in enumerate(copied))])  # the names whole
        if whole := names_in_full([(r["id"], names[r["class_index"]]) for r in copied], px, "training image #"):
            st.caption(whole)


def scores_in_words(s: dict, class_name: str, n_real: Optional[int] = None, other_class: Optional[str] = None) -> str:
    """The opened sample's scores, one a line, each with what it says by the yardstick SCORES_HELP gives: "realism
    1.45 · novelty 0.85" left a dermatologist to open the help to learn whether either was good. `n_real`: the
    class's real training images; with fewer than two, realism is measured against every class's (ganaug_core/
    scoring.py: one image has no spread of its own), and the scores say so. `other_class`: the other class of a
    two-class dataset, where the classifier picks one of two and calls a sample unlike both (noise) the rare class as
    readily as a good one (`ganaug.cli.evaluate.two_class_note`)."""
    if s["class_confidence"] is None:
        return "Not scored yet: no confidence, realism or novelty."
    conf, realism, novelty = s["class_confidence"], s["realism"], s["novelty"]
    alone = n_real is not None and n_real < 2
    against = "the real images of all classes" if alone else "the real images of its class"
    sees = f"the classifier sees {class_name}"
    if other_class is not None:
        sees += (f" rather than {other_class} (of two classes: a sample like neither, noise say, is called "
                 f"{class_name} too; look at it)")
    lines = [f"confidence {fmt(conf)}: " + (sees if conf >= 0.5 else f"the classifier doubts it is {class_name}")]
    if realism is not None:
        lines.append(f"realism {fmt(realism)}: " + (f"among {against}" if realism >= AMONG_REAL
                                                    else f"outside {against}"))  # as `evaluate batch`'s verdict
    if novelty is not None:
        lines.append(f"novelty {fmt(novelty)}: " + ("as far from the training images as real images are from each other"
                                                   if novelty >= 1 else "nearer a training image than real images are "
                                                   "to each other"))
    lines.append(f"nearest real at {fmt(s['nn_distance'], 3)}")
    if alone:  # as the batch's FID and KID caution says of a class of one image (ganaug/evaluation.py)
        lines.append(f"only {n_real} real training image{'s' * (n_real != 1)} of {class_name}: realism is measured "
                     "against all classes' real images (one image has no spread of its own), so it says little about "
                     "this class; novelty is measured against every training image, as for any class")
    return "  \n".join(lines)


def names_in_full(shown: list[tuple[int, object]], px: int, what: str) -> Optional[str]:
    """One line naming whole each class name that `tile_name(name, px)` cut in the captions of a row of images:
    "Classes in full: dermatofibroma_nodular (real #12, real #15)". `shown`: each image's (id, class name); `what`: how
    a caption names an image ("real #"). None when no name was cut. The images' alt text gives the names whole to a
    screen reader; this line gives them to everyone else. Markdown: names through `plain`."""
    cut: dict[str, list[str]] = {}
    for image_id, name in shown:
        if tile_name(name, px) != str(name):
            cut.setdefault(str(name), []).append(f"{what}{image_id}")
    if not cut:
        return None
    return "Classes in full: " + "; ".join(f"{plain(name)} ({', '.join(ids)})" for name, ids in cut.items())


def sample_detail(open_id, state: dict) -> None:
    """The opened sample in a box across the page, between its picker and the grid: the sample and its scores beside
    its tag and reject controls, its nearest real images in one row below. In a third of the page beside the grid,
    1024 px with the sidebar open (a 564-px page) left it 180 px: the four nearest real images stood one above the
    other and "Reject sample" sat 1,500 px below the sample. This layout is the same at every width (Streamlit
    cannot know the browser's)."""
    if open_id is None:
        st.caption("Click a tile (or its number above) to open its sample here, beside its tag and reject controls "
                   "and above its nearest real training images.")
        return
    with session_scope() as session:
        found = views.samples_by_ids(session, [open_id])
        if not found:
            st.caption(f"sample {open_id} is not available")
            return
        s = found[0]
        reals = views.real_images_by_ids(session, s["nn_real_ids"][:4])
        copied = views.real_images_by_ids(session, (s["copy_match"] or {}).get("parts") or [])
        dataset = state["dataset"]
    distances = neighbour_distances(home(), dataset, s["id"]) if s["nn_real_ids"] else {}
    with st.container(border=True, key="review_detail"):  # the box the page scrolls to (pages/tile_clicks.py)
        st.markdown(f"**Sample #{s['id']}** (seed {s['seed']})")
        look, act = st.columns(2)  # 258 px each at 1024 px: a 128² sample, drawn at 256 px, fits whole
        with look:
            # Its alt text: what a screen reader says of it (an unnamed "img" before), flags in words as its tile
            # gives them.
            flags = ["memorized: a near-copy of a training image"] * s["memorized"] + ["rejected"] * s["rejected"]
            show_image(s["path"], size=detail_px(state["side"]),
                       alt="; ".join([f"sample #{s['id']}, class {state['class_names'][s['class_index']]}, enlarged",
                                      *flags]))
            counts = train_counts(home(), dataset)
            n_real = counts[s["class_index"]] if s["class_index"] < len(counts) else None
            names = state["class_names"]
            other = plain(names[1 - s["class_index"]]) if len(names) == 2 and s["class_index"] in (0, 1) else None
            st.caption(scores_in_words(s, plain(names[s["class_index"]]), n_real, other), help=SCORES_HELP)
        with act:
            memorized_note(s, state["status"])
            sample_controls(s, state["status"])
        if s["memorized"]:
            why_flagged(s, copied, state)
        if reals:
            nearest_reals(s, reals, distances, state)


def memorized_note(s: dict, status: str) -> None:
    """Above the reject control: what a memorized flag asks of the reviewer."""
    if s["memorized"] and not s["rejected"] and status == "approved":
        # Approval refuses open flags, so this one came later (a rescore): the gate leaves the sample out.
        st.error("Flagged as a near-copy of a training image after its batch was approved: it stays out of training "
                 "all the same; reject it to record that decision.")
    elif s["memorized"] and not s["rejected"]:
        st.error("Flagged as a near-copy of a training image: reject it before the batch can be approved.")
    elif s["memorized"]:
        st.caption("Flagged as a near-copy of a training image; rejected, so it no longer blocks the approval.")


def nearest_reals(s: dict, reals: list[dict], distances: dict[int, float], state: dict) -> None:
    st.markdown("Nearest real training images (nearest first, feature distance d)")
    ds = [distances.get(r["id"], s["nn_distance"] if i == 0 else None) for i, r in enumerate(reals)]
    # The nearest images come from every class: the caption says whose (a scratch sample nearest an "ok" part).
    # NEIGHBOUR_PX, not thumbnails: a fine crack must be comparable with the sample's (four to a row across the box).
    # A long class name is cut to fit the caption (`tile_name`; "dermatofibrom / a_nodular" broke mid-word at 96 px),
    # and given whole on one line below the row.
    px, names = shown_px(NEIGHBOUR_PX, state["side"]), state["class_names"]
    show_images([r["path"] for r in reals],
                [f"real #{r['id']} · {plain(tile_name(names[r['class_index']], px))}"
                 + (f" · d={fmt(d)}" if d is not None else "") for r, d in zip(reals, ds)],
                size=px,
                alts=[f"nearest real training image {n} of {len(reals)}: #{r['id']}, class "
                      f"{names[r['class_index']]}" + (f", feature distance {fmt(d)}" if d is not None else "")
                      for n, (r, d) in enumerate(zip(reals, ds), start=1)])
    if whole := names_in_full([(r["id"], names[r["class_index"]]) for r in reals], px, "real #"):
        st.caption(whole)


def sample_controls(s: dict, status: str) -> None:
    """The sample's tags and its tag, reject and restore controls. A rejected or revoked batch offered "Reject
    sample", which every click had refused ("none of its samples can be used anyway")."""
    tag_names = [t["name"] for t in load_tags()]
    st.markdown("Tags: " + (", ".join(map(plain, s["tags"])) or "none"))
    new_tag = st.selectbox("Artifact tag", [t for t in tag_names if t not in s["tags"]], key=f"tag_pick_{s['id']}",
                           index=None, placeholder="choose a tag")  # nothing tagged by one click on "Add tag"
    sid = s["id"]
    st.text_input(f"Tag reason (required for '{FREE_FORM_TAG}': say what the problem is)", key=f"tag_reason_{sid}")
    refusal(sid, "tag")
    st.button("Add tag", key=f"tag_add_{sid}", disabled=new_tag is None, on_click=tag_open_sample, args=(sid, new_tag))
    for t in s["tags"]:
        st.button(f"Remove {plain(t)}", key=f"untag_{sid}_{t}", type="tertiary", icon=":material/close:",
                  on_click=act_on_sample, args=(lambda session, me, t=t: untag_sample(session, sid, t, me),
                                                f"#{sid}: {t} removed", sid, "tag"))
    if not s["rejected"] and status not in ("pending", "approved"):  # the database refuses it: say why instead
        st.caption(f"Its batch is {status}: none of its samples is used, so none is rejected one by one.")
        return
    if not s["rejected"]:
        st.text_input("Reason to reject this sample", key=f"reject_reason_{sid}")
        refusal(sid, "reject")
        st.button("Reject sample", key=f"reject_sample_{sid}", on_click=decide_open_sample, args=("reject", sid))
        return
    st.info(rejection_note(sid), icon=":material/block:")
    if status == "pending":  # a misclick can be undone until the batch is decided; the log keeps both
        st.text_input("Reason to withdraw the rejection", key=f"restore_reason_{sid}")
        refusal(sid, "restore")
        st.button("Restore sample", key=f"restore_sample_{sid}", type="tertiary", icon=":material/undo:",
                  on_click=decide_open_sample, args=("restore", sid))
    refusal(sid)  # "Reject sample" refused because a colleague rejected it first: its button is gone


def refusal(sample_id: int, control: Optional[str] = None) -> None:
    """The refusal of the click on `control` ("tag", "reject", "restore"; `review_decisions.sample_refused`), just
    above its button: where the reviewer looks, in sight at once. Not a toast: at 1024 px one covered the top of
    this box, and the error with it, for 4 s. `control` None: a refusal of any control of the sample."""
    flash = st.session_state.get("review_sample_flash")
    if flash and flash[0] == sample_id and control in (None, flash[1]):
        del st.session_state["review_sample_flash"]
        st.error(plain(flash[2]), icon=":material/error:")  # a reason or tag name someone typed
