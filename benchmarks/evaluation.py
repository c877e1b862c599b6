"""Evaluation benchmark on demo:digits (16×16): extractor training, scoring and metric speed, copy detection.

Copy detection: the memorization flag should catch copies of training images (exact, with pixel noise, shifted
by 1–4 pixels, brightened, cropped to 75–90 % (anywhere, at a corner, against an edge) and rescaled, rotated by
3–15° or by quarter turns, blended from two training images of the same class, and combinations) and leave
genuinely new images alone. The new images stand in for a perfect generator:
a quarter of each common class's *training* images, held out of everything the extractor and the reference set
see. The test split is not read at all: the copy thresholds calibrated here decide which samples are flagged as
memorized, and a flag blocks an approval.

    .venv/bin/python benchmarks/evaluation.py [--steps 400] [--threads 1] [--copies-only] [--resolution 16]
Writes benchmarks/out/evaluation.json (--copies-only: stops after the copy detection and writes
benchmarks/out/evaluation_copies.json; at another --resolution, evaluation_copies_32.json and so on).

The pixel copy check at a realistic training-set size, alone (no dataset, no torch):

    .venv/bin/python benchmarks/evaluation.py --large-bank 10000 50000 [--large-kind structured|random]
For each size: the real side's memory (prepare_real: the bank's bytes, the peak of numpy's allocations while it is
prepared) and time, then one batch of 200 samples (190 new images of the same kind and 10 disguised copies) checked
against it: time, peak allocations, which copies are flagged and how many new images. Writes
benchmarks/out/evaluation_large_bank.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


_TEMP_HOME = None  # the GANAUG_HOME this run made


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--copies-only", action="store_true", help="stop after the copy detection")
    ap.add_argument("--resolution", type=int, default=16, help="side the demo digits are ingested at (16, 32)")
    ap.add_argument("--large-bank", type=int, nargs="+", metavar="N",
                    help="only time the pixel copy check against N real 32×32 colour images (e.g. 10000 50000)")
    ap.add_argument("--large-kind", choices=("structured", "random"), default="structured",
                    help="structured: smooth colour fields with fine noise; random: uniform noise per pixel")
    args = ap.parse_args()
    if args.large_bank:
        return _large_banks(args.large_bank, args.large_kind, args.threads)
    import torch

    torch.set_num_threads(args.threads)
    global _TEMP_HOME
    _TEMP_HOME = os.environ["GANAUG_HOME"] = tempfile.mkdtemp(prefix="ganaug-bench-eval-")
    from ganaug.datasets import dataset_arrays, ingest_dataset
    from ganaug_core.datasets import IngestOptions
    from ganaug_core.embedding import fit_embedding
    from ganaug_core.features import train_feature_extractor
    from ganaug_core.metrics.metric_main import compute_metrics
    from ganaug_core.scoring import score_samples

    ingest_dataset("demo:digits", "digits", IngestOptions(resolution=args.resolution))
    _, arrays = dataset_arrays("digits")
    x_train, y_train = arrays.split("train")
    # Calibration images: a quarter of each class with at least 20 training images (the rare ones keep all theirs).
    held = np.zeros(len(y_train), dtype=bool)
    pick_rng = np.random.default_rng(1)
    for c in np.unique(y_train):
        idx = np.flatnonzero(y_train == c)
        if len(idx) >= 20:
            held[pick_rng.choice(idx, len(idx) // 4, replace=False)] = True
    x, y = x_train[~held], y_train[~held]
    xt, yt = x_train[held], y_train[held]
    rows = {"reference_images": int(len(y)), "calibration_images": int(len(yt))}

    t = time.perf_counter()
    fe = train_feature_extractor(x, y, arrays.num_classes, seed=0, steps=args.steps)
    rows["extractor_train_s"] = time.perf_counter() - t
    pred = fe.predict_proba(xt).argmax(1)
    present = np.unique(yt)
    rows["extractor_calibration_accuracy"] = float((pred == yt).mean())
    rows["extractor_calibration_balanced_accuracy"] = float(np.mean([(pred[yt == c] == c).mean() for c in present]))

    rng = np.random.default_rng(0)
    pick = rng.choice(len(x), 200, replace=False)
    variants = _copy_kinds(x, y, pick, rng)
    variants["new image (held out of the train split)"] = xt
    detection = {}
    for name, imgs in variants.items():
        labels = yt if name.startswith("new") else y[pick]
        s = score_samples(fe, x, y, imgs, labels)
        detection[name] = {"n": len(imgs), "flagged": float(s.memorized.mean()),
                           "median_feature_novelty": float(np.median(s.feature_novelty)),
                           "median_pixel_novelty": float(np.median(s.pixel_novelty)),
                           "min_pixel_novelty": float(s.pixel_novelty.min()),
                           "min_feature_novelty": float(s.feature_novelty.min()),
                           "p01_feature_novelty": float(np.percentile(s.feature_novelty, 1))}
    rows["copy_detection"] = detection
    if args.copies_only:
        _report(rows, detection, args)
        return

    synth, labels = np.resize(xt, (1000, *xt.shape[1:])), np.resize(yt, 1000)
    t = time.perf_counter()
    score_samples(fe, x, y, synth, labels)
    rows["score_1000_samples_s"] = time.perf_counter() - t
    t = time.perf_counter()
    compute_metrics(fe, x, y, synth, labels, holdout_images=xt, holdout_labels=yt)
    rows["metrics_1000_samples_s"] = time.perf_counter() - t

    feats = fe.features(x)
    t = time.perf_counter()
    emb = fit_embedding(feats, seed=0)
    rows["umap_fit_first_in_process_s"] = time.perf_counter() - t
    t = time.perf_counter()
    fit_embedding(feats, seed=0)
    rows["umap_fit_warm_s"] = time.perf_counter() - t
    t = time.perf_counter()
    emb.transform(fe.features(synth))
    rows["place_1000_samples_s"] = time.perf_counter() - t

    _report(rows, detection, args)


def _shift(img: np.ndarray, k: int, rng, wrap: bool) -> np.ndarray:
    """`img` (C, H, W) moved k pixels in a random direction (k along at least one axis): wrapped around, or with
    the edge pixels repeated into the gap."""
    while True:
        dy, dx = rng.integers(-k, k + 1, 2)
        if max(abs(dy), abs(dx)) == k:
            break
    if wrap:
        return np.roll(img, (dy, dx), axis=(-2, -1))
    h, w = img.shape[-2:]
    padded = np.pad(img, ((0, 0), (k, k), (k, k)), mode="edge")
    return padded[:, k - dy : k - dy + h, k - dx : k - dx + w]


def _crop(img: np.ndarray, fraction: float, rng) -> np.ndarray:
    """A square crop of `fraction` of the side, anywhere in `img` (C, H, W), rescaled to full size (bilinear)."""
    from PIL import Image

    h, w = img.shape[-2:]
    side = int(round(fraction * h))
    oy, ox = rng.integers(0, h - side + 1, 2)
    return np.stack([np.asarray(Image.fromarray(ch[oy : oy + side, ox : ox + side]).resize((w, h), Image.BILINEAR))
                     for ch in img])


def _crop_at(img: np.ndarray, fraction: float, where: str, rng) -> np.ndarray:
    """A square crop of `fraction` of the side taken at a random corner (where="corner") or against the middle of a
    random edge (where="edge"), rescaled to full size (bilinear)."""
    from PIL import Image

    h, w = img.shape[-2:]
    side = int(round(fraction * h))
    far, mid = h - side, (h - side) // 2
    if where == "corner":
        oy, ox = far * rng.integers(0, 2, 2)
    else:
        edge = rng.integers(0, 4)
        oy, ox = ((0, mid), (far, mid), (mid, 0), (mid, far))[edge]
    return np.stack([np.asarray(Image.fromarray(ch[oy : oy + side, ox : ox + side]).resize((w, h), Image.BILINEAR))
                     for ch in img])


def _rotate(img: np.ndarray, degrees: float, fill: str) -> np.ndarray:
    """`img` (C, H, W) rotated by `degrees` (counter-clockwise) about its centre, bilinear: the corners it uncovers
    filled with the image's border colour (the median of its edge pixels; fill="border") or with its edge pixels
    repeated outwards (fill="replicate")."""
    from PIL import Image

    h, w = img.shape[-2:]
    out = []
    for ch in img:
        if fill == "border":
            edge = np.concatenate([ch[0], ch[-1], ch[:, 0], ch[:, -1]])
            out.append(np.asarray(Image.fromarray(ch).rotate(degrees, Image.BILINEAR, fillcolor=int(np.median(edge)))))
        else:
            padded = Image.fromarray(np.pad(ch, ((h, h), (w, w)), mode="edge"))
            out.append(np.asarray(padded.rotate(degrees, Image.BILINEAR))[h : 2 * h, w : 2 * w])
    return np.stack(out)


def _copy_kinds(x: np.ndarray, y: np.ndarray, pick: np.ndarray, rng) -> dict:
    """Disguised copies of the training images x[pick]; a blend's second image is another of the same class."""
    base = x[pick]
    f = base.astype(np.float32)
    second = np.array([rng.choice(np.setdiff1d(np.flatnonzero(y == y[i]), [i])) for i in pick])
    g = x[second].astype(np.float32)

    def u8(a):
        return np.clip(np.round(a), 0, 255).astype(np.uint8)

    def shifted(k, wrap=False):
        return np.stack([_shift(b, k, rng, wrap) for b in base])

    def cropped(fraction):
        return np.stack([_crop(b, fraction, rng) for b in base])

    return {
        "exact copy": base,
        "copy + noise σ=4 levels": u8(f + rng.normal(0, 4, f.shape)),
        "copy + noise σ=12 levels": u8(f + rng.normal(0, 12, f.shape)),
        "copy brightened +10": u8(f + 10),
        "copy shifted 1 px": np.roll(base, 1, axis=-1),
        "copy shifted 2 px": shifted(2),
        "copy shifted 3 px": shifted(3),
        "copy shifted 4 px": shifted(4),
        "copy shifted 3 px, wrapped": shifted(3, wrap=True),
        "crop 90 % rescaled": cropped(0.9),
        "crop 80 % rescaled": cropped(0.8),
        "crop 75 % rescaled": cropped(0.75),
        "blend 50/50 of two": u8(0.5 * f + 0.5 * g),
        "blend 70/30 of two": u8(0.7 * f + 0.3 * g),
        "shift 3 + bright +10 + mirror": u8(shifted(3)[..., ::-1].astype(np.float32) + 10),
        "shift 2 + noise σ=4": u8(shifted(2) + rng.normal(0, 4, f.shape)),
        "crop 85 % + contrast ×0.8": u8(cropped(0.85).astype(np.float32) * 0.8),
        "crop 80 % + mirror": cropped(0.8)[..., ::-1],
        "blend 50/50 + noise σ=4": u8(0.5 * f + 0.5 * g + rng.normal(0, 4, f.shape)),
        "blend 60/40 + bright +10": u8(0.6 * f + 0.4 * g + 10),
        **_framed_and_rotated_kinds(base, rng),
    }


def _framed_and_rotated_kinds(base: np.ndarray, rng) -> dict:
    """Copies re-framed (a crop at a corner or an edge, not centred) or rotated, as a generator that memorised an
    image often reproduces it; alone and with the brightness, contrast and mirroring the check already aligns."""

    def u8(a):
        return np.clip(np.round(a), 0, 255).astype(np.uint8)

    def at(fraction, where):
        return np.stack([_crop_at(b, fraction, where, rng) for b in base])

    def rotated(degrees, fill, images=base):
        return np.stack([_rotate(b, degrees * rng.choice([-1, 1]), fill) for b in images])

    kinds = {}
    for fraction in (0.9, 0.85, 0.8, 0.75):
        for where in ("corner", "edge"):
            kinds[f"crop {fraction:.0%} at an {where} rescaled".replace("%", " %")
                  .replace("an corner", "a corner")] = at(fraction, where)
    for degrees in (3, 6, 10, 15):
        for fill in ("border", "replicate"):
            kinds[f"rotated ±{degrees}° ({'border filled' if fill == 'border' else 'edges replicated'})"] = (
                rotated(degrees, fill))
    kinds["rotated ±90°"] = np.stack([np.rot90(b, rng.choice([-1, 1]), axes=(-2, -1)) for b in base])
    kinds["rotated 180°"] = np.rot90(base, 2, axes=(-2, -1)).copy()
    kinds["crop 80 % at a corner + mirror"] = at(0.8, "corner")[..., ::-1]
    kinds["crop 75 % at a corner + bright +10"] = u8(at(0.75, "corner").astype(np.float32) + 10)
    kinds["rotated ±6° + bright +10 + mirror"] = u8(rotated(6, "border")[..., ::-1].astype(np.float32) + 10)
    kinds["rotated ±10° + contrast ×0.8"] = u8(rotated(10, "replicate").astype(np.float32) * 0.8)
    kinds["rotated 90° + mirror"] = np.rot90(base, 1, axes=(-2, -1))[..., ::-1].copy()
    kinds["rotated ±6° + crop 85 % at a corner"] = rotated(6, "border", at(0.85, "corner"))
    return kinds


def _large_images(n: int, kind: str, seed: int) -> np.ndarray:
    """n 32×32 colour uint8 images: uniform noise, or 8×8 random colour fields enlarged (bilinear) plus noise σ=8
    levels, so neighbouring pixels are alike as in photographs (uniform noise makes every image equally far)."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    from ganaug_core.metrics.pixel_align import _window_matrix

    up = _window_matrix(32, 8, 0)[:, :8]  # (32, 8): each output pixel's weights on the 8 coarse pixels
    out = np.empty((n, 3, 32, 32), np.uint8)
    for i in range(0, n, 5000):
        coarse = rng.uniform(0, 255, (min(5000, n - i), 3, 8, 8)).astype(np.float32)
        fine = np.einsum("ij,ncjk,lk->ncil", up, coarse, up) + rng.normal(0, 8, (len(coarse), 3, 32, 32))
        out[i : i + len(coarse)] = np.clip(np.round(fine), 0, 255)
    return out


def _large_banks(sizes: list[int], kind: str, threads: int) -> None:
    import resource
    import tracemalloc

    from threadpoolctl import threadpool_limits

    from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO, pixel_copy_ratio, prepare_real

    rows = []
    with threadpool_limits(threads):
        for n in sizes:
            real = _large_images(n, kind, seed=n)
            rng = np.random.default_rng(0)
            pick = rng.choice(n, 10, replace=False)
            f = real[pick].astype(np.float32)
            copies = np.stack([real[pick[0]], np.roll(real[pick[1]], 3, axis=-1), real[pick[2]][..., ::-1],
                               _crop(real[pick[3]], 0.8, rng), np.clip(f[4] * 0.8 + 10, 0, 255).astype(np.uint8),
                               _shift(real[pick[5]], 2, rng, wrap=False), _crop(real[pick[6]], 0.9, rng)[..., ::-1],
                               np.round(0.5 * f[7] + 0.5 * f[8]).astype(np.uint8),
                               np.round(0.7 * f[8] + 0.3 * f[9]).astype(np.uint8),
                               np.clip(f[9] + rng.normal(0, 4, f[9].shape), 0, 255).astype(np.uint8)])
            synth = np.concatenate([copies, _large_images(190, kind, seed=n + 1)])
            tracemalloc.start()
            t = time.perf_counter()
            bank = prepare_real(real)
            prep_s = time.perf_counter() - t
            prep_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            t = time.perf_counter()
            _, ratio = pixel_copy_ratio(synth, real, bank=bank)
            check_s = time.perf_counter() - t
            check_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            bank_bytes = sum(a.nbytes for a in vars(bank).values() if isinstance(a, np.ndarray))
            row = {"n_real": n, "kind": kind, "real_bytes": int(real.nbytes), "bank_bytes": int(bank_bytes),
                   "prepare_peak_bytes": int(prep_peak), "prepare_s": prep_s, "check_200_s": check_s,
                   "check_peak_bytes": int(check_peak),
                   "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                   "copies_flagged": int((ratio[:10] < PIXEL_COPY_RATIO).sum()),
                   "copy_ratios": [round(float(r), 4) for r in ratio[:10]],
                   "new_flagged": int((ratio[10:] < PIXEL_COPY_RATIO).sum()), "new_min_ratio": float(ratio[10:].min())}
            rows.append(row)
            print(f"{n:>7} {kind}: bank {bank_bytes / 2**20:.0f} MiB (real images {real.nbytes / 2**20:.0f} MiB), "
                  f"prepare peak {prep_peak / 2**20:.0f} MiB in {prep_s:.1f} s; 200 samples {check_s:.1f} s, peak "
                  f"{check_peak / 2**20:.0f} MiB; copies flagged {row['copies_flagged']}/10, new flagged "
                  f"{row['new_flagged']}/190 (lowest {row['new_min_ratio']:.3f})", flush=True)
            del bank, real
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "evaluation_large_bank.json").write_text(json.dumps({"threads": threads, "rows": rows}, indent=2))


def _report(rows: dict, detection: dict, args) -> None:
    print(f"{'measure':<36} value")
    for k, v in rows.items():
        if k != "copy_detection":
            print(f"{k:<36} {v:.3f}")
    print(f"\n{'copy detection':<40} {'n':>5} {'flagged':>8} {'feat. novelty':>14} {'pixel novelty':>14} "
          f"{'min pixel':>10} {'min feat.':>10}")
    for name, d in detection.items():
        print(f"{name:<40} {d['n']:>5} {d['flagged']:>8.3f} {d['median_feature_novelty']:>14.3f} "
              f"{d['median_pixel_novelty']:>14.3f} {d['min_pixel_novelty']:>10.3f} {d['min_feature_novelty']:>10.3f}")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    name = "evaluation_copies.json" if args.copies_only else "evaluation.json"
    if args.resolution != 16:
        name = name.replace(".json", f"_{args.resolution}.json")
    (out / name).write_text(json.dumps({"threads": args.threads, "steps": args.steps, "resolution": args.resolution,
                                        **rows}, indent=2))

if __name__ == "__main__":
    try:
        main()
    finally:
        import shutil

        if _TEMP_HOME:  # only the folder this run made, never the caller's GANAUG_HOME
            shutil.rmtree(_TEMP_HOME, ignore_errors=True)
