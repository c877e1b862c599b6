"""A checkpoint file is read in about its own size of memory: torch.load inflates deflated zip records, so a 1 MB
"checkpoint" of a deflated 1 GiB tensor took 1 GiB to load."""

from __future__ import annotations

import zipfile

import pytest
import torch

from ganaug_core.errors import GanaugError
from ganaug_core.training.checkpoint import FORMAT, REQUIRED, load_checkpoint, save_checkpoint


def _rezip(source, target, compression) -> None:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info.filename), compress_type=compression)


def test_a_checkpoint_with_compressed_records_is_refused_before_loading(tmp_path):
    payload = {key: 0 for key in REQUIRED} | {"format": FORMAT, "G": {"w": torch.zeros(1 << 18)}}
    save_checkpoint(payload, tmp_path / "real.pt")
    _rezip(tmp_path / "real.pt", tmp_path / "stored.pt", zipfile.ZIP_STORED)
    assert load_checkpoint(tmp_path / "stored.pt")["G"]["w"].shape == (1 << 18,)  # the same records, as torch writes
    _rezip(tmp_path / "real.pt", tmp_path / "deflated.pt", zipfile.ZIP_DEFLATED)
    assert (tmp_path / "deflated.pt").stat().st_size < 20_000  # 1 MiB of zeros
    with pytest.raises(GanaugError, match="compressed records"):
        load_checkpoint(tmp_path / "deflated.pt")
