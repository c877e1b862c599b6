"""Decoding a 16-bit or float image (scans often are) costs a few bytes per pixel, not tens: the pixel limit alone let
a 0.3 MB 16-bit TIFF of 88 M pixels take 2.3 GB of memory to decode, through float64 copies of every pixel."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from PIL import Image

from ganaug_core.imageio import ImageRejected, load_image

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


def _image(mode: str, side: int) -> Image.Image:
    im = Image.new(mode, (side, side))
    if mode == "P":
        im.putpalette([0, 0, 0] * 256)
    return im


@pytest.mark.parametrize("mode, name, save", [
    ("RGBA", "rgba.png", {}), ("LA", "la.png", {}), ("P", "palette.png", {"transparency": 0}),
    ("F", "float.tif", {}), ("RGB", "rgb.webp", {"lossless": True}), ("RGBA", "rgba.webp", {"lossless": True}),
])
def test_an_image_that_takes_more_bytes_to_decode_is_refused_below_the_pixel_limit(tmp_path, mode, name, save):
    # At the pixel limit an RGBA PNG took 1.35 GB to decode, an RGBA WebP 2 GB, where an RGB PNG took 0.68 GB.
    side = 64
    _image(mode, side).save(tmp_path / name, **save)
    with pytest.raises(ImageRejected, match="MiB to decode, above the .* safety limit") as refused:
        load_image(tmp_path / name, 8, 3, max_pixels=side * side)
    assert refused.value.bomb


@pytest.mark.parametrize("mode, name", [("L", "gray.png"), ("RGB", "rgb.png"), ("I;16", "16bit.png"),
                                        ("P", "palette.gif"), ("RGB", "photo.jpg"), ("CMYK", "print.jpg")])
def test_an_image_that_decodes_in_a_few_bytes_a_pixel_is_taken_up_to_the_pixel_limit(tmp_path, mode, name):
    side = 64
    _image(mode, side).save(tmp_path / name)
    assert load_image(tmp_path / name, 8, 3, max_pixels=side * side).shape == (3, 8, 8)


def test_an_image_turned_upright_by_its_rotation_tag_counts_the_turned_copy(tmp_path):
    # An RGB PNG at the pixel limit with a camera's rotation tag took 1.0 GB to decode, 0.68 GB without the tag.
    side, exif = 64, Image.Exif()
    exif[0x0112] = 6  # EXIF orientation: turned 90°
    Image.new("RGB", (side, side)).save(tmp_path / "turned.png", exif=exif.tobytes())
    with pytest.raises(ImageRejected, match="turned upright would take about"):
        load_image(tmp_path / "turned.png", 8, 3, max_pixels=side * side)
    assert load_image(tmp_path / "turned.png", 8, 3, max_pixels=side * side * 3 // 2).shape == (3, 8, 8)


def test_a_folder_of_images_is_held_once_while_it_is_read(home, tmp_path):
    """read_folder kept a list of the decoded images and stacked it at the end: every pixel twice at the peak (1.8 GB
    for 60,000 64² colour images of 737 MB). Now they are decoded into one array; a skipped file costs no copy."""
    from ganaug_core.dataset_sources import read_folder
    from ganaug_core.datasets import IngestOptions

    side, per_class = 64, 40
    rng = np.random.default_rng(0)
    for name in ("crack", "ok"):
        (tmp_path / "src" / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 4, (side, side, 3), dtype=np.uint8)).save(tmp_path / "src" / name / f"{i}.png")
    options = IngestOptions(resolution=side, workers=1, test_fraction=0.2)
    # Once before measuring: a process's first read imports what it uses the first time (numpy.ma among them),
    # 0.24× these pixels here, which this test counted where it ran first in its process, and failed (1.70×).
    read_folder(tmp_path / "src", options, lambda p: None)
    tracemalloc.start()
    try:
        pixels = read_folder(tmp_path / "src", options, lambda p: None)[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pixels.shape == (2 * per_class, 3, side, side)
    # 1.4 here (the grey check compares one block of up to 1,024 images); 2.4 when the images were stacked from a list
    assert peak < 1.7 * pixels.nbytes, peak / pixels.nbytes
