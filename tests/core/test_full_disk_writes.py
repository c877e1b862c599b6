"""A full disk while the first scoring saves what it fitted: the feature extractor, the map (embedding) and the
cache's records are each written to a temporary file beside their name, then renamed. On a 300 kB tmpfs
`ganaug evaluate batch 1` said "what the command was writing was removed" and left the extractor's 270 kB
`.feature_extractor.pt.<pid>.<hex>.tmp` behind, eating the space it had just told the user to free.

The disk fills for real here, through a file-size limit (`tests.full_disk`); no test may mount a file system."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from tests.full_disk import files_end_at


def _fails_full_and_leaves_nothing(folder, save):
    with files_end_at(4096), pytest.raises(OSError) as raised:
        save()
    assert raised.value.errno == errno.EFBIG
    assert sorted(p.name for p in folder.iterdir()) == []


def test_a_feature_extractor_saved_on_a_full_disk_leaves_no_temporary_file(tmp_path):
    from ganaug_core.features import ExtractorConfig, FeatureExtractor, _Net

    config = ExtractorConfig(channels=1, num_classes=3, width=8, feature_dim=8)
    extractor = FeatureExtractor(_Net(config), config)
    _fails_full_and_leaves_nothing(tmp_path, lambda: extractor.save(tmp_path / "feature_extractor.pt"))
    extractor.save(tmp_path / "feature_extractor.pt")  # room again: saved whole
    assert [p.name for p in tmp_path.iterdir()] == ["feature_extractor.pt"]


def test_a_map_saved_on_a_full_disk_leaves_no_temporary_file(tmp_path):
    from ganaug_core.embedding import Embedding

    rng = np.random.default_rng(0)
    embedding = Embedding(rng.normal(size=(300, 16)).astype(np.float32), rng.normal(size=(300, 2)).astype(np.float32),
                          5)
    _fails_full_and_leaves_nothing(tmp_path, lambda: embedding.save(tmp_path / "embedding.npz"))


def test_a_record_written_on_a_full_disk_leaves_no_temporary_file(tmp_path):
    from ganaug.domain_models import write_record

    _fails_full_and_leaves_nothing(tmp_path, lambda: write_record(tmp_path / "record.json", {"x": "y" * 8192}))
