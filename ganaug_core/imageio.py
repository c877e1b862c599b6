"""Image decoding and encoding, guarded against decompression bombs.

Every image that enters ganaug goes through `load_image`: the header is checked against a pixel limit before any
pixel is decoded, JPEGs are decoded at reduced scale when that is enough (libjpeg's draft mode), and the result is
a uint8 array of shape (C, H, W) at the dataset's resolution.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ganaug_core.plain_files import NotAPlainFile, open_plain, through_link

# .jpe and .jfif: JPEGs as some Windows tools and browsers save them (the file's bytes pick the decoder, not its name).
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
# Images of formats ganaug does not decode, by name: a lab's folder holds a phone's HEIC photos and a microscope's own
# files, which were listed as "not an image file type" as if they were notes.
UNREAD_IMAGE_TYPES = {
    ".heic": "an iPhone's HEIC photo", ".heif": "a HEIF photo", ".avif": "an AVIF image", ".jp2": "a JPEG 2000 image",
    ".dng": "a camera's raw file", ".cr2": "a camera's raw file", ".nef": "a camera's raw file",
    ".arw": "a camera's raw file", ".czi": "a Zeiss microscope file", ".nd2": "a Nikon microscope file",
    ".lif": "a Leica microscope file", ".svs": "a whole-slide scan", ".ndpi": "a whole-slide scan",
}
# The decoders Pillow may use, whatever a file's name says. Pillow otherwise tries each of its 43 formats by the
# file's first bytes: a "scan.png" holding PostScript would go to its EPS plugin, which runs Ghostscript where that
# is installed, and rarely used decoders are where decoding bugs are found. (A camera's multi-picture JPEG is read
# by the JPEG decoder.)
DECODERS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF")
# Pillow's own default; a larger image is refused before its pixels are decoded.
MAX_PIXELS = 89_478_485
# Pixels are not all alike: what decoding one takes at its peak, measured per pixel on images of 88 M pixels
# (2026-12-06). Pillow holds RGB, 32-bit and float in 4 bytes a pixel; transparency is composited through RGBA
# copies; libwebp decodes through buffers of its own. An RGBA PNG at the pixel limit took 1.35 GB, an RGBA WebP 2 GB.
DECODE_BYTES_PER_PIXEL = {"1": 6, "L": 6, "P": 6, "I;16": 8, "I;16B": 8, "I;16L": 8, "I": 12, "F": 12}
TRANSPARENT_BYTES_PER_PIXEL = 16
WEBP_EXTRA_BYTES_PER_PIXEL = 8
TURNED_EXTRA_BYTES_PER_PIXEL = 4  # a camera's rotation tag: the image is turned upright in a full-size copy
# So an image is also refused by bytes: above what an RGB image at the pixel limit takes (8 bytes a pixel).
RGB_BYTES_PER_PIXEL = 8
EXIF_ORIENTATION = 0x0112  # the EXIF tag for how a camera held the sensor (1: upright)

# We check sizes ourselves (with a message naming the file); Pillow's global check stays as a second guard.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Between that limit and twice it Pillow only warns, and `_check_size` refuses the same image right after with a
# message of ours: its two-line warning would just be noise on stderr before our one-line error. A process-wide
# filter, set at import (so in decoding worker processes too): `warnings.catch_warnings` is not thread-safe, and
# the app and the job worker decode in threads.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageRejected(Exception):
    """A file that is not a usable image (corrupt, not an image, too large)."""

    def __init__(self, reason: str, bomb: bool = False):
        super().__init__(reason)
        self.bomb = bomb


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_grayscale_mode(mode: str) -> bool:
    return mode in {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


@contextmanager
def _decoding(path: Path | BinaryIO, max_pixels: int, follow_links: bool = True,
              beneath: Path | None = None) -> Iterator[Image.Image]:
    """Open `path`, refuse it before decoding if it is too large, and turn every decoder error into ImageRejected.
    `follow_links` False: a link in `path`'s place is refused, not read (`_plain_file`)."""
    try:
        with _plain_file(path, follow_links, beneath) as f, Image.open(f, formats=DECODERS) as im:
            _check_size(im, path, max_pixels)
            yield im
    except ImageRejected:
        raise
    except Image.DecompressionBombError as e:  # Pillow's own check, at twice its limit, fires before ours
        size = re.search(r"\((\d+) pixels\)", str(e))
        pixels = f"{int(size.group(1)):,} pixels" if size else "the image"
        raise ImageRejected(f"{pixels} is above the {max_pixels:,}-pixel safety limit (decompression bomb?)",
                            bomb=True) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageRejected(f"not a readable image ({_why_unreadable(e, path)})") from None


@contextmanager
def _plain_file(path: Path | BinaryIO, follow_links: bool = True, beneath: Path | None = None) -> Iterator[BinaryIO]:
    """`path` opened for reading where it is a plain file (a file object is handed back as it is). A folder is listed
    before its images are read, and a listed image swapped for a pipe meanwhile blocked the open for good: a job
    worker's ingest no Cancel could stop, every later job queued behind it. A device (/dev/zero) never ends.
    `follow_links` False (an ingest told not to follow links): an image swapped for a link after the listing, which
    passed over links, was read where it led; O_NOFOLLOW refuses it, and a folder on the way below `beneath` (the
    folder listed) swapped for a link too (`plain_files.open_plain_fd`)."""
    if not isinstance(path, (str, os.PathLike)):
        yield path
        return
    try:
        f = open_plain(path, follow_links, beneath)
    except NotAPlainFile:
        raise ImageRejected("not a readable image (not a plain file: a pipe, socket or device)") from None
    except OSError as e:
        if not follow_links and e.errno in (errno.ELOOP, errno.ENOTDIR) and through_link(path, beneath):
            raise ImageRejected("a link, made after the folder was listed: not followed, as links are not for this "
                                "ingest") from None
        raise
    with f:
        yield f


def _why_unreadable(error: Exception, path: Path | BinaryIO) -> str:
    """In the user's words: '(UnidentifiedImageError)' said nothing of a file that was empty, or cut short."""
    if isinstance(path, Path) and path.is_file() and path.stat().st_size == 0:
        return "an empty file"
    if isinstance(error, UnidentifiedImageError):
        kind = _format_by_signature(path)
        if kind:  # a PNG cut before its pixels is unidentified too: "not recognised as png" named the wrong fault
            return f"a {kind} by its first bytes, but cut short or corrupt"
        return "not recognised as png, jpg, bmp, tif, webp or gif"
    if "truncated" in str(error).lower():  # "image file is truncated", "Truncated File Read"
        return "the file is cut short"
    if isinstance(error, OSError) and error.errno is not None:  # the file itself could not be read
        return error.strerror or type(error).__name__
    return "corrupt image data"


# The first bytes of each format a folder dataset may hold (DECODERS).
SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
              (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"))


def _format_by_signature(path: Path | BinaryIO) -> str | None:
    if not isinstance(path, Path):
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((kind for magic, kind in SIGNATURES if head.startswith(magic)), None)


def peek_mode(path: Path, max_pixels: int = MAX_PIXELS, follow_links: bool = True) -> str:
    """Read only the header: the image mode, after checking the size."""
    with _decoding(path, max_pixels, follow_links) as im:
        return im.mode


def peek_size(path: Path, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Read only the header: (width, height), after checking the size."""
    with _decoding(path, max_pixels) as im:
        return im.size


def _check_size(im: Image.Image, path: Path, max_pixels: int, extra_per_pixel: int = 0) -> None:
    w, h = im.size
    if w * h > max_pixels:
        raise ImageRejected(
            f"{w}×{h} pixels is above the {max_pixels:,}-pixel safety limit (decompression bomb?)", bomb=True
        )
    cost, budget = w * h * (decode_bytes_per_pixel(im) + extra_per_pixel), max_pixels * RGB_BYTES_PER_PIXEL
    if cost > budget:
        kind = (f"{im.format or ''} {im.mode}{' with transparency' if im.has_transparency_data else ''}"
                f"{' turned upright' if extra_per_pixel else ''}").strip()
        raise ImageRejected(
            f"{w}×{h} pixels of {kind} would take about {cost / 2**20:,.0f} MiB to decode, above the "
            f"{budget / 2**20:,.0f} MiB safety limit (decompression bomb?)", bomb=True
        )


def decode_bytes_per_pixel(im: Image.Image) -> int:
    """Peak bytes a pixel of `im` takes to decode, from its header alone (see DECODE_BYTES_PER_PIXEL)."""
    per_pixel = (TRANSPARENT_BYTES_PER_PIXEL if im.has_transparency_data
                 else DECODE_BYTES_PER_PIXEL.get(im.mode, RGB_BYTES_PER_PIXEL))
    return per_pixel + (WEBP_EXTRA_BYTES_PER_PIXEL if im.format == "WEBP" else 0)


def _wide_to_8bit(im: Image.Image, wide_top: int = 65535) -> Image.Image:
    """16-bit, 32-bit and float grayscale to 8 bits by the range the values are in, the same for every image.

    16-bit images are divided by 257 (65535 → 255), or by `wide_top` / 255 where the user says their values use fewer
    bits (4095: a 12-bit camera's, whose images were nearly black at 0–16); integer and float images already within
    0..255 keep their values, floats within 0..1 are scaled by 255, and 32-bit integers within 0..65535 are read as
    16-bit. Only values outside all of these fall back to the image's own range. NaN and ±inf become 0. A fixed scale
    keeps intensities comparable across images: a per-image stretch made a dark 16-bit scan as bright as a light one,
    and a constant image black."""
    raw = np.asarray(im)
    # In blocks of rows: whole-image float64 copies made a 0.3 MB 16-bit TIFF of 88 M pixels (under the pixel
    # limit) take 2.3 GB of memory to decode.
    floats = raw.dtype.kind == "f"
    if not raw.size:
        lo = hi = 0.0
    elif floats:
        finite = np.isfinite(raw)
        lo = float(np.min(raw, where=finite, initial=np.inf))
        hi = float(np.max(raw, where=finite, initial=-np.inf))
        lo, hi = (lo, hi) if lo <= hi else (0.0, 0.0)  # no finite value
        del finite
    else:
        lo, hi = float(raw.min()), float(raw.max())
    out = np.empty(raw.shape, dtype=np.uint8)
    rows = max(1, (1 << 16) // max(1, raw.shape[1]))  # ≈ 0.5 MB of float64 at a time
    for top in range(0, raw.shape[0], rows):
        arr = raw[top:top + rows].astype(np.float64)
        if floats:
            arr[~np.isfinite(arr)] = 0.0
        out[top:top + rows] = np.clip(np.round(_to_8bit_scale(arr, im.mode, lo, hi, wide_top)), 0, 255)
    return Image.fromarray(out, "L")


def _to_8bit_scale(arr: np.ndarray, mode: str, lo: float, hi: float, top: int = 65535) -> np.ndarray:
    # top / 255.0 is 257.0 exactly for 16 bits: the bytes stored before --bit-depth existed
    if mode.startswith("I;16"):
        return arr / (top / 255.0)
    if mode == "F" and lo >= 0.0 and hi <= 1.0:
        return arr * 255.0
    if lo >= 0.0 and hi <= 255.0:
        return arr
    if mode == "I" and lo >= 0.0 and hi <= 65535.0:
        return arr / (top / 255.0)
    return (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)


def _over_black(im: Image.Image) -> Image.Image:
    """An image with transparency (an alpha channel, a palette's or a colour key's) composited over black, as RGB.

    A pixel's colour is weighted by its opacity, so a fully transparent pixel is black whatever colour the file stores
    under it. Dropping the alpha instead would keep that colour: often black, but some tools keep the unmasked
    photograph there, which no viewer showed and the user meant to remove."""
    rgba = im.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("RGB")


def _to_mode(im: Image.Image, channels: int, top: int = 65535) -> Image.Image:
    if im.mode in {"I", "I;16", "I;16B", "I;16L", "F"}:
        im = _wide_to_8bit(im, top)
    if im.has_transparency_data:
        im = _over_black(im)
    return im.convert("L" if channels == 1 else "RGB")


def load_image(path: Path, resolution: int, channels: int, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode `path` into a (channels, resolution, resolution) uint8 array; raises ImageRejected."""
    return load_image_sized(path, resolution, channels, max_pixels)[0]


def load_image_sized(path: Path, resolution: int, channels: int, max_pixels: int = MAX_PIXELS, bit_depth: int = 16,
                     follow_links: bool = True, beneath: Path | None = None,
                     ) -> tuple[np.ndarray, tuple[int, int], int, int | None]:
    """`load_image`, the (width, height) the file stores (what ingestion says was lost when it shrinks a 128×128
    photo to 32×32), how many frames or pages it holds, of which only the first is read (a multi-page TIFF of a
    microscope's z-stack, an animated GIF), and a 16-bit image's highest value (None for others): a 12-bit camera's
    images stay below 4096. `bit_depth`: the bits a 16-bit image's values use, scaled 2**bit_depth − 1 → 255.
    `follow_links` False: a link in `path`'s place, or in a folder's below `beneath`, is refused (`_plain_file`)."""
    with _decoding(path, max_pixels, follow_links, beneath) as im:
        size = im.size  # before draft mode decodes a JPEG at reduced scale
        try:  # counted from the headers (a TIFF's pages, a GIF's blocks), none decoded
            frames = getattr(im, "n_frames", 1)
        except (OSError, SyntaxError, ValueError, EOFError):  # a broken chain of later pages: the first reads still
            frames = 1
        if im.format == "JPEG":
            # libjpeg can decode at 1/2, 1/4, 1/8 scale: far faster, and we only need `resolution` pixels.
            im.draft("L" if channels == 1 else "RGB", (resolution * 2, resolution * 2))
        if im.getexif().get(EXIF_ORIENTATION, 1) != 1:  # a camera's rotation tag: stored upright, as viewers show it
            # A PNG's tag may follow its pixels, so it is known only now (after draft mode shrank a JPEG).
            _check_size(im, path, max_pixels, extra_per_pixel=TURNED_EXTRA_BYTES_PER_PIXEL)
            im = ImageOps.exif_transpose(im)
        peak = im.getextrema()[1] if im.mode.startswith("I;16") else None  # in C, no copy of the pixels
        im = _to_mode(im, channels, 2**bit_depth - 1)
        im = im.resize((resolution, resolution), Image.BILINEAR, reducing_gap=2.0)
        arr = np.asarray(im, dtype=np.uint8)
    return (arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)), size, frames, peak


def encode_png(chw: np.ndarray) -> bytes:
    """uint8 (C, H, W) → PNG bytes. Deterministic: the same array always gives the same bytes."""
    img = chw[0] if chw.shape[0] == 1 else chw.transpose(1, 2, 0)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def save_png(chw: np.ndarray, path: Path) -> str:
    """Write a PNG and return its sha256."""
    data = encode_png(chw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha256_bytes(data)


def decode_image(source: Path | BinaryIO) -> np.ndarray:
    """Decode an image file (or file object) as stored — no resizing, no mode change — into a writable uint8
    (C, H, W) array; size-guarded like every decode of ours, every failure an ImageRejected."""
    with _decoding(source, MAX_PIXELS) as im:
        arr = np.array(im)  # a copy: torch refuses to wrap read-only buffers
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def read_png(path: Path) -> np.ndarray:
    """Read a PNG that ganaug itself wrote as uint8 (C, H, W) (`decode_image`: still size-guarded)."""
    return decode_image(path)


def shown_px(target: int, side: int) -> int:
    """The size to draw an image of `side` px at, near `target` px: the nearest whole multiple of the side, never
    below the side itself, halves rounded up (a 64² sample asked at 160 px is drawn at 192). Nearest-neighbour
    scaling keeps pixels honest only by whole factors. A side over twice the target is drawn at the target,
    averaged down (a grid of 48 tiles of 512 px would not fit a page)."""
    if side <= 0:
        return target
    return target if side > 2 * target else max(1, int(target / side + 0.5)) * side


def make_grid(images: np.ndarray, nrow: int, pad: int = 2) -> np.ndarray:
    """Tile uint8 (N, C, H, W) images into one (C, H', W') image, like torchvision's make_grid."""
    n, c, h, w = images.shape
    ncol = nrow
    nrows = (n + ncol - 1) // ncol
    grid = np.zeros((c, nrows * (h + pad) + pad, ncol * (w + pad) + pad), dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, y : y + h, x : x + w] = images[i]
    return grid
