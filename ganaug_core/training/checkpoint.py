"""Checkpoint files: written atomically, read with `torch.load(weights_only=True)` only — never a pickle.

A checkpoint is a plain dict of tensors, numbers, strings and lists: the config, the dataset it was trained on
(name, arrays sha256, class names), the step, G / D / G_ema and both optimizers' state, the ADA state and the
random generator's state — everything an exact resume needs.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ganaug_core.errors import GanaugError
from ganaug_core.imageio import sha256_file
from ganaug_core.torch_archive import check_not_compressed

FORMAT = "ganaug-cgan-1"
REQUIRED = ("format", "config", "dataset", "step", "G", "D", "G_ema", "opt_g", "opt_d", "ada", "rng")


def save_checkpoint(payload: dict[str, Any], path: Path) -> str:
    """Write to a temporary file beside `path`, fsync, rename over it; returns the file's sha256.

    Serialised in memory first: torch.save writing into a full disk fails with a RuntimeError about zip offsets
    ("unexpected pos"), where a plain write says "No space left on device" and names the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buffer.getbuffer())
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise OSError(e.errno, e.strerror, str(path)) from None
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha256_file(path)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a ganaug checkpoint; anything else (corrupt, foreign, a pickle of objects) is refused."""
    path = Path(path)
    if not path.is_file():
        raise GanaugError(f"checkpoint not found: {path}")
    check_not_compressed(path, "ganaug checkpoint")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many types for truncated zips and for refused pickles
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GanaugError(f"{path} is not a readable ganaug checkpoint (corrupt or foreign file: {first[:160]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise GanaugError(f"{path} is not a ganaug checkpoint (expected format {FORMAT!r})")
    missing = [k for k in REQUIRED if k not in payload]
    if missing:
        raise GanaugError(f"{path} is an incomplete ganaug checkpoint (missing {', '.join(missing)})")
    return payload


def check_dataset(payload: dict[str, Any], name: str, arrays_sha256: str, path: Path | str = "checkpoint") -> None:
    """Refuse a checkpoint trained on another dataset (by content, not only by name)."""
    ds = payload["dataset"]
    if ds.get("arrays_sha256") != arrays_sha256:
        raise GanaugError(
            f"{path} was trained on dataset {ds.get('name')!r}, not on {name!r} (its data sha256 differs); "
            "resume it with its own dataset"
        )
