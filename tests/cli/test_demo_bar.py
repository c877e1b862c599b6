"""`ganaug demo`'s training bar reads like `ganaug train`'s (`ganaug.cli.gan.train_bar`): it printed every raw stat,
d_real, ac_d, the diversity of each of the ten classes and the grid's path, a bar some 500 characters wide."""

from __future__ import annotations

from tests.cli.helpers import ganaug


def test_the_demos_training_bar_shows_what_trains_bar_shows(digits, home, monkeypatch):
    from ganaug.runs import default_config

    # The demo's generator, made tiny (two steps at 8×8); every class is "collapsed" at a threshold of 1.
    tiny = dict(minutes=None, steps=2, resolution=8, width=4, batch_size=8, diversity_threshold=1)
    monkeypatch.setattr("ganaug.runs.default_config", lambda name, **k: default_config(name, **{**k, **tiny}))
    monkeypatch.setattr("ganaug.demo._minority_classes", lambda name: [])  # no batches to generate and score
    result = ganaug("demo", "--prepare-only")
    assert result.exit_code == 0, result.output
    bar = [line for line in result.stderr.splitlines() if line.startswith("train:")][-1]
    assert "loss_d=" in bar and "images_per_s=" in bar and bar.endswith(" +7 more]]"), bar  # 10 classes, 3 named
    for raw in ("run_id=", "step=", "d_real=", "ac_d=", "ada_rt=", "elapsed_s=", "diversity=", "grid="):
        assert raw not in bar, bar
    assert len(bar) < 200, bar
