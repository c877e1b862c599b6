"""A check on files that `torch.load` reads (checkpoints, feature extractors), made before they are loaded."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ganaug_core.errors import GanaugError


def check_not_compressed(path: Path, what: str = "ganaug checkpoint") -> None:
    """torch.save stores its zip's records uncompressed, so loading one takes about the file's size in memory;
    torch.load also inflates compressed ones, and a 1 MB file of a deflated 1 GiB tensor took 1 GiB. Refused before
    loading; `what` names the kind of file in the message."""
    if not zipfile.is_zipfile(path):
        return  # not a zip: torch.load says so
    try:
        with zipfile.ZipFile(path) as archive:
            packed = [i.filename for i in archive.infolist() if i.compress_type != zipfile.ZIP_STORED]
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise GanaugError(f"{path} is not a readable {what} (corrupt or foreign file: {e})") from None
    if packed:
        raise GanaugError(f"{path} is not a {what}: it holds compressed records ({packed[0]}), which "
                          "torch.save never writes and which could inflate to far more memory than the file's size")
