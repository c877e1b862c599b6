"""What `ganaug data ingest` says beside its report, said by the app's "Add a dataset" too: a clinic that adds its
X-rays from the Overview (16-bit files of a 12-bit camera) was told nothing of their being stored nearly black, nor
of anything else the command line warns of. In the app, a note names the form's fields, not the command's options."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image
from sqlalchemy import select

from tests.app.conftest import app_test, button
from tests.app.test_overview_add_dataset import fill


def twelve_bit_pngs(root, classes=(("normal", 6), ("fracture", 3))):
    """16-bit greyscale PNGs whose values stay below 4,096, as a 12-bit detector saves them."""
    rng = np.random.default_rng(5)
    for name, n in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 4096, (8, 8)).astype(np.uint16)).save(root / name / f"{i}.png")
    return root


def test_a_twelve_bit_folder_added_from_the_app_is_said_to_be_stored_nearly_black(users, tmp_path):
    from db.engine import session_scope
    from db.models import Job
    from ganaug.worker import execute_job

    at = fill(app_test(users["ada"]), str(twelve_bit_pngs(tmp_path / "xrays")), name="xrays")
    button(at, "Ingest").click().run()
    with session_scope() as session:
        job_id = session.scalars(select(Job.id)).one()
    assert execute_job(job_id) == "done"
    at.run()
    said = [i.value for i in at.info]
    nearly_black = [s for s in said if "nearly black" in s]
    assert len(nearly_black) == 1, said
    # the form's field, not the command line's --bit-depth, which a user of the app has nowhere to type
    assert "values up to 4,0" in nearly_black[0] and "Bit depth of 16-bit images” of 12" in nearly_black[0]
    assert "--" not in nearly_black[0]
    with session_scope() as session:  # `ganaug jobs list` shows the row's message: it said "write 9/9"
        message = session.get(Job, job_id).message
    assert message.startswith("ingested 9 images; note: the 9 images of 16 bits hold values up to 4,0")
    assert "nearly black, in " in message


def _bare_options(line: str) -> list[str]:
    """The options a line names outside a whole command in backticks (`ganaug …`, which the command line runs)."""
    return re.findall(r"--[a-z][a-z-]*", re.sub(r"`ganaug [^`]*`", "", line))


def test_no_note_said_in_the_app_names_an_option_the_form_does_not_show(tmp_path):
    from ganaug import ingest_notes as n
    from ganaug.ingest_notes import in_the_app

    src = str(tmp_path)
    dup = dict(images=2, sets=1, across_splits=0, across_classes=2, groups=[[f"{src}/a/1.png", f"{src}/b/1.png"]],
               classes=[["a", "b"]])
    notes = [*n.depth_notes(9, 4095, 16), *n.depth_notes(9, 65535, 12), n.enlarged_note(8, 32), n.shrunk_note(128, 32),
             *n.held_note({"rare": 3}, 0.2),
             *n.colour_notes([2, 0], [0, 0, 0, 1], ["a", "b"]), n.stretched_note([("x.png", 30, 200)], 32),
             n.frames_note([("z.tif", 5)]), n.small_note([("icon.png", 4, 4)], 64, 32),
             *n.duplicates_notes(dup, 8, src), *n.near_copies_notes(dup, src)]
    # the command line's words name an option (but the second line on identical images, with no option to name)
    assert [i for i, line in enumerate(notes) if not _bare_options(line)] == [10]
    said = [in_the_app(line, "x rays") for line in notes]
    assert [line for line in said if _bare_options(line)] == []
    assert "`ganaug data report 'x rays' --json` lists them by source path" in said[-1]
    assert "add the folder again under another name with a “Bit depth of 16-bit images” of 12" in said[0]
    assert "a “Resolution” of 8" in said[2] and "a “Test fraction” of 0.2" in said[4]
    assert "`ganaug data ingest FOLDER --name NAME --channels 1`" in said[5]


def test_notes_that_cannot_be_worked_out_do_not_fail_an_ingest_that_is_written(home, tmp_path, monkeypatch):
    """The notes are worked out after the dataset is written: an error there said "failed; nothing of the dataset was
    written" of a dataset that was."""
    import ganaug.job_handlers as handlers

    def broken(*args):
        raise ValueError("no report")

    monkeypatch.setattr(handlers, "ingest_notes_in_app", broken)
    result = handlers.ingest(dict(source=str(twelve_bit_pngs(tmp_path / "xrays")), dataset="xrays", resolution=8,
                                  test_fraction=0.2, seed=0, follow_links=True, bit_depth=12),
                             lambda p: None, lambda: False)
    assert result["images"] == 9 and result["notes"] == [
        "note: what the ingest would warn of could not be worked out (ValueError: no report); `ganaug data report "
        "xrays` gives the dataset's report"]
