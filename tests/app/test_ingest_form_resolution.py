"""An admin who does not know what "resolution" means adds a folder of 64×64 photos from the Overview: the form left it
at 32, and only after the ingest said the images had been shrunk 2×, for good, with a shell command (its backticks
shown as they are) for the details. The form now says so before anything starts, and the outcome says what to do."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.app.conftest import app_test, button
from tests.app.test_overview_add_dataset import fill, only_job


def photo_folder(root, side: int = 64, classes=(("nevus", 3), ("naevus_rare", 2))):
    """One sub-folder of distinct side×side colour PNGs per class."""
    rng = np.random.default_rng(5)
    for name, n in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def shrink_warnings(at) -> list[str]:
    return [w.value for w in at.warning if "pixels: at a resolution of" in w.value]


def test_the_form_says_before_the_ingest_that_the_resolution_would_shrink_the_images(users, tmp_path):
    src = photo_folder(tmp_path / "src")
    at = fill(app_test(users["ada"]), str(src), resolution=32)
    said = shrink_warnings(at)
    assert len(said) == 1
    assert said[0].startswith("These images are about 64×64 pixels: at a resolution of 32 each is shrunk 2×")
    assert "cannot be changed once ingested; 64 keeps their detail" in said[0]
    assert not shrink_warnings(fill(at, str(src), resolution=64))  # the images' own side: nothing lost, nothing said
    # Files of another format named .png, which the ingest refuses: Pillow's every decoder read their headers here.
    other = photo_folder(tmp_path / "other")
    for f in other.glob("*/*.png"):
        Image.open(f).save(f, format="PPM")
    assert not shrink_warnings(fill(at, str(other), resolution=32))
    # A link in each class folder that cannot be looked up (its name too long) left every class unmeasured.
    from pages.ingest_form import images_side

    for name in ("nevus", "naevus_rare"):
        (src / name / "0000.png").symlink_to("x" * 300)
    images_side.clear()
    assert images_side(str(src), ("nevus", "naevus_rare"), True) == 64


def test_no_image_behind_a_link_out_of_the_ingest_roots_is_read_for_its_size(tmp_path, monkeypatch):
    # The preview and the ingest pass such a link over; the size estimate still read its images' headers.
    from pages.ingest_form import images_side

    allowed, outside = tmp_path / "allowed", photo_folder(tmp_path / "outside", side=64, classes=(("secret", 2),))
    photo_folder(allowed, side=16, classes=(("nevus", 2),))
    (allowed / "linked").symlink_to(outside / "secret")
    monkeypatch.setenv("GANAUG_INGEST_ROOTS", str(allowed))
    images_side.clear()
    assert images_side(str(allowed), ("linked",), True) is None
    assert images_side(str(allowed), ("nevus", "linked"), True) == 16



def test_an_ingest_that_shrank_the_images_says_how_to_keep_their_detail_and_shows_the_command_as_code(users, tmp_path):
    from ganaug.worker import execute_job

    src = photo_folder(tmp_path / "src")
    at = fill(app_test(users["ada"]), str(src), resolution=16)
    button(at, "Ingest").click().run()
    assert execute_job(only_job().id) == "done"
    at.run()
    shrunk = next(c.value for c in at.caption if "were shrunk 4× to 16²" in c.value)
    assert shrunk.endswith(" `ganaug data report` lists each file.") and "\\`" not in shrunk  # a code span, not "\`"
    assert any("add the folder again under another name with a resolution of 64" in i.value for i in at.info)
