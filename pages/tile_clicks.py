"""Clicks on the tiles of an image grid, reported to the page as the clicked tile's id (the Review page's grid,
pages/review_grid.py). Not a page itself (app.py never lists it).
"""

from __future__ import annotations

import streamlit as st

# Clicks on the tiles of an image grid (`st.image` with a list, inside `st.container(key=grid)`), reported as the
# clicked tile's id. st.image takes no click handler, so this component draws nothing: one click listener on the
# document finds the tile under the pointer and its index among the grid's images, which names the id. The
# listener is installed once per browser page and reads the ids, the grid and the trigger of the latest render, so
# a page switch (new images, same listener) needs nothing more. Each tile also gets a pointer cursor; its alt text
# comes from st.image itself (`alt=`). Trusted code only: it receives ids, never HTML.
# The sample a click opens is drawn in a box above the grid: a click on a tile 3,000 px further down (a 48-tile page
# at 1024 px) opened it out of sight, and the page seemed not to answer. Once it is drawn (its image's alt text ends
# "enlarged", sample_detail), the page scrolls to its box (`review_detail`) unless the box is in sight already, its
# tag and reject controls with it. Not once the reviewer has pressed a key or the pointer after the click: the box
# came when its image had loaded, seconds later on a busy server, and a scroll then moved the page under them and shut
# the tag list they had opened (Streamlit shuts a select's list when the page scrolls).
_TILE_CLICKS_JS = """
export default function(component) {
    const { data, setTriggerValue } = component;
    const selector = `.st-key-${data.grid} [data-testid="stImage"] img`;
    window.__ganaugTiles = { selector, ids: data.ids, trigger: setTriggerValue };
    if (!window.__ganaugTileClicks) {
        const style = document.createElement("style");
        style.textContent = '[class*="st-key-"] [data-testid="stImage"] img.ganaug-tile { cursor: pointer; }';
        document.head.appendChild(style);
        window.__ganaugTileClicks = (event) => {
            const tiles = window.__ganaugTiles;
            const img = event.target.closest(tiles.selector);
            if (!img) return;
            const index = Array.from(document.querySelectorAll(tiles.selector)).indexOf(img);
            if (index >= 0 && index < tiles.ids.length) {
                tiles.trigger("clicked", tiles.ids[index]);
                window.__ganaugReveal(tiles.ids[index]);
            }
        };
        window.__ganaugMovedOn = 0;  // counts the reviewer's presses (keys, pointer), to tell one after a click
        const movedOn = () => { window.__ganaugMovedOn += 1; };
        document.addEventListener("keydown", movedOn, true);
        document.addEventListener("pointerdown", movedOn, true);
        window.__ganaugReveal = (id) => {
            const until = Date.now() + 10000;
            const pressed = window.__ganaugMovedOn;  // the click's own pointerdown came before it
            const look = () => {
                if (window.__ganaugMovedOn !== pressed) return;  // the reviewer has moved on: the page stays put
                const img = Array.from(document.querySelectorAll("img[alt]")).find(
                    (i) => i.alt.startsWith(`sample #${id},`) && i.alt.includes(", enlarged") && i.complete);
                // The box is measured once the run has drawn all of it: its image comes before its controls. (A
                // Streamlit without the attribute: measured at once, as before.)
                const app = document.querySelector('[data-testid="stApp"]');
                const state = app && app.getAttribute("data-test-script-state");
                const drawn = state === null || state === "notRunning";
                if (!img || !drawn) {
                    if (Date.now() < until) setTimeout(look, 100);
                    return;
                }
                const detail = img.closest(".st-key-review_detail") || img;
                const box = detail.getBoundingClientRect();
                if (box.top < 60 || box.bottom > window.innerHeight) {
                    detail.style.scrollMarginTop = "4rem";  // below the app's header bar
                    detail.scrollIntoView({ block: "start" });
                }
            };
            look();
        };
        document.addEventListener("click", window.__ganaugTileClicks);
        // Tiles drawn after this component ran (Streamlit draws the page's elements as they arrive) got no class,
        // and so no pointer cursor: every tile that appears later is marked too.
        window.__ganaugMarkTiles = () => document.querySelectorAll(
            `${window.__ganaugTiles.selector}:not(.ganaug-tile)`).forEach((img) => img.classList.add("ganaug-tile"));
        new MutationObserver(() => window.__ganaugMarkTiles()).observe(
            document.body, { childList: true, subtree: true });
    }
    window.__ganaugMarkTiles();
}
"""
_tile_clicks = st.components.v2.component("ganaug_tile_clicks", js=_TILE_CLICKS_JS)


def tile_clicks(grid: str, ids: list[int], key: str, on_click) -> None:
    """Make the tiles of the image grid in `st.container(key=grid)` clickable: `on_click(id)` runs on a click
    (as a widget callback, before the page is drawn again). Call it after the grid."""
    def clicked() -> None:
        value = st.session_state[key]["clicked"]
        if value is not None:
            on_click(int(value))

    _tile_clicks(data={"grid": grid, "ids": [int(i) for i in ids]}, key=key,
                 on_clicked_change=clicked)
