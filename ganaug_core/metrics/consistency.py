"""Class consistency: the share of generated samples that the real-trained classifier assigns to the class
they were conditioned on. A conditional generator that ignores its label scores about 1 / number of classes.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def class_consistency(probabilities: np.ndarray, conditioned: np.ndarray) -> Optional[float]:
    """`probabilities` (N, K) from `FeatureExtractor.predict_proba`; `conditioned` (N,) class indices."""
    conditioned = np.asarray(conditioned)
    if len(conditioned) == 0:
        return None
    return float((np.asarray(probabilities).argmax(axis=1) == conditioned).mean())


def mean_confidence(probabilities: np.ndarray, conditioned: np.ndarray) -> Optional[float]:
    """Mean probability the classifier gives to the conditioned class (a softer view of the same question)."""
    conditioned = np.asarray(conditioned)
    if len(conditioned) == 0:
        return None
    return float(np.asarray(probabilities)[np.arange(len(conditioned)), conditioned].mean())
