"""The mode-collapse monitor's per-class diversity ratio against its definition: the mean pairwise Euclidean distance
of a class's generated samples over that of its real images (pixels pooled to at most 16×16)."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

from ganaug_core.training.diversity import DiversityMonitor


class Replaying(torch.nn.Module):
    """A generator that draws, for every requested label, that class's real images again, scaled about 0."""

    def __init__(self, by_class: dict[int, torch.Tensor], scale: dict[int, float]):
        super().__init__()
        self.by_class, self.scale = by_class, scale

    def forward(self, z, c):
        out, seen = [], {}
        for label in c.tolist():
            i = seen.get(label, 0)
            seen[label] = i + 1
            out.append(self.by_class[label][i % len(self.by_class[label])] * self.scale[label])
        return torch.stack(out)


def test_ratio_is_the_mean_pairwise_distance_of_samples_over_that_of_real_images():
    rng = np.random.default_rng(0)
    real = torch.from_numpy(rng.uniform(-1, 1, size=(16, 1, 8, 8)).astype(np.float32))
    labels = torch.tensor([0] * 8 + [1] * 8)
    by_class = {c: real[labels == c] for c in (0, 1)}
    monitor = DiversityMonitor(real, labels, 2, threshold=0.5, n_per_class=8)
    for c in (0, 1):  # the real spread: scipy's pairwise distances of the class's 8 images, in float64
        assert monitor.real[c] == pytest.approx(pdist(by_class[c].double().flatten(1).numpy()).mean(), rel=1e-6)
    report = monitor.measure(Replaying(by_class, {0: 1.0, 1: 0.4}), 8, torch.device("cpu"))
    # The same images give 1; the same images shrunk to 0.4 of their size about 0 spread 0.4 as far.
    assert report.ratios[0] == pytest.approx(1.0, rel=1e-6)
    assert report.ratios[1] == pytest.approx(0.4, rel=1e-6)
    assert report.flagged == [1]
