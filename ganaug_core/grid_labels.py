"""Class names written beside the rows of an overview grid, so the PNG says which row is which on its own.

A rare class that resembles a common one (a cracked disc, a disc) is told apart in a grid only by its row; the
training loop's overview (one row per class) is opened from the run folder as often as in the app. The names go in
a margin on the left, in Pillow's built-in font (no font file is read), light grey on the grid's black.
"""

from __future__ import annotations

import unicodedata

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ganaug_core.shown_text import one_line

MARGIN_MAX_PX = 140  # a longer name is cut with "…" (see `row_labels`)
TEXT_GREY = 224
ELLIPSIS = "…"
MISSING = "?"  # for a letter the font lacks (it would draw an empty box): a name in another script reads "class N"
NO_GLYPH = "\ue000"  # a private-use code point: what the font draws for a letter it lacks


def _font(row_px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's own font, sized to the row (8–16 px); its bitmap font where Pillow lacks FreeType."""
    return ImageFont.load_default(size=max(8, min(16, row_px * 3 // 5)))


def _glyph(font, ch: str) -> tuple:
    """What the font draws for `ch`, comparable with what it draws for another letter."""
    mask = font.getmask(ch)
    return mask.getbbox(), bytes(mask)


def _drawable(name: str, index: int, font, no_glyph: tuple) -> str:
    """`name` without accents (é → e), its line breaks, tabs and control characters as escapes, as the command line
    shows it (`one_line`), each letter the font lacks (drawn as `no_glyph`, the box) as MISSING; "class `index`" when
    none of its letters are drawn. Pillow cannot measure a label of two lines: `ganaug train` on a class folder named
    'a\\nb' stopped at its first grid."""
    name = one_line("".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)))
    shown = "".join(ch if ch.isspace() or _glyph(font, ch) != no_glyph else MISSING for ch in name)
    return shown if shown.strip(MISSING + " ") else f"class {index}"


def _fitted(draw: ImageDraw.ImageDraw, name: str, font, width: int) -> str:
    """`name`, cut to fit `width` px with a trailing ellipsis."""
    if draw.textlength(name, font=font) <= width:
        return name
    while name and draw.textlength(name + ELLIPSIS, font=font) > width:
        name = name[:-1]
    return name + ELLIPSIS


def _fitted_middle(draw: ImageDraw.ImageDraw, name: str, font, width: int) -> str:
    """`name`, cut to fit `width` px by an ellipsis in its middle: its start and its end both shown."""
    head, tail = name[:len(name) // 2], name[len(name) // 2:]
    while (head or tail) and draw.textlength(head + ELLIPSIS + tail, font=font) > width:
        if len(head) >= len(tail):
            head = head[:-1]
        else:
            tail = tail[1:]
    return head + ELLIPSIS + tail


def row_labels(names: list[str], row_px: int, pad: int) -> tuple[list[str], int]:
    """The text written beside each row (see `_drawable`) and the margin's width in px. A name too long is cut at
    its end, but names that would then read the same are cut in their middle: a catalogue named crop first
    ("Corn_(maize)___healthy", "Corn_(maize)___Common_rust_") labelled four rows "Corn_(maize)___…"."""
    font = _font(row_px)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    no_glyph = _glyph(font, NO_GLYPH)
    names = [_drawable(n, i, font, no_glyph) for i, n in enumerate(names)]
    widest = max((probe.textlength(n, font=font) for n in names), default=0)
    margin = int(min(MARGIN_MAX_PX, widest)) + 2 * pad + 2
    room = margin - 2 * pad - 2
    shown = [_fitted(probe, n, font, room) for n in names]
    alike = {s for s in shown if shown.count(s) > 1}
    return [_fitted_middle(probe, n, font, room) if s in alike and s != n else s
            for n, s in zip(names, shown)], margin


def label_rows(grid: np.ndarray, names: list[str], row_px: int, pad: int) -> np.ndarray:
    """`grid` (uint8 C, H, W; rows of `row_px` images every `row_px + pad` px from `pad`) with a margin on the
    left naming row i `names[i]` (see `row_labels`). Deterministic: the same grid and names give the same bytes."""
    c, h, w = grid.shape
    font = _font(row_px)
    labels, margin = row_labels(names, row_px, pad)
    text = Image.new("L", (margin, h), 0)
    draw = ImageDraw.Draw(text)
    for i, shown in enumerate(labels):
        top, bottom = draw.textbbox((0, 0), shown, font=font)[1::2]
        middle = pad + i * (row_px + pad) + row_px / 2
        draw.text((pad + 1, round(middle - (top + bottom) / 2)), shown, fill=TEXT_GREY, font=font)
    column = np.repeat(np.asarray(text, dtype=np.uint8)[None], c, axis=0)
    return np.concatenate([column, grid], axis=2)
