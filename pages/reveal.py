"""A box that opens below what the reviewer clicked, scrolled into sight and given the keyboard's focus once it is
drawn, and focus given back to a control after a click made the one pressed go away (small scripts run in the
browser: Streamlit scrolls and focuses nothing itself). Not a page itself (app.py never lists it)."""

from __future__ import annotations

import streamlit as st

# At 1024×768 "Approve batch" sits near the window's foot (it comes after the grid), and the confirmation that took
# its place ran half below the window, "Confirm approval" out of sight: the reviewer saw nothing happen. The page
# scrolls to the box once it is drawn (Streamlit's script no longer running), unless it is in sight already. Once per
# box drawn (the component's element; a box closed and opened again is a new one): a later rerun leaves the page
# where the reviewer scrolled it.
# Its button that confirms takes the focus, as in a dialog: "Approve batch" gave way to the box and the browser put
# the focus on the page's body (chromium), where a screen reader said nothing of the box. Focused, the button is read
# out with the box's name and its first paragraph (what the approval admits), and Enter presses it; Tab goes on to
# Cancel.
_REVEAL_JS = """
export default function(component) {
    const { data, parentElement } = component;
    window.__ganaugRevealed = window.__ganaugRevealed || new WeakSet();
    if (window.__ganaugRevealed.has(parentElement)) return;
    window.__ganaugRevealed.add(parentElement);
    const until = Date.now() + 10000;
    let movedOn = false;  // a press (key, pointer) since the box began to come: the reviewer has gone on meanwhile
    const moved = () => { movedOn = true; };
    const presses = ["keydown", "pointerdown"];
    presses.forEach((type) => document.addEventListener(type, moved, true));
    const look = () => {
        const box = document.querySelector(`.st-key-${data.box}`);
        const app = document.querySelector('[data-testid="stApp"]');
        const state = app && app.getAttribute("data-test-script-state");
        const drawn = box && (state === null || state === "notRunning");
        if (!drawn && Date.now() < until) {
            setTimeout(look, 100);
            return;
        }
        presses.forEach((type) => document.removeEventListener(type, moved, true));
        if (!drawn) return;
        box.setAttribute("role", "group");
        box.setAttribute("aria-label", data.label);
        const text = box.querySelector('[data-testid="stMarkdownContainer"]');
        const button = box.querySelector(`.st-key-${data.focus} button`);
        if (text && button) {
            text.id = `${data.box}-text`;
            button.setAttribute("aria-describedby", text.id);
        }
        // On a busy server the run goes on for seconds after the box is drawn: a reviewer who pressed something
        // since (a tag picker opened, a field typed into) keeps the focus and the page where they put them, as a
        // tile's late scroll learnt to (it shut the picker's list under them).
        if (movedOn) return;
        if (button) button.focus({ preventScroll: true });
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


def reveal(box: str, label: str, focus: str) -> None:
    """Scroll the page to `st.container(key=box)` once it is drawn, unless it is in sight, and focus its button
    `st.button(key=focus)`; `label` is what a screen reader names the box by. Call it right after the box; it draws
    nothing."""
    _reveal(data={"box": box, "label": label, "focus": focus}, key=f"reveal_{box}")


# A click that disables or removes the control pressed ("Add tag" is disabled until another tag is chosen, "Reject
# sample" gives way to "Restore sample") left the focus on the page's body (chromium): a screen reader said nothing
# of what came of it, and where the next Tab went was the browser's guess. After such a click the focus goes to the
# control that follows from it, but only where it was lost: a reviewer who moved on meanwhile keeps the focus where
# they put it. Once per request (`nonce`). Only after a press of a key (or a screen reader's click, whose `detail` is
# 0): after a mouse's click the Batch picker's text field took the focus, where Shift+A and ← → typed into it and the
# approval's and the pages' shortcuts were dead, and a tablet opened its keyboard. How the last control was pressed is
# heard by `_INPUT_BY_JS`, drawn on every run (a component's script runs once, when it is first drawn).
_REFOCUS_JS = """
export default function(component) {
    const { data } = component;
    if (window.__ganaugRefocused === data.nonce) return;
    window.__ganaugRefocused = data.nonce;
    const until = Date.now() + 10000;
    const look = () => {
        const target = document.querySelector(data.selector);
        const app = document.querySelector('[data-testid="stApp"]');
        const state = app && app.getAttribute("data-test-script-state");
        if (!target || !(state === null || state === "notRunning")) {
            if (Date.now() < until) setTimeout(look, 100);
            return;
        }
        const now = document.activeElement;
        const lost = !now || now === document.body || !now.isConnected || now.disabled;
        if (lost && window.__ganaugInputBy === "keyboard") target.focus();
    };
    look();
}
"""
_refocus = st.components.v2.component("ganaug_refocus", js=_REFOCUS_JS)
_INPUT_BY_JS = """
export default function() {
    if (window.__ganaugInputBy) return;
    window.__ganaugInputBy = "keyboard";
    const by = (how) => () => { window.__ganaugInputBy = how; };
    document.addEventListener("keydown", by("keyboard"), true);
    document.addEventListener("pointerdown", by("pointer"), true);
    document.addEventListener("click", (e) => { if (e.detail === 0) window.__ganaugInputBy = "keyboard"; }, true);
}
"""
_input_by = st.components.v2.component("ganaug_input_by", js=_INPUT_BY_JS)

REFOCUS = "refocus"  # session state: the CSS selector of the control to focus after the next run, if focus is lost


def focus_next(selector: str) -> None:
    """From a callback: after the run it causes, focus the element `selector` finds (if the focus was lost)."""
    st.session_state[REFOCUS] = selector
    st.session_state[f"{REFOCUS}_nonce"] = st.session_state.get(f"{REFOCUS}_nonce", 0) + 1


def refocus() -> None:
    """Draw the refocus `focus_next` asked for, once; it draws nothing. Call it below the control it names, on every
    run: the page listens from its first draw for how the reviewer presses a control (`_INPUT_BY_JS`)."""
    _input_by(data={}, key=f"{REFOCUS}_input_by")
    selector = st.session_state.pop(REFOCUS, None)
    if selector:
        _refocus(data={"selector": selector, "nonce": st.session_state[f"{REFOCUS}_nonce"]}, key=REFOCUS)


def close_box(key: str, opener: str) -> None:
    """A confirmation's Cancel: the box (open while session state `key` is set) closes and the focus goes back to the
    button that opened it (`opener`, a CSS selector), where a keyboard user left off."""
    st.session_state[key] = None
    focus_next(opener)
