"""A run keeps every grid step's overview but the per-class grid folders of its newest steps only: a 100-class
colour run at 32² wrote ≈ 21 MB of per-class grids every 250 steps, 840 MB over 10,000 steps."""

from __future__ import annotations

from ganaug_core.training.config import TrainConfig
from ganaug_core.training.grids import CLASS_GRIDS_KEPT
from ganaug_core.training.loop import Trainer
from tests.core.test_gan_training import TINY, tiny_data


def test_only_the_newest_per_class_grid_folders_stay_and_every_overview(tmp_path):
    cfg = TrainConfig(**{**TINY, "steps": 5, "grid_every": 1, "ckpt_every": 5}).validate()
    (tmp_path / "grids" / ".drop-step0000001").mkdir(parents=True)  # left by a kill while one was dropped
    result = Trainer(cfg, tiny_data(), tmp_path).run()
    grids = tmp_path / "grids"
    assert CLASS_GRIDS_KEPT == 2
    assert sorted(p.name for p in grids.iterdir() if p.is_dir()) == ["step0000004", "step0000005"]
    assert sorted(p.name for p in grids.glob("*.png")) == [f"step000000{i}.png" for i in range(1, 6)]
    assert sorted(p.name for p in (grids / "step0000005").iterdir()) == ["class000_a.png", "class001_b.png",
                                                                         "class002_c.png"]
    assert result.last_stats["grid"] == str(grids / "step0000005.png")  # what the app shows: the newest overview
