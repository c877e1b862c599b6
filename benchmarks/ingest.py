"""Folder ingestion speed: images/second for a folder of 200×200 JPEGs, against a naive reference.

The reference does the same work plainly in one process (full-size decode, resize, PNG encode, write, sha256);
ganaug's path decodes JPEGs at reduced scale (libjpeg draft mode) and encodes PNGs in a process pool.
Both run here, side by side, on the same files. Target: ≥ 1,000 images/s on 2 cores.

    .venv/bin/python benchmarks/ingest.py [--n 2000] [--resolution 32]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganaug_core.datasets import IngestOptions, ingest  # noqa: E402


def make_jpegs(root: Path, n: int, classes: int = 5, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
    base = rng.integers(0, 255, size=(200, 200, 3), dtype=np.uint8)
    for i in range(n):
        arr = np.roll(base, int(rng.integers(0, 200)), axis=int(rng.integers(0, 2)))
        Image.fromarray(arr).save(root / f"class{i % classes}" / f"{i:05d}.jpg", quality=90)


def reference(root: Path, out: Path, resolution: int) -> int:
    """The same work done plainly: full-size decode, resize, PNG encode, write, sha256 — one process."""
    out.mkdir()
    n = 0
    for f in sorted(root.rglob("*.jpg")):
        with Image.open(f) as im:
            small = im.convert("RGB").resize((resolution, resolution), Image.BILINEAR)
        target = out / f"{n:06d}.png"
        small.save(target)
        hashlib.sha256(target.read_bytes()).hexdigest()
        n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--resolution", type=int, default=32)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ganaug-ingest-bench-"))
    try:
        src = tmp / "src"
        make_jpegs(src, args.n)
        reference(src, tmp / "warm", args.resolution)  # warm the page cache for both contenders
        t0 = time.perf_counter()
        reference(src, tmp / "ref", args.resolution)
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = ingest(str(src), tmp / "out", IngestOptions(resolution=args.resolution))
        t_ours = time.perf_counter() - t0
        assert len(result.images) == args.n
        row = {
            "images": args.n,
            "resolution": args.resolution,
            "ganaug_images_per_s": round(args.n / t_ours),
            "reference_images_per_s": round(args.n / t_ref),
            "speedup": round(t_ref / t_ours, 2),
            "cores": os.cpu_count(),
            "machine": platform.processor() or platform.machine(),
        }
        print(f"{'':<28}{'images/s':>10}")
        print(f"{'ganaug ingest (pool, draft)':<28}{row['ganaug_images_per_s']:>10}")
        print(f"{'reference (naive, 1 proc)':<28}{row['reference_images_per_s']:>10}")
        print(f"speedup ×{row['speedup']}  (target ≥ 1,000 images/s: {'met' if row['ganaug_images_per_s'] >= 1000 else 'NOT met'})")
        out = Path(__file__).parent / "out"
        out.mkdir(exist_ok=True)
        (out / "ingest.json").write_text(json.dumps(row, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
