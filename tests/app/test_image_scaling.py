"""Images the pages draw smaller than they are stored are averaged down: nearest-neighbour shrinking kept one pixel
row in n, so a one-pixel crack across a 512² photo vanished from its tile."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from ganaug_core.imageio import encode_png


def _drawn(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def test_a_thin_line_survives_a_shrunk_tile_and_an_enlarged_one_keeps_its_pixels(tmp_path):
    from pages.ui import _image_uri

    photo = np.full((1, 512, 512), 200, dtype=np.uint8)
    photo[0, 301, :] = 0  # a one-pixel dark crack across the image
    (tmp_path / "big.png").write_bytes(encode_png(photo))
    tile = _drawn(_image_uri(str(tmp_path / "big.png"), (1, 1), 112)).astype(int)
    assert tile.shape == (112, 112)
    assert tile.min(axis=1).min() < 200 - 30  # a row of the tile is darker: the crack shows, faintly
    small = np.arange(64, dtype=np.uint8).reshape(1, 8, 8)
    (tmp_path / "small.png").write_bytes(encode_png(small))
    enlarged = _drawn(_image_uri(str(tmp_path / "small.png"), (1, 1), 32))
    assert np.array_equal(enlarged, np.kron(small[0], np.ones((4, 4), dtype=np.uint8)))  # pixel for pixel
