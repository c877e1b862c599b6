"""The sample grids a run writes into its folder: one PNG per class (8×8 samples) under `grids/step…/` and an
overview with one row per class, named in a margin on the left, as `grids/step….png`. Grids use fixed latents, so
successive grids show the same samples evolving; only the newest steps' per-class folders are kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from ganaug_core.grid_labels import label_rows
from ganaug_core.imageio import make_grid, save_png
from ganaug_core.training.config import TrainConfig
from ganaug_core.training.diversity import class_groups, sample_classes
from ganaug_core.training.networks import Generator

GRID_PER_CLASS = 64  # samples in each per-class grid (8×8)
GRID_SEED = 2024  # grids use fixed latents, so successive grids show the same samples evolving
GRID_PAD = 2  # px between the tiles of a grid (make_grid's default)
# Per-class grid folders kept: the newest this many steps (the last one written included). Every step keeps its
# overview (10 samples of each class), 1/7 of the folder's bytes; a 100-class colour run at 32² wrote ≈ 21 MB of
# per-class grids every 250 steps, 840 MB over 10,000 steps.
CLASS_GRIDS_KEPT = 2


@torch.no_grad()
def write_grids(g_ema: Generator, cfg: TrainConfig, class_names: list[str], grids: Path, step: int,
                device: torch.device) -> Path:
    """One PNG per class (8×8 samples) and an overview with one row per class, named in a margin on the left;
    returns the overview's path."""
    folder = grids / f"step{step:07d}"
    gen = torch.Generator().manual_seed(GRID_SEED)
    rows = []
    for group in class_groups(cfg.num_classes, GRID_PER_CLASS):
        samples = to_uint8(sample_classes(g_ema, group, GRID_PER_CLASS, cfg.z_dim, gen, device))
        for k, c in enumerate(group):
            imgs = samples[k * GRID_PER_CLASS:(k + 1) * GRID_PER_CLASS]
            save_png(make_grid(imgs, nrow=8), folder / f"class{c:03d}_{_safe(class_names[c])}.png")
            rows.append(imgs[:10])
    overview = grids / f"step{step:07d}.png"
    grid = make_grid(np.concatenate(rows), nrow=10, pad=GRID_PAD)
    save_png(label_rows(grid, list(class_names), cfg.resolution, GRID_PAD), overview)
    _drop_old_class_grids(grids)
    return overview


def _drop_old_class_grids(grids: Path) -> None:
    """Remove the per-class grid folders older than the newest `CLASS_GRIDS_KEPT`; the overviews all stay. A folder
    is renamed away before it is removed, so a kill midway leaves no half folder under a step's name."""
    folders = sorted(p for p in grids.iterdir() if p.is_dir() and p.name.startswith("step"))
    for folder in folders[:-CLASS_GRIDS_KEPT]:
        doomed = folder.with_name(f".drop-{folder.name}")
        shutil.rmtree(doomed, ignore_errors=True)  # one a kill left behind
        folder.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] floats → uint8 (N, C, H, W), rounding half up."""
    return (images.float() * 127.5 + 128.0).clamp(0, 255).to(torch.uint8).cpu().numpy()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))[:40]
