"""The metric registry: `compute_metrics` runs the named metrics overall and per class on domain features.

Features are extracted once per call; each metric receives the slices it needs. Real images are the *training*
split (what the generator saw); the optional holdout is 'val' when the dataset has one, else the test split as a
reported number only (see dcr.py). The holdout also gives each scope its "reference": the held-out real images
measured against the training images as the samples are, i.e. what a generator as good as the real data scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from ganaug_core.errors import GanaugError
from ganaug_core.metrics.authenticity import authenticity_score
from ganaug_core.metrics.consistency import class_consistency, mean_confidence
from ganaug_core.metrics.dcr import dcr
from ganaug_core.metrics.duplicates import duplicate_report
from ganaug_core.metrics.fid import fid
from ganaug_core.metrics.kid import kid
from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO, RealBank, pixel_copy_ratio
from ganaug_core.metrics.prdc import DEFAULT_K, prdc


# Below this many real images in scope, FID's covariance, the k-NN radii of precision/recall/density/coverage and
# KID's subsets rest on a handful of points (a 4-image class gives precision and coverage 1.0 almost by
# construction): the result says so in "caution".
FEW_REAL = 20


# The distribution metrics that also get a reference value (held-out real images in place of the samples).
REFERENCE_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], object]] = {"fid": fid, "kid": kid, "prdc": prdc}


def few_images_caution(n_real: int, n_holdout: int, scope: dict, n_synthetic: Optional[int] = None) -> Optional[str]:
    """A caution when the real training images in `scope` (its metrics, with its "reference"), the held-out
    images of the reference, or the samples are too few for the distribution metrics; with the k that precision/
    recall/density/coverage fell back to, if it shrank, and DCR where its sets are too few (`few_for_dcr`)."""
    few = []
    if n_real < FEW_REAL:
        few.append(f"{n_real} real training image{'s' * (n_real != 1)} in scope")
    if 0 < n_holdout < FEW_REAL:  # the reference column: 2 held-out images give it precision 0 with k = 1
        few.append(f"{n_holdout} held-out image{'s' * (n_holdout != 1)} for the reference")
    # k shrinks to the samples too, and with it every real ball: 3 samples against 500 real images measured
    # precision and coverage with k = 2 where the published definition's k is 5, and nothing said so.
    if n_synthetic is not None and 2 <= n_synthetic <= DEFAULT_K:  # one sample: they are n/a, not rough
        few.append(f"{n_synthetic} sample{'s' * (n_synthetic != 1)} in scope")
    if not few:
        return None
    ks = [m["k"] for m in (scope.get("prdc"), (scope.get("reference") or {}).get("prdc")) if m]
    shrunk = f" (their neighbourhoods use k = {min(ks)}, not {DEFAULT_K})" if ks and min(ks) < DEFAULT_K else ""
    return (f"only {' and only '.join(few)}: FID, KID and precision/recall/density/coverage on so few are rough "
            f"indications, not measurements{shrunk}{few_for_dcr(scope)}")


def few_for_dcr(scope: dict) -> str:
    """'; so is DCR, against 1 training and 1 held-out image' where DCR's equal-size sets are fewer than FEW_REAL:
    against one held-out image every sample's "closer to train" is one coin toss, and "DCR vs test: 1.000" stood
    under a note that named FID, KID and precision/recall only."""
    size = (scope.get("dcr") or {}).get("reference_size")
    if size is None or size >= FEW_REAL:
        return ""
    return f"; so is DCR, against {size} training and {size} held-out image{'s' * (size != 1)}"


@dataclass
class _Slice:
    """One scope (all classes, or one class) of the inputs, as features, probabilities and pixels."""

    real: np.ndarray  # real training features of the scope
    synth: np.ndarray  # synthetic features of the scope
    synth_probs: np.ndarray
    synth_labels: np.ndarray
    synth_images: np.ndarray
    real_images_all: np.ndarray  # every real training image: a copy of any class is a copy
    real_all: np.ndarray  # every real training feature
    holdout: Optional[np.ndarray]  # held-out real features of the scope, if any
    pixel_ratio: Optional[np.ndarray]  # the scope's samples' pixel authenticity ratios against every real image
    real_radii_all: Optional[np.ndarray] = None  # each real training feature's distance to its nearest other


def _authenticity(s: _Slice):
    return (authenticity_score(s.real_all, s.synth, s.real_radii_all)
            if len(s.real_all) >= 2 and len(s.synth) else None)


def _pixel_copies(s: _Slice):
    if s.pixel_ratio is None or len(s.pixel_ratio) == 0:
        return None
    ratio = s.pixel_ratio
    return {"copies": int((ratio < PIXEL_COPY_RATIO).sum()), "copy_fraction": float((ratio < PIXEL_COPY_RATIO).mean()),
            "median_pixel_novelty": float(np.median(ratio))}


def _consistency(s: _Slice):
    return {
        "class_consistency": class_consistency(s.synth_probs, s.synth_labels),
        "mean_confidence": mean_confidence(s.synth_probs, s.synth_labels),
    }


def _reference(real: np.ndarray, holdout: Optional[np.ndarray], names: Sequence[str]) -> Optional[dict]:
    """The distribution metrics of held-out real images of the scope against its training images: FID, KID and
    PRDC are biased on small sets, so "FID 5" reads as good or bad only beside what real data gets on this footing."""
    wanted = [n for n in REFERENCE_METRICS if n in names]
    if holdout is None or len(holdout) == 0 or not wanted:
        return None
    return {**{n: REFERENCE_METRICS[n](real, holdout) for n in wanted},
            "n_real": int(len(real)), "n_holdout": int(len(holdout))}


METRICS: dict[str, Callable[[_Slice], object]] = {
    "fid": lambda s: fid(s.real, s.synth),
    "kid": lambda s: kid(s.real, s.synth),
    "prdc": lambda s: prdc(s.real, s.synth),
    "consistency": _consistency,
    "authenticity": _authenticity,
    "dcr": lambda s: None if s.holdout is None else dcr(s.real, s.holdout, s.synth),
    "duplicates": lambda s: duplicate_report(s.synth_images, s.real_images_all) if len(s.synth_images) else None,
    "pixel_copies": _pixel_copies,
}


@dataclass
class _Features:
    """Every input as the metrics read it, extracted once per call; each scope takes its rows by mask."""

    names: list[str]  # the metrics asked for
    real_images: np.ndarray
    synth_images: np.ndarray
    synth_labels: np.ndarray
    real: np.ndarray  # real training features
    synth: np.ndarray  # synthetic features
    synth_probs: np.ndarray
    holdout: Optional[np.ndarray]  # held-out real features; None without a holdout
    pixel_ratio: Optional[np.ndarray]  # each sample's pixel authenticity ratio against every real image
    real_radii: Optional[np.ndarray]

    def scope(self, synth_mask: np.ndarray, real_mask: np.ndarray, hold_mask: Optional[np.ndarray]) -> dict:
        s = _Slice(
            real=self.real[real_mask], synth=self.synth[synth_mask], synth_probs=self.synth_probs[synth_mask],
            synth_labels=self.synth_labels[synth_mask], synth_images=self.synth_images[synth_mask],
            real_images_all=self.real_images, real_all=self.real,
            holdout=None if self.holdout is None or hold_mask is None else self.holdout[hold_mask],
            pixel_ratio=None if self.pixel_ratio is None else self.pixel_ratio[synth_mask],
            real_radii_all=self.real_radii,
        )
        return {name: METRICS[name](s) for name in self.names}

    def reference(self, real_mask: np.ndarray, hold_mask: Optional[np.ndarray]) -> Optional[dict]:
        if self.holdout is None or hold_mask is None:
            return None
        return _reference(self.real[real_mask], self.holdout[hold_mask], self.names)


def compute_metrics(
    extractor,
    real_images: np.ndarray,
    real_labels: np.ndarray,
    synth_images: np.ndarray,
    synth_labels: np.ndarray,
    holdout_images: Optional[np.ndarray] = None,
    names: Optional[Sequence[str]] = None,
    holdout_labels: Optional[np.ndarray] = None,
    real_features: Optional[np.ndarray] = None,
    pixel_bank: Optional[RealBank] = None,
    real_radii: Optional[np.ndarray] = None,
    holdout_features: Optional[np.ndarray] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> dict:
    """{"overall": {metric: value}, "per_class": {class: {metric: value}}, "counts": ..., "reference": ...}.

    Distribution metrics compare with the real training images of the classes present in `synth_labels`
    (overall: all of those classes; per class: that class). Copy checks compare with every real training image.

    A metric that cannot be computed on a scope (too few samples, no holdout) is None there, not an error.
    `holdout_labels` enables per-class DCR and references; without them both are reported overall only.
    "reference" (overall, and per class) is FID, KID and PRDC of the held-out real images in scope against the real
    training images in scope, None without a holdout.
    `real_features` (extractor.features(real_images)) and `pixel_bank` (pixel_copies.prepare_real(real_images)):
    where the caller measures many batches against the same real images; `real_radii`
    (neighbours.kth_neighbour_radii(real_features, 1)) too: every scope's authenticity measured them again.
    `holdout_features` (extractor.features(holdout_images)), in place of `holdout_images`, for the same reason.
    `should_stop()`: asked by the pixel copy check between chunks of its work (it raises InterruptedError).
    """
    names = list(names) if names is not None else list(METRICS)
    _check_inputs(names, real_images, synth_images)
    real_labels, synth_labels = np.asarray(real_labels), np.asarray(synth_labels)
    real_f = extractor.features(real_images) if real_features is None else real_features
    synth_f = extractor.features(synth_images)
    synth_p = extractor.predict_proba(synth_images)
    hold_f = holdout_features
    if hold_f is None and holdout_images is not None and len(holdout_images):
        hold_f = extractor.features(holdout_images)
    f = _Features(
        names=names, real_images=real_images, synth_images=synth_images, synth_labels=synth_labels,
        real=real_f, synth=synth_f, synth_probs=synth_p,
        holdout=None if hold_f is not None and len(hold_f) == 0 else hold_f,
        # Once for all samples, each scope reading its own: each sample's ratio depends on that sample and the real
        # images only (a batch of one class otherwise paid the check twice, overall and for its class).
        pixel_ratio=(pixel_copy_ratio(synth_images, real_images, bank=pixel_bank, should_stop=should_stop)[1]
                     if "pixel_copies" in names and len(real_images) >= 2 else None),
        real_radii=real_radii,
    )
    result = _overall(f, real_labels, holdout_labels)
    for c in np.unique(synth_labels):
        result["per_class"][str(int(c))] = _one_class(f, c, real_labels, holdout_labels)
    return result


def _check_inputs(names: list[str], real_images: np.ndarray, synth_images: np.ndarray) -> None:
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise GanaugError(f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(METRICS)}")
    if len(synth_images) == 0:
        raise GanaugError("no synthetic samples to evaluate")
    if synth_images.shape[1:] != real_images.shape[1:]:
        raise GanaugError(f"synthetic images {synth_images.shape[1:]} do not match the real ones {real_images.shape[1:]}")


def _overall(f: _Features, real_labels: np.ndarray, holdout_labels: Optional[np.ndarray]) -> dict:
    """The result with its "overall" scope filled in and "per_class" still empty."""
    # "Overall" compares against the real images of the classes the synthetic set covers: a batch of one rare
    # class measured against every class would report near-zero recall and a DCR skewed by class sizes.
    classes = np.unique(f.synth_labels)
    real_scope = np.isin(real_labels, classes)
    hold_scope = None
    if f.holdout is not None:
        hold_scope = np.ones(len(f.holdout), dtype=bool) if holdout_labels is None else np.isin(holdout_labels, classes)
    result = {
        "overall": f.scope(np.ones(len(f.synth), dtype=bool), real_scope, hold_scope),
        "per_class": {},
        "counts": {"real": int(real_scope.sum()), "synthetic": int(len(f.synth)),
                   "holdout": 0 if hold_scope is None else int(hold_scope.sum())},
        "reference": f.reference(real_scope, hold_scope),
    }
    result["caution"] = few_images_caution(result["counts"]["real"], result["counts"]["holdout"],
                                           {**result["overall"], "reference": result["reference"]},
                                           result["counts"]["synthetic"])
    return result


def _one_class(f: _Features, c, real_labels: np.ndarray, holdout_labels: Optional[np.ndarray]) -> dict:
    hold_mask = None if holdout_labels is None or f.holdout is None else np.asarray(holdout_labels) == c
    scope = f.scope(f.synth_labels == c, real_labels == c, hold_mask)
    scope["n_real"], scope["n_synthetic"] = int((real_labels == c).sum()), int((f.synth_labels == c).sum())
    scope["reference"] = f.reference(real_labels == c, hold_mask)
    scope["caution"] = few_images_caution(scope["n_real"], 0 if hold_mask is None else int(hold_mask.sum()), scope,
                                          scope["n_synthetic"])
    return scope
