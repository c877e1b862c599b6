"""The opened sample is drawn larger than its tile: at 128² both were 128 px, so opening a sample showed no more of
it than the grid did."""

from __future__ import annotations

from ganaug_core.imageio import shown_px
from pages.ui import TILE_PX


def test_the_opened_sample_is_drawn_larger_than_its_tile_at_every_side_a_run_trains_at():
    from pages.review_sample import DETAIL_MAX_PX, detail_px

    for side in (8, 16, 32, 64, 128):
        px = detail_px(side)
        assert px > shown_px(TILE_PX, side), side  # larger than the grid's tile
        assert px % side == 0 and px <= max(DETAIL_MAX_PX, side), side  # whole pixels, within the column
    assert detail_px(128) == 256 and detail_px(64) == 192 and detail_px(16) == 160  # the smaller sides as before
    assert detail_px(200) == 200  # twice would not fit its half of the detail box: drawn at its own size
