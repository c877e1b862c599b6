"""Which decoders an image file reaches: the formats a folder dataset may hold (WebP and GIF among them, which were
skipped as "not an image file type"), and nothing else whatever its name says."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ganaug_core.imageio import ImageRejected, load_image



def test_a_folder_of_webp_and_gif_images_is_ingested(tmp_path):
    from ganaug_core.datasets import IngestOptions, ingest

    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    pixels[:, 4:] = (255, 0, 0)
    for cls in ("crack", "ok"):
        (tmp_path / "src" / cls).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(pixels).save(tmp_path / "src" / cls / f"{i}.webp", lossless=True)
            Image.fromarray(pixels).save(tmp_path / "src" / cls / f"{i}.gif")
    result = ingest(str(tmp_path / "src"), tmp_path / "out", IngestOptions(resolution=8, channels=3))
    assert (len(result.images), result.skipped) == (20, [])  # both were skipped: "not an image file type"
    image = load_image(tmp_path / "src" / "ok" / "0.gif", 8, 3)
    assert image[0, :, 6].min() > 200 and image[0, :, 1].max() < 50  # the red half stays red, the black half black


@pytest.mark.parametrize("kind", ["PPM", "TGA", "ICO"])
def test_a_file_of_another_format_reaches_no_decoder_whatever_its_name(tmp_path, kind):
    # Pillow picks a decoder by a file's first bytes (its EPS plugin runs Ghostscript where that is installed):
    # these formats decode without anything else installed, and decoded as images before.
    path = tmp_path / "scan.png"
    Image.fromarray(np.full((8, 8, 3), 99, dtype=np.uint8)).save(path, format=kind)
    with pytest.raises(ImageRejected, match="not a readable image"):
        load_image(path, 8, 1)



def test_a_pipe_or_a_device_in_an_images_place_is_refused_without_waiting(tmp_path):
    # A folder is listed before its images are read: one swapped for a pipe meanwhile blocked its read for good (a job
    # worker's ingest that no Cancel could stop). The read runs in a thread, so that the test fails instead of hanging.
    import os
    import threading

    pipe, zero = tmp_path / "scan.png", tmp_path / "zero.png"
    os.mkfifo(pipe)
    zero.symlink_to("/dev/zero")
    for path in (pipe, zero):
        said = []
        reader = threading.Thread(target=lambda: said.append(pytest.raises(ImageRejected, load_image, path, 8, 1)),
                                  daemon=True)
        reader.start()
        reader.join(30)
        assert not reader.is_alive(), f"{path.name}: still waiting for a writer"
        assert said and "not a readable image (not a plain file: a pipe, socket or device)" in str(said[0].value)


def test_an_image_swapped_for_a_link_after_the_listing_is_not_read_where_links_are_not_followed(tmp_path):
    """The listing passes links over where the ingest is told not to follow them (the form's Follow links unticked,
    `--no-follow-links`); a file swapped for a link between the listing and the read was read where it led."""
    from ganaug_core.datasets import IngestOptions, ingest

    secret = tmp_path / "elsewhere" / "record.png"
    secret.parent.mkdir()
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(secret)
    for cls in ("a", "b"):
        (tmp_path / "src" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "src" / cls / f"{i}.png")
    swapped = tmp_path / "src" / "a" / "0.png"

    def swap(p):  # once listed, before the first image is read (one worker: the reads follow this report)
        if p.stage == "decode" and p.done == 0 and not swapped.is_symlink():
            swapped.unlink()
            swapped.symlink_to(secret)

    options = IngestOptions(resolution=8, channels=1, workers=1, follow_links=False)
    result = ingest(str(tmp_path / "src"), tmp_path / "out", options, swap)
    assert result.skipped == [(str(swapped), "a link, made after the folder was listed: not followed, as links are "
                                             "not for this ingest")]
    assert len(result.images) == 5
    # Following links, the same link is read, listed or swapped in (the walk says which links it followed).
    result = ingest(str(tmp_path / "src"), tmp_path / "out2", IngestOptions(resolution=8, channels=1, workers=1))
    assert (len(result.images), result.skipped) == (6, [])


def test_a_class_folder_swapped_for_a_link_after_the_listing_is_not_read_through_where_links_are_not_followed(tmp_path):
    """O_NOFOLLOW refuses a link in a file's own place only: a class folder swapped for a link between the listing and
    the reads had each of its images read where the link led (another patient's records, outside the folder given)."""
    from ganaug_core.datasets import IngestOptions, ingest

    elsewhere = tmp_path / "elsewhere"
    for cls in ("a", "b", "c"):
        (tmp_path / "src" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "src" / cls / f"{i}.png")
    elsewhere.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8), 255, np.uint8)).save(elsewhere / f"{i}.png")
    folder = tmp_path / "src" / "a"

    def swap(p):  # once listed, before the first image is read (one worker: the reads follow this report)
        if p.stage == "decode" and p.done == 0 and not folder.is_symlink():
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
            folder.symlink_to(elsewhere)

    options = IngestOptions(resolution=8, channels=1, workers=1, follow_links=False)
    result = ingest(str(tmp_path / "src"), tmp_path / "out", options, swap)
    assert result.skipped[:3] == [(str(folder / f"{i}.png"), "a link, made after the folder was listed: not followed, "
                                                             "as links are not for this ingest") for i in range(3)]
    assert result.skipped[3:] == [(str(folder), "a class folder with no readable image: not a class")]
    assert len(result.images) == 6
