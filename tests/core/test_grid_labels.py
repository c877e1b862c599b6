"""The overview grid names its rows: opened from the run folder, a rare class that resembles a common one is told
apart only by its row, and the PNG said nothing of which row was which."""

from __future__ import annotations

import numpy as np

from ganaug_core.grid_labels import MARGIN_MAX_PX, label_rows, row_labels
from ganaug_core.imageio import make_grid, read_png
from ganaug_core.training.config import TrainConfig
from ganaug_core.training.loop import Trainer
from tests.core.test_gan_training import TINY, tiny_data


def _ink_rows(margin: np.ndarray) -> np.ndarray:
    """The pixel rows of a label margin (C, H, W) that hold any text."""
    return np.flatnonzero(margin.max(axis=(0, 2)) > 0)


def test_the_overview_names_each_row_beside_the_samples_it_shows(tmp_path):
    cfg = TrainConfig(**{**TINY, "steps": 1, "grid_every": 1, "ckpt_every": 1}).validate()
    trainer = Trainer(cfg, tiny_data(), tmp_path)
    path = trainer.write_grids()
    overview = read_png(path)
    res, pad = cfg.resolution, 2
    row_tiles = [read_png(p) for p in sorted((path.parent / path.stem).iterdir())]  # each class's own grid
    assert len(row_tiles) == 3
    # The samples are the first 10 of each class's own grid, unchanged, right of the margin.
    width = 10 * (res + pad) + pad
    margin, samples = overview[:, :, :-width], overview[:, :, -width:]
    for i, tile in enumerate(row_tiles):
        y = pad + i * (res + pad)
        assert np.array_equal(samples[:, y:y + res, pad:pad + res], tile[:, pad:pad + res, pad:pad + res])
    # Each class's name is written within its own row's band, and nowhere else.
    ink = _ink_rows(margin)
    for i in range(3):
        band = (ink >= pad + i * (res + pad) - 1) & (ink < (i + 1) * (res + pad) + 1)
        assert band.any(), f"row {i} has no label"


def test_names_are_told_apart_and_a_long_one_is_cut_to_the_margin():
    grid = make_grid(np.zeros((20, 1, 16, 16), np.uint8), nrow=10)
    a = label_rows(grid, ["disc", "cracked disc"], 16, 2)
    b = label_rows(grid, ["disc", "scratched disc"], 16, 2)
    assert a.shape[1:] != b.shape[1:] or not np.array_equal(a, b)
    assert np.array_equal(a, label_rows(grid, ["disc", "cracked disc"], 16, 2))  # the same bytes every time
    long = label_rows(grid, ["x" * 300, "y"], 16, 2)
    assert long.shape[2] - grid.shape[2] <= MARGIN_MAX_PX + 6
    assert np.array_equal(long[:, :, -grid.shape[2]:], grid)


def test_letters_the_font_lacks_are_not_drawn_as_empty_boxes():
    """Pillow's built-in font has ASCII only: "naevus — type" drew a box for the dash and a Chinese name a row of
    boxes."""
    grid = make_grid(np.zeros((20, 3, 16, 16), np.uint8), nrow=10)
    assert np.array_equal(label_rows(grid, ["café", "中文"], 16, 2), label_rows(grid, ["cafe", "class 1"], 16, 2))
    assert np.array_equal(label_rows(grid, ["a — b", "x"], 16, 2), label_rows(grid, ["a ? b", "x"], 16, 2))


def test_long_names_that_share_their_start_are_cut_in_the_middle():
    """A plant catalogue names its classes crop first: at 32² its grid labelled four rows "Corn_(maize)___…" and two
    "Tomato___Toma…", which no one could tell apart. Those are cut in their middle, keeping their ends; a long
    name cut at its end that no other reads like stays so."""
    names = ["Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot", "Corn_(maize)___Common_rust_",
             "Corn_(maize)___Northern_Leaf_Blight", "Corn_(maize)___healthy", "Tomato___Tomato_mosaic_virus",
             "Tomato___Tomato_Yellow_Leaf_Curl_Virus", "Apple___Cedar_apple_rust", "Grape___Black_rot"]
    labels, _ = row_labels(names, 32, 2)
    assert len(set(labels)) == len(names), labels
    assert labels[3].startswith("Corn_") and labels[3].endswith("healthy")
    assert labels[6].startswith("Apple___Cedar_a") and labels[6].endswith("…")  # no other reads like it
    assert labels[7] == "Grape___Black_rot"  # short enough: whole


def test_a_class_folder_named_with_a_line_break_is_labelled_on_one_line():
    """`ganaug train` on a dataset with a class folder 'a\\nb' failed with a traceback at its first grid: Pillow
    cannot measure a label of two lines. The break is written as `one_line` prints it on the command line."""
    grid = make_grid(np.zeros((30, 1, 16, 16), np.uint8), nrow=10)
    assert np.array_equal(label_rows(grid, ["a\nb", "tab\there", "x"], 16, 2),
                          label_rows(grid, ["a\\nb", "tab\\there", "x"], 16, 2))


def test_a_class_folder_named_with_a_control_character_is_labelled_as_the_command_line_prints_it():
    # ESC and a bidi override were drawn as "?" (the font's box), where `ganaug data report` prints "\x1b" and
    # "\u202e": the grid and the command line named one class two ways.
    names = ["e\x1bsc", "x\u202egpj.exe", "r\rn"]
    assert row_labels(names, 16, 2)[0] == ["e\\x1bsc", "x\\u202egpj.exe", "r\\rn"]
