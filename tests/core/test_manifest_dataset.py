"""ManifestDataset decodes through the project's size guard: an oversized image gets a one-line GanaugError."""

from __future__ import annotations

import hashlib
import struct
import zlib

import numpy as np
import pytest

from ganaug_core.errors import GanaugError
from ganaug_core.imageio import encode_png
from ganaug_core.manifest_dataset import ManifestDataset


def png_header_claiming(side: int) -> bytes:
    """A PNG whose header claims side² pixels and holds none: what a tampered file can look like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def manifest_of(tmp_path, images: dict[str, bytes]) -> ManifestDataset:
    for name, data in images.items():
        (tmp_path / name).write_bytes(data)
    return ManifestDataset([dict(path=name, sha256=hashlib.sha256(data).hexdigest(), class_index=i)
                            for i, (name, data) in enumerate(images.items())], tmp_path)


# 10,000² is above our limit and below twice it (where Pillow itself only warns); 20,000² is above both.
@pytest.mark.parametrize("side", [10_000, 20_000])
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_oversized_image_is_refused_with_one_line(tmp_path, side):
    ds = manifest_of(tmp_path, {"ok.png": encode_png(np.full((1, 4, 4), 7, np.uint8)), "bomb.png": png_header_claiming(side)})
    image, label = ds[0]
    assert tuple(image.shape) == (1, 4, 4) and label == 0
    with pytest.raises(GanaugError, match=r"^refusing .*bomb\.png: .*decompression bomb\?\)$") as e:
        ds[1]
    assert "\n" not in str(e.value)
