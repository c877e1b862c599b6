"""The review page's grid: one button per sample of the page (the keyboard's way to a sample) and the page's tiles as
one image list, a click on either opening the sample. Not a page itself (app.py never lists it)."""

from __future__ import annotations

import streamlit as st

from pages.tile_clicks import tile_clicks
from pages.ui import TILE_PX, file_changed, fmt, home, image_uri, placeholder_uri, plain, tile_name


def sample_picker(samples: list[dict], page_key: str) -> None:
    """One button per sample of the page, which opens it. Above the opened sample and the grid: in sight of the
    sample it opens (below 48 tiles it was not)."""
    ids = [s["id"] for s in samples]
    current, pick_key = st.session_state.get("review_open"), f"open_pick_{page_key}"
    # The open sample is the chosen button; once a tile's click has set the button's state, a default would clash.
    # The buttons are the keyboard's way to a sample (a tile takes no focus): each says in words what its tile's
    # frame says in colour.
    flagged = {s["id"]: pick_flag(s) for s in samples}
    st.pills("Open a sample", ids, format_func=lambda i: f"#{i}" + flagged.get(i, ""), key=pick_key,
             width="content", wrap=True,
             default=current if current in ids and pick_key not in st.session_state else None,
             on_change=open_picked, args=(pick_key,))


def sample_grid(samples: list[dict], state: dict, page_key: str, tile_px: int = TILE_PX) -> None:
    """The page's tiles as ONE image-list element (a page switch redraws one element, not 48 columns); a click on a
    tile opens its sample as its button in `sample_picker` does."""
    names = state["class_names"]
    ids = [s["id"] for s in samples]
    pick_key = f"open_pick_{page_key}"
    uris, captions, alts, missing, changed = [], [], [], [], []
    for s in samples:
        uri = image_uri(home(), s["path"], tile_px,
                        mark="rejected" if s["rejected"] else "memorized" if s["memorized"] else None)
        is_changed = uri is not None and file_changed(home(), s["path"], s["sha256"])
        if uri is None:
            missing.append(s["path"])
        if is_changed:
            changed.append(s["id"])
        uris.append(uri or placeholder_uri(tile_px))
        flags = ((["FILE CHANGED"] if is_changed else []) + (["MEMORIZED"] if s["memorized"] else [])
                 + (["rejected"] if s["rejected"] else []) + s["tags"])
        conf = [] if s["class_confidence"] is None else [f"conf {fmt(s['class_confidence'])}"]  # no "conf —"
        # A catalogue's long class name, whole, wrapped every caption of the grid onto four lines.
        captions.append(" · ".join([f"#{s['id']}", tile_name(names[s["class_index"]], tile_px), *conf, *flags]))
        alts.append(tile_alt(s, names[s["class_index"]], is_changed))
    markdown_captions = [plain(c) for c in captions]  # st.image renders captions as Markdown; alt text (`alts`) not
    # Above the tiles, in sight with the first row: what is wrong with a file, then what the frames mean.
    if missing:
        st.warning(f"image file missing or unreadable: {plain(', '.join(missing[:5]))}" + (" …" if len(missing) > 5 else "")
                   + " (shown as a crossed grey tile)", icon=":material/broken_image:")
    if changed:
        st.error(f"{len(changed)} sample file(s) on this page no longer match the sha256 recorded when they were "
                 f"generated ({', '.join(f'#{i}' for i in changed[:8])}{' …' if len(changed) > 8 else ''}). What you see "
                 "is not what was generated; the training gate leaves such files out whatever the decision. Find out "
                 "how they changed before approving.", icon=":material/gpp_bad:")
    if any(s["rejected"] or s["memorized"] for s in samples):
        st.caption("Greyed out in a red frame: rejected, it stays out of training. Dashed orange frame: memorized "
                   "(a near-copy of a training image), to reject before the batch can be approved.")
    if uris:
        with st.container(key="review_grid"):
            st.image(uris, caption=markdown_captions, width=tile_px, alt=alts)
        # A click on a tile opens its sample, as its button above does.
        tile_clicks("review_grid", ids, key=f"tile_click_{page_key}",
                    on_click=lambda sample_id: open_sample(sample_id, pick_key))


def pick_flag(s: dict) -> str:
    """What a sample's button adds to its number: " · rejected" or " · memorized" (rejected wins, as in its tile)."""
    return " · rejected" if s["rejected"] else " · memorized" if s["memorized"] else ""


def tile_alt(s: dict, class_name: str, changed: bool) -> str:
    """A tile in words, for a screen reader (the tile's alt text): what its caption abbreviates and its frame draws,
    with the class name whole. Plain text: alt text is not Markdown."""
    parts = [f"sample #{s['id']}, class {class_name}"]
    if s["class_confidence"] is not None:
        parts.append(f"class confidence {fmt(s['class_confidence'])}")
    if changed:
        parts.append("its file changed since it was generated")
    if s["memorized"]:
        parts.append("memorized: a near-copy of a training image")
    if s["rejected"]:
        parts.append("rejected")
    if s["tags"]:
        parts.append("tagged " + ", ".join(s["tags"]))
    return "; ".join(parts)


def open_picked(key: str) -> None:
    st.session_state["review_open"] = st.session_state.get(key)


def open_sample(sample_id: int, pick_key: str) -> None:
    """A tile's click: the sample opens, and its button above the grid shows it chosen."""
    st.session_state["review_open"] = st.session_state[pick_key] = sample_id
