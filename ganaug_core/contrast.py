"""WCAG 2.1 contrast between two colours: what a mark or a text needs against what it is drawn on.

Text needs 4.5:1 (1.4.3), the parts of a figure or a control that carry meaning 3:1 (1.4.11): a frame, a bar, a
line, a point. The colours the app and its figures choose are checked against these in
tests/app/test_colour_contrast.py; the per-class recall table picks each value's text colour with them.
"""

from __future__ import annotations

from numbers import Integral

TEXT = 4.5  # WCAG 1.4.3, normal-size text
GRAPHIC = 3.0  # WCAG 1.4.11, non-text contrast


def _rgb(colour) -> tuple[float, float, float]:
    """sRGB in 0..1 from "#rrggbb", integers (r, g, b) in 0..255 (Pillow's, or numpy's uint8 from an image array),
    or floats (r, g, b[, a]) in 0..1 (matplotlib's; an alpha is ignored)."""
    if isinstance(colour, str):
        return tuple(int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    rgb = tuple(colour[:3])
    return tuple(v / 255 for v in rgb) if all(isinstance(v, Integral) for v in rgb) else tuple(float(v) for v in rgb)


def relative_luminance(colour) -> float:
    """WCAG's relative luminance: 0 for black, 1 for white."""
    linear = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in _rgb(colour)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a, b) -> float:
    """From 1 (the same luminance) to 21 (black on white), whichever of the two is lighter."""
    lighter, darker = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_on(background) -> str:
    """"black" or "white", whichever reads better on `background` (4.58:1 at least, on any colour)."""
    return "black" if contrast_ratio("#000000", background) >= contrast_ratio("#ffffff", background) else "white"
