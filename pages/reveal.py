"""A box that opens below what the reviewer clicked, scrolled into sight once it is drawn (a small script run in the
browser: Streamlit scrolls nothing itself). Not a page itself (app.py never lists it)."""

from __future__ import annotations

import streamlit as st

# At 1024×768 "Approve batch" sits near the window's foot (it comes after the grid), and the confirmation that took
# its place ran half below the window, "Confirm approval" out of sight: the reviewer saw nothing happen. The page
# scrolls to the box once it is drawn (Streamlit's script no longer running), unless it is in sight already. Once per
# box drawn (the component's element; a box closed and opened again is a new one): a later rerun leaves the page
# where the reviewer scrolled it.
_REVEAL_JS = """
export default function(component) {
    const { data, parentElement } = component;
    window.__ganaugRevealed = window.__ganaugRevealed || new WeakSet();
    if (window.__ganaugRevealed.has(parentElement)) return;
    window.__ganaugRevealed.add(parentElement);
    const until = Date.now() + 10000;
    const look = () => {
        const box = document.querySelector(`.st-key-${data.box}`);
        const app = document.querySelector('[data-testid="stApp"]');
        const state = app && app.getAttribute("data-test-script-state");
        if (!box || !(state === null || state === "notRunning")) {
            if (Date.now() < until) setTimeout(look, 100);
            return;
        }
        const rect = box.getBoundingClientRect();
        if (rect.top < 60 || rect.bottom > window.innerHeight) {
            box.style.scrollMarginTop = "4rem";  // below the app's header bar
            box.style.scrollMarginBottom = "1rem";
            // Its foot in sight where it fits, what led to it above it; else its top.
            box.scrollIntoView({ block: rect.height + 80 <= window.innerHeight ? "end" : "start" });
        }
    };
    look();
}
"""
_reveal = st.components.v2.component("ganaug_reveal", js=_REVEAL_JS)


def reveal(box: str) -> None:
    """Scroll the page to `st.container(key=box)` once it is drawn, unless it is in sight. Call it right after the
    box; it draws nothing."""
    _reveal(data={"box": box}, key=f"reveal_{box}")
