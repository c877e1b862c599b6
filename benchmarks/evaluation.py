"""Evaluation benchmark on demo:digits (16×16): extractor training, scoring and metric speed, copy detection.

Copy detection: the memorization flag should catch copies of training images (exact, with pixel noise, shifted
by 1–4 pixels, brightened, cropped to 75–90 % and rescaled, blended from two training images of the same class,
and combinations) and leave genuinely new images alone. The new images stand in for a perfect generator:
a quarter of each common class's *training* images, held out of everything the extractor and the reference set
see. The test split is not read at all: the copy thresholds calibrated here decide which samples are flagged as
memorized, and a flag blocks an approval.

    .venv/bin/python benchmarks/evaluation.py [--steps 400] [--threads 1] [--copies-only]
Writes benchmarks/out/evaluation.json (--copies-only: stops after the copy detection and writes
benchmarks/out/evaluation_copies.json).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--copies-only", action="store_true", help="stop after the copy detection")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ["GANAUG_HOME"] = tempfile.mkdtemp(prefix="ganaug-bench-eval-")
    from ganaug.datasets import dataset_arrays, ingest_dataset
    from ganaug_core.datasets import IngestOptions
    from ganaug_core.embedding import fit_embedding
    from ganaug_core.features import train_feature_extractor
    from ganaug_core.metrics.metric_main import compute_metrics
    from ganaug_core.scoring import score_samples

    ingest_dataset("demo:digits", "digits", IngestOptions(resolution=16))
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
    }


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
    (out / name).write_text(json.dumps({"threads": args.threads, "steps": args.steps, **rows}, indent=2))

if __name__ == "__main__":
    try:
        main()
    finally:
        import shutil

        if os.environ.get("GANAUG_HOME", "").startswith(tempfile.gettempdir()):
            shutil.rmtree(os.environ["GANAUG_HOME"], ignore_errors=True)
