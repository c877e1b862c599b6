"""The --bit-depth a dataset was ingested with is recorded with it (0010): whoever ingests its source again, or reads
the dataset in the app, learns that its 16-bit images were scaled 4095 → 255, not 65535 → 255. Nothing kept it: the
same folder ingested again without it gave other, nearly black images, and nothing said why."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from sqlalchemy import text

from tests.cli.helpers import ganaug


def _twelve_bit_folder(src):
    """Two classes of a 12-bit camera's images saved as 16-bit TIFFs."""
    for c, step in (("cells", 60), ("debris", 30)):
        (src / c).mkdir(parents=True)
        for k in range(3):
            values = np.arange(64, dtype=np.uint16).reshape(8, 8) * step + 40 * k
            Image.fromarray(values).save(src / c / f"{k}.tif")
    return src


def _listed(name: str) -> dict:
    listed = ganaug("data", "list", "--json")
    assert listed.exit_code == 0, listed.output
    return next(d for d in json.loads(listed.stdout)["datasets"] if d["name"] == name)


def test_the_bit_depth_given_is_recorded_and_shown_by_data_report_and_list(home, tmp_path):
    src = _twelve_bit_folder(tmp_path / "src")
    lit = ganaug("data", "ingest", src, "--name", "lit", "--resolution", "8", "--bit-depth", "12", "--json")
    assert lit.exit_code == 0, lit.output
    assert json.loads(lit.stdout)["bit_depth"] == 12
    assert ganaug("data", "ingest", src, "--name", "plain", "--resolution", "8").exit_code == 0
    assert (_listed("lit")["bit_depth"], _listed("plain")["bit_depth"]) == (12, None)  # None: not given (16)

    report = ganaug("data", "report", "lit")
    assert ("ingested with --bit-depth 12: a 16-bit image's values were scaled 4,095 → 255 (ingest the source again "
            "with it to get the same images)") in report.stdout.splitlines()
    assert json.loads(ganaug("data", "report", "lit", "--json").stdout)["bit_depth"] == 12
    assert "--bit-depth" not in ganaug("data", "report", "plain").stdout
    assert json.loads(ganaug("data", "report", "plain", "--json").stdout)["bit_depth"] is None


def test_a_dataset_ingested_before_0010_reads_as_not_given(home):
    # A home migrated from 0009: its datasets' rows have no bit depth, and nothing says which was given.
    from db.engine import dispose_engines, get_engine
    from db.migrate import upgrade

    url = f"sqlite:///{home / 'ganaug.db'}"
    dispose_engines()
    upgrade(get_engine(url, migrate=False), "0009")
    with get_engine(url, migrate=False).begin() as c:
        c.execute(text("INSERT INTO datasets (name, source, path, resolution, channels, class_names, test_fraction, "
                       "seed, arrays_sha256, skipped, created_at) VALUES ('old', '/data/old', 'datasets/old', 8, 1, "
                       "'[\"a\", \"b\"]', 0.2, 0, :sha, '[]', '2026-12-06 10:00:00')"), {"sha": "0" * 64})
    dispose_engines()  # the next command migrates it, as the first one after `git pull` does
    assert _listed("old")["bit_depth"] is None
    report = ganaug("data", "report", "old", "--json")
    assert report.exit_code == 0 and json.loads(report.stdout)["bit_depth"] is None, report.output
