"""A PyTorch Dataset over a gated manifest: what downstream training reads.

Entries are anything with `path`, `sha256` and `class_index` (the gate's `ManifestEntry`, a dict, a row of
`manifest.csv`); paths are relative to `home`. Every file is checked against its sha256 when it is read, so a file
changed after gating fails loudly instead of training silently on different pixels, and decoded through the
size guard of `imageio` (a manifest names files the user chose: one may be a decompression bomb).
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ganaug_core.errors import GanaugError
from ganaug_core.imageio import ImageRejected, decode_image


def _field(entry: Any, name: str):
    return entry[name] if isinstance(entry, dict) else getattr(entry, name)


class ManifestDataset(Dataset):
    """Item i is (uint8 tensor (C, H, W), class index), or `transform(tensor)` in place of the tensor."""

    def __init__(self, entries: Sequence[Any], home: Path | str, transform: Optional[Callable] = None):
        self.home = Path(home)
        self.paths = [str(_field(e, "path")) for e in entries]
        self.hashes = [str(_field(e, "sha256")) for e in entries]
        self.labels = [int(_field(e, "class_index")) for e in entries]
        self.sources = [str(e.get("source", "") if isinstance(e, dict) else getattr(e, "source", "")) for e in entries]
        self.transform = transform

    @classmethod
    def from_csv(cls, manifest: Path | str, home: Path | str, transform: Optional[Callable] = None) -> "ManifestDataset":
        with open(manifest, newline="", encoding="utf-8") as f:
            return cls(list(csv.DictReader(f)), home, transform)

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, i: int) -> np.ndarray:
        path = Path(self.paths[i])
        path = path if path.is_absolute() else self.home / path
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.hashes[i]:
            raise GanaugError(f"{path} no longer matches the sha256 recorded in the manifest; gate the set again")
        try:
            return decode_image(io.BytesIO(data))
        except ImageRejected as e:
            raise GanaugError(f"refusing {path}: {e}") from None

    def __getitem__(self, i: int):
        image = torch.from_numpy(np.ascontiguousarray(self.read(i)))
        return (self.transform(image) if self.transform else image), self.labels[i]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All images as uint8 (N, C, H, W) and labels as int64 (N,) — for classifiers that want arrays."""
        if not self.paths:
            return np.zeros((0, 1, 1, 1), np.uint8), np.zeros(0, np.int64)
        return np.stack([self.read(i) for i in range(len(self))]), np.asarray(self.labels, np.int64)
