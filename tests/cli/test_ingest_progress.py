"""The ingest bars: the first drawing of decoding's and of writing's says how far each is when it starts (nowhere),
not how far its first report of progress was."""

from __future__ import annotations

import re

import numpy as np

from tests.cli.helpers import run


def tiny_folder(root, per_class: int):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("crack", "ok"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(root / name / f"{i:03d}.png")
    return root


def test_the_decode_and_write_bars_start_at_zero(home, tmp_path):
    # A 345-image folder's bar first drew `decode: 74%| 256/345`: its first report came after 256 images; a folder of
    # fewer than 256 drew 100 % at once.
    result = run("data", "ingest", tiny_folder(tmp_path / "src", 35), "--name", "parts", "--resolution", "8")
    assert result.exit_code == 0, result.output
    for stage in ("decode", "write"):
        drawn = [int(n) for n in re.findall(stage + r":\s+\d+%\|[^|]*\|\s*(\d+)/70", result.stderr)]
        assert drawn[0] == 0 and drawn[-1] == 70, (stage, result.stderr)
