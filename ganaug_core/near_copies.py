"""Near-copies: one picture stored twice with loss (a JPEG saved again at another quality, a copy resized a little, a
thumbnail), which `dataset_sources.identical_groups` does not see because their pixels differ.

Each image gets a signature: its grey levels averaged over 8 × 8 cells (`SIGNATURE_SIDE`). Two images are near when
their signatures differ little in grey levels (`NEAR_RMS`) and their shapes (the cells less their mean) correlate
(`NEAR_CORRELATION`), and when they still differ little compared again on a finer square and their detail, what the
cells average away, agrees on a square twice as fine (`finer_pairs`): photos of one textured surface differ in their
grain. Sets are the connected components of that relation, so a chain of re-saves is one set. The search compares
every pair that could be near, a block of signatures against a block at a time (memory is two blocks' products,
whatever the number of images); the same pixels give the same sets on every machine (`QUANTUM`). Measured
(BENCHMARKS.md, "Ingestion", 2026-12-07): JPEG re-saves at quality 70–95, copies resized by ±10 % or to half their
side, and thumbnails of a quarter of it differ from their original by at most 4.7 grey levels; distinct images of one
class by 7.1 (the closest two of the demo's handwritten digits) or 13.5 (natural-looking random textures) and more.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

SIGNATURE_SIDE = 8  # the grey square a signature is made at (the resolution, where that is smaller)
# Two images are near-copies when their signatures differ by at most NEAR_RMS grey levels (root mean square, of
# 0–255) and their shapes correlate at least NEAR_CORRELATION: the first keeps apart distinct images that look alike
# (two handwritten 1s differ by 7.1 or more), the second nearly blank ones of one brightness, whose small differences
# are noise (patches of one sky's smooth gradient do correlate, and are merged). Chosen from the measurements in
# BENCHMARKS.md, "Ingestion".
NEAR_RMS = 5.0
NEAR_CORRELATION = 0.9
# A signature whose grey levels vary by less than this (standard deviation) is flat: it correlates with nothing, so
# a blank image is found again only where it is identical.
FLAT_STD = 1.0
FINE_SIDE = 32  # the finest square a pair of near signatures is compared at again (`finer_pairs`)
# Their detail (each cell less the mean of its block, the square cut into 8 × 8 blocks: what a signature averages away),
# compared on a square twice as fine (`detail_side`), must agree too: the pair's may differ by at most DETAIL_SHARE of
# its mean square, or by DETAIL_FLOOR grey levels (root mean square) where there is next to no detail to compare. Photos
# of one textured surface under one lamp share their signature, and even their grey levels on the finer square, where
# the grain averages out; the grain is their detail, and a copy keeps its original's. Measured (BENCHMARKS.md,
# "Ingestion"): a copy's detail differed from its original's by at most 0.5 of its mean square where more than 0.6 grey
# levels; distinct textured photos' by 0.58 and more, most by 1 or more.
DETAIL_SHARE = 0.5
DETAIL_FLOOR = 0.6
CORRELATION_SLACK = 1e-3  # how far below NEAR_CORRELATION the float32 pre-filter of `near_pairs` still keeps a pair
BLOCK = 2048  # signatures compared at a time on each side: two blocks' products and tests take ≈ 70 MB


# Signatures are kept in quarter grey levels, as integers: every test of a pair is then exact integer arithmetic (or
# one correctly rounded float operation), so the same pixels give the same sets on every machine. A float32 product,
# whose rounding follows the BLAS and the CPU, only picks the pairs worth testing (`near_pairs`).
QUANTUM = 4


@dataclass
class Signatures:
    """Each image's grey levels averaged over s × s cells (s = min(SIGNATURE_SIDE, resolution)), in 1/QUANTUM grey
    levels rounded to integers (`q`, int64 N × s²); `cells`, the same less the middle grey in float32 for the
    search's first pass; `total` (Σq) and `var` (s² Σq² − (Σq)²: s⁴ × the variance, in quanta²), exact."""

    q: np.ndarray
    cells: np.ndarray
    total: np.ndarray
    var: np.ndarray

    @property
    def level(self) -> np.ndarray:
        """Each signature's mean grey level (0–255)."""
        return self.total / (self.q.shape[1] * QUANTUM)


def _bounds(size: int, side: int) -> np.ndarray:
    """Where each of `side` cells along an axis of `size` pixels starts (every pixel in exactly one cell)."""
    return (np.arange(side) * size) // side


def signatures(pixels: np.ndarray, side: int = SIGNATURE_SIDE, block: int = 1024) -> Signatures:
    """The signatures of uint8 (N, C, R, R) images, made `block` images at a time: the whole set is never held as
    floats. Each cell's pixel sum is an exact integer, divided once (correctly rounded), then rounded to a quantum.
    Where the cells tile the image evenly (a power-of-two resolution) the sums are one reduction over a view of the
    block, which numpy buffers in small pieces: nothing the size of the images is held beside them (ingest's peak
    memory); else a block of at most 1 MB of pixels is widened to int32 and summed cell by cell."""
    n, channels, rows, cols = pixels.shape
    s = min(side, rows, cols)
    q = np.zeros((n, s * s), dtype=np.int64)
    by_row, by_col = _bounds(rows, s), _bounds(cols, s)
    area = np.outer(np.diff(np.append(by_row, rows)), np.diff(np.append(by_col, cols))).reshape(-1) * channels
    even = rows % s == 0 and cols % s == 0
    if not even:
        block = max(1, min(block, (1 << 20) // max(1, channels * rows * cols)))
    for lo in range(0, n, block):
        part = pixels[lo:lo + block]
        if even:
            cells = part.reshape(len(part), channels, s, rows // s, s, cols // s).sum(axis=(1, 3, 5), dtype=np.int64)
        else:
            by_rows = np.add.reduceat(part, by_row, axis=2, dtype=np.int32)
            cells = np.add.reduceat(by_rows, by_col, axis=3).sum(axis=1, dtype=np.int64)
        q[lo:lo + block] = np.rint(cells.reshape(len(part), -1) * QUANTUM / area)
    total = q.sum(axis=1)
    var = s * s * np.einsum("ij,ij->i", q, q) - total * total
    return Signatures(q, (q - 128 * QUANTUM).astype(np.float32), total, var)


def near_pairs(sig: Signatures, rms: float = NEAR_RMS, correlation: float = NEAR_CORRELATION, block: int = BLOCK):
    """Each pair (i, j), i < j, of near-copies (`NEAR_RMS`, `NEAR_CORRELATION`).

    Images are taken in the order of their level, a block against a block at a time, and two blocks whose levels lie
    more than `rms` apart are not compared (two signatures' RMS difference is at least their levels' difference).
    Within two blocks float32 products pick the candidates, with margins far beyond float32's error: x·y for the grey
    levels (|x − y|² = |x|² + |y|² − 2 x·y) and, of the shapes scaled to length 1, u·v, which is their correlation.
    Photos of one surface under one lamp share their level and lie within `rms` of each other, so only the second
    prunes them (where the first leaves more candidates than a block has rows): without it, 20,000 such photos put
    their candidates through the exact tests for 33–37 s, 2 s with it (BENCHMARKS.md, "Ingestion"). Each candidate is
    then tested exactly on the integer signatures: the float products only prune, and the pairs stay the same."""
    n, k = sig.q.shape
    order = np.argsort(sig.total, kind="stable")
    x, q, total, var = sig.cells[order], sig.q[order], sig.total[order], sig.var[order]
    level = total / (k * QUANTUM)
    limit = int(np.floor(k * (rms * QUANTUM) ** 2))  # |qx − qy|² ≤ limit ⇔ RMS difference ≤ rms
    norm2 = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    slack = 1e-4 * norm2 + 1.0  # float32's error on these products is below 1e-5 of |x|² + |y|²
    # 2 x·y ≥ |x|² + |y|² − limit, halved and tested in float32: its rounding is ≈ 1e-7 of |x|², inside the slack.
    half = ((norm2 - slack - limit / 2) / 2).astype(np.float32)
    live = var >= (FLAT_STD * QUANTUM * k) ** 2  # a flat signature correlates with nothing
    # Each shape (the cells less their mean) over its length: k Σ(q − mean)² = var. A flat one is left at 0, which
    # correlates with nothing; float32's error on u·v is below 1e-5, the margin CORRELATION_SLACK.
    unit = np.zeros((n, k), dtype=np.float32)
    unit[live] = (q[live] - total[live, None] / k) / np.sqrt(var[live, None] / k)
    least = correlation - CORRELATION_SLACK
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        for lo2 in range(lo, n, block):
            hi2 = min(n, lo2 + block)
            if level[lo2] - level[hi - 1] > rms:
                break  # this block and every later one are too bright to hold a near-copy of the block at lo
            near = x[lo:hi] @ x[lo2:hi2].T >= half[lo:hi, None] + half[None, lo2:hi2]
            if np.count_nonzero(near) > hi - lo:  # many alike in level: prune on the shapes before the exact tests
                near &= unit[lo:hi] @ unit[lo2:hi2].T >= least
            i, j = np.nonzero(near)
            i, j = i + lo, j + lo2
            keep = (j > i) & live[i] & live[j]
            i, j = i[keep], j[keep]
            d = q[i] - q[j]
            close = np.einsum("ij,ij->i", d, d) <= limit
            i, j = i[close], j[close]
            shape = k * np.einsum("ij,ij->i", q[i], q[j]) - total[i] * total[j]  # s⁴ × the covariance, exact
            keep = shape >= correlation * np.sqrt(var[i].astype(np.float64)) * np.sqrt(var[j].astype(np.float64))
            a, b = order[i[keep]], order[j[keep]]
            yield from zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist())


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def copy_sets(same: np.ndarray, pairs) -> np.ndarray:
    """One id per image, the lowest index of its set: `same`'s groups (`identical_groups`, whose ids are their
    lowest index) joined through `pairs`. Without pairs, `same` itself."""
    parent = same.tolist()
    for i, j in pairs:
        a, b = _root(parent, i), _root(parent, j)
        if a != b:
            parent[max(a, b)] = min(a, b)  # the lowest index stays the root: ids do not depend on the pairs' order
    return np.asarray([_root(parent, i) for i in range(len(parent))], dtype=np.int64)


def fine_side(resolution: int, side_a, side_b):
    """The square two images are compared at again: a quarter of the smaller one's shorter side as stored, the
    resolution at most, from SIGNATURE_SIDE (or the resolution) to FINE_SIDE. Finer, resampling shows: at half the
    side, copies of a 64-px picture resized by 10 % differed from it by up to 7.1 grey levels at 64² (2.6 at a
    quarter). Sides may be arrays of them (numpy integers), one per pair."""
    return np.maximum(min(SIGNATURE_SIDE, resolution), np.minimum(min(FINE_SIDE, resolution),
                                                                  np.minimum(side_a, side_b) // 4))


def _grey(image: np.ndarray, side: int) -> np.ndarray:
    rows, cols = image.shape[1:]
    by_row, by_col = _bounds(rows, side), _bounds(cols, side)
    area = np.outer(np.diff(np.append(by_row, rows)), np.diff(np.append(by_col, cols)))
    grey = image.sum(axis=0, dtype=np.float64) / image.shape[0]
    return np.add.reduceat(np.add.reduceat(grey, by_row, axis=0), by_col, axis=1) / area


def _detail(grey: np.ndarray) -> np.ndarray:
    """A square's cells less the mean of their block, the square cut into 8 × 8 blocks as a signature cuts an image:
    what a signature averages away."""
    side = len(grey)
    coarse = min(SIGNATURE_SIDE, side)
    starts = _bounds(side, coarse)
    counts = np.diff(np.append(starts, side))
    means = np.add.reduceat(np.add.reduceat(grey, starts, axis=0), starts, axis=1) / np.outer(counts, counts)
    return grey - np.repeat(np.repeat(means, counts, axis=0), counts, axis=1)


def detail_side(resolution: int, side_a, side_b):
    """The square two images' detail is compared at (`DETAIL_SHARE`): half the smaller one's shorter side as stored,
    so that a cell spans two of its pixels, within the bounds of `fine_side`. A quarter, where faint grain averages
    out, left distinct photos of one striped surface alike. Sides may be arrays, as for `fine_side`."""
    return np.maximum(min(SIGNATURE_SIDE, resolution), np.minimum(min(FINE_SIDE, resolution),
                                                                  np.minimum(side_a, side_b) // 2))


class _Squares:
    """Each image's grey square of a side, or its detail, made once and held as a row, for the pairs that need it."""

    def __init__(self, pixels: np.ndarray, detail: bool):
        self.pixels, self.detail, self.made = pixels, detail, {}

    def __call__(self, side: int, images: np.ndarray) -> np.ndarray:
        if side not in self.made:
            self.made[side] = [np.full(len(self.pixels), -1), np.zeros((64, side * side)), 0]
        held = self.made[side]
        where, rows, count = held
        new = np.unique(images[where[images] < 0])
        if len(new):
            if count + len(new) > len(rows):  # twice as many rows: each image's row is copied a few times at most
                rows = held[1] = np.concatenate([rows, np.zeros((max(len(rows), len(new)), side * side))])
            for k, i in enumerate(new.tolist(), start=count):
                grey = _grey(self.pixels[i], side)
                rows[k] = (_detail(grey) if self.detail else grey).reshape(-1)
            where[new] = count + np.arange(len(new))
            held[2] = count + len(new)
        return rows[where[images]]


def finer_pairs(pixels: np.ndarray, pairs, sides: np.ndarray, rms: float = NEAR_RMS, chunk: int = 1024):
    """The `pairs` that still differ by at most `rms` grey levels at `fine_side` and whose detail agrees at
    `detail_side` (`DETAIL_SHARE`, `DETAIL_FLOOR`). Images aligned alike (one part in a fixture, a face in a crop,
    photos of one textured surface under one lamp) share a coarse signature and differ in their detail, which 8 × 8
    cells average away. `sides`: each image's shorter side as stored. Tested `chunk` pairs at a time: where nearly
    every pair is proposed (photos of one surface), a pair at a time in Python took minutes for 5,000 images."""
    resolution, coarse = pixels.shape[-1], min(SIGNATURE_SIDE, pixels.shape[-1])
    greys, details = _Squares(pixels, detail=False), _Squares(pixels, detail=True)
    pairs = iter(pairs)
    while part := list(itertools.islice(pairs, chunk)):
        i, j = np.asarray(part, dtype=np.int64).T
        keep = np.zeros(len(i), dtype=bool)
        fine = fine_side(resolution, sides[i], sides[j])
        for s in np.unique(fine).tolist():
            at = np.nonzero(fine == s)[0]
            keep[at] = np.sqrt(((greys(s, i[at]) - greys(s, j[at])) ** 2).mean(axis=1)) <= rms
        finer = detail_side(resolution, sides[i], sides[j])
        for s in np.unique(finer[keep & (finer > coarse)]).tolist():  # no finer than a signature: no more detail
            at = np.nonzero(keep & (finer == s))[0]
            da, db = details(s, i[at]), details(s, j[at])
            share = DETAIL_SHARE * ((da * da).mean(axis=1) + (db * db).mean(axis=1)) / 2
            keep[at] = ((da - db) ** 2).mean(axis=1) <= np.maximum(DETAIL_FLOOR ** 2, share)
        yield from zip(i[keep].tolist(), j[keep].tolist())


def near_copy_sets(pixels: np.ndarray, same: np.ndarray, sides: np.ndarray | None = None) -> np.ndarray:
    """`same` (identical images' groups) joined with the near-copies among `pixels`: the groups a split keeps on one
    side (`dataset_sources.stratified_test_mask`). A set holding two images whose pixels differ is a near-copy set.
    `sides`: each image's shorter side as stored (`finer_pairs`); None: the resolution."""
    if sides is None:
        sides = np.full(len(pixels), pixels.shape[-1])
    return copy_sets(same, finer_pairs(pixels, near_pairs(signatures(pixels)), sides))
