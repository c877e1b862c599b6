"""Test metrics for one trained classifier: imbalance-aware scores, per-class recall, PR-AUC and calibration."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, confusion_matrix, f1_score, precision_recall_curve

# Scalar metrics, in report order; each is "higher is better" except ECE.
SCALAR_METRICS = ("balanced_accuracy", "minority_recall", "macro_f1", "macro_gmean", "minority_pr_auc", "ece")
LOWER_IS_BETTER = {"ece"}
ECE_BINS = 15


def per_class_recall(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    cm = confusion_matrix(y_true, y_pred, labels=list(range(num_classes)))
    support = cm.sum(axis=1)
    return np.divide(np.diag(cm), support, out=np.zeros(num_classes), where=support > 0)


def macro_gmean(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Mean over classes of sqrt(recall × specificity), one-vs-rest (the mean of imbalanced-learn's per-class
    average=None values; its average='macro' is sqrt(mean recall × mean specificity), which hides a weak class)."""
    cm = confusion_matrix(y_true, y_pred, labels=list(range(num_classes))).astype(np.float64)
    total = cm.sum()
    tp = np.diag(cm)
    fn = cm.sum(axis=1) - tp
    fp = cm.sum(axis=0) - tp
    tn = total - tp - fn - fp
    recall = np.divide(tp, tp + fn, out=np.zeros(num_classes), where=(tp + fn) > 0)
    specificity = np.divide(tn, tn + fp, out=np.zeros(num_classes), where=(tn + fp) > 0)
    return float(np.mean(np.sqrt(recall * specificity)))


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label ECE: |accuracy − confidence| per equal-width confidence bin, weighted by the bin's share."""
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def pr_auc(y_true: np.ndarray, proba: np.ndarray, class_index: int) -> float:
    """Average precision of one class against the rest (the area under its precision-recall curve)."""
    return float(average_precision_score(y_true == class_index, proba[:, class_index]))


def pr_curve(y_true: np.ndarray, proba: np.ndarray, class_index: int) -> tuple[np.ndarray, np.ndarray]:
    precision, recall, _ = precision_recall_curve(y_true == class_index, proba[:, class_index])
    return recall, precision


def evaluate(y_true: np.ndarray, proba: np.ndarray, minority: Sequence[int]) -> dict:
    """Every metric of one classifier on one test set; `minority` are the rare classes' indices."""
    num_classes = proba.shape[1]
    y_pred = proba.argmax(axis=1)
    recall = per_class_recall(y_true, y_pred, num_classes)
    aucs = {int(c): pr_auc(y_true, proba, c) for c in minority}
    return {
        "balanced_accuracy": float(recall.mean()),
        "minority_recall": float(recall[list(minority)].mean()) if len(minority) else float("nan"),
        "macro_f1": float(f1_score(y_true, y_pred, labels=list(range(num_classes)), average="macro", zero_division=0)),
        "macro_gmean": macro_gmean(y_true, y_pred, num_classes),
        "minority_pr_auc": float(np.mean(list(aucs.values()))) if aucs else float("nan"),
        "ece": expected_calibration_error(y_true, proba),
        "per_class_recall": [float(r) for r in recall],
        "pr_auc": aucs,
    }
