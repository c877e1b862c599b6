"""Decoding a 16-bit or float image (scans often are) costs a few bytes per pixel, not tens: the pixel limit alone let
a 0.3 MB 16-bit TIFF of 88 M pixels take 2.3 GB of memory to decode, through float64 copies of every pixel."""

from __future__ import annotations

import tracemalloc

import numpy as np
from PIL import Image

from ganaug_core.imageio import load_image

SIDE = 1024  # large enough for the arrays to dwarf everything else, small enough to take a fraction of a second


def peak_bytes_per_pixel(path) -> float:
    tracemalloc.start()  # numpy reports its arrays to tracemalloc; Pillow's own buffers are not counted
    try:
        out = load_image(path, 8, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (1, 8, 8)
    return peak / (SIDE * SIDE)


def test_a_wide_image_is_brought_to_8_bits_in_a_few_bytes_per_pixel(tmp_path):
    ramp = (np.arange(SIDE * SIDE, dtype=np.uint32) % 65536).reshape(SIDE, SIDE)
    for name, arr in (("16bit.tif", ramp.astype(np.uint16)), ("float.tif", (ramp / 65535.0).astype(np.float32)),
                      ("int32.tif", ramp.astype(np.int32) * 1000 - 7)):
        Image.fromarray(arr).save(tmp_path / name, compression="tiff_deflate")
        # Pillow's bytes (2-4 a pixel, and a copy), the 8-bit result and a block of rows: 4.5-8 bytes a pixel; the
        # float64 copies of the whole image took 25
        assert peak_bytes_per_pixel(tmp_path / name) < 10, name
