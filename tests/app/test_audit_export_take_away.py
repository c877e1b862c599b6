"""A clinic with a browser only, on the Audit page's export tab: the export was written on the server with no way to
take it away; the ratio, the folder field and the message after an export spoke in engineers' words; and the
rarest class gained nothing ("Imbalance 24 → 24") because its batch was still pending, which nothing said before
exporting."""

from __future__ import annotations

import hashlib
import io
import zipfile

from sqlalchemy import select

from db.engine import session_scope
from db.models import Event
from tests.app.conftest import app_test, approved_batch, export_from_page, make_batch


def _events(action: str) -> list[Event]:
    with session_scope() as session:
        return list(session.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def _download(at):
    return list(at.get("download_button"))


def test_a_recorded_export_downloads_as_a_zip_of_its_folder_and_the_download_is_logged(users, digits, home, tmp_path):
    from db.exports import list_exports
    from ganaug.cli.audit_folder import check_folder
    from pages.export_download import checked_folder, zip_and_record
    from streamlit.runtime.download_data_util import convert_data_to_bytes_and_infer_mime

    approved_batch(digits, 8, 3, seed=1)
    at = export_from_page(app_test(users["rita"], "audit.py"), "gated-1")
    [export] = _events("export")
    assert not _download(at)  # nothing built or offered until an export is chosen
    at.selectbox(key="export_download").set_value(export.id).run()
    assert not at.exception and not at.error
    [offered] = _download(at)
    assert offered.proto.label == f"Download export {export.id} as gated-1.zip (0.4 MB)"

    # What the button's callable hands over (Streamlit runs it on the click, which AppTest does not).
    folder = home / "exports" / "gated-1"
    with session_scope() as session:
        [record] = list_exports(session)
    found = checked_folder(str(home / "exports"), str(folder), record["manifest_sha256"])
    assert found["problems"] == []
    rita = type("U", (), dict(id=users["rita"]["id"], name="rita"))()
    data = zip_and_record(record, found["files"], found["size"], rita, None)
    payload, _ = convert_data_to_bytes_and_infer_mime(data, TypeError("not a type Streamlit serves"))  # as it reads it
    with zipfile.ZipFile(io.BytesIO(payload)) as z:
        names = sorted(z.namelist())
        z.extractall(tmp_path / "unzipped")
    # Exactly the folder's files, in its layout, under one folder of its name.
    assert names == sorted(f"gated-1/{p.relative_to(folder).as_posix()}" for p in folder.rglob("*") if p.is_file())
    out = tmp_path / "unzipped" / "gated-1"
    for line in (out / "manifest.sha256").read_text().splitlines():  # `sha256sum -c manifest.sha256`
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    # `ganaug audit folder` on the unzipped copy: as on the server (make_batch's checkpoint was never written).
    assert [p for p in check_folder(out)["problems"] if "checkpoint" not in p] == []

    [download] = _events("download")
    assert (download.actor, download.target_type, download.target_id) == ("rita", "dataset", export.target_id)
    assert download.details["export"] == export.id
    assert download.details["zip_sha256"] == hashlib.sha256(payload).hexdigest()
    # In the Decision log, and among its action filter's choices, in words.
    at = app_test(users["rita"], "audit.py")
    assert list(at.dataframe[0].value["action"])[0] == "download"
    assert "download" in at.selectbox(key="audit_action").options


def test_a_folder_too_large_changed_after_its_check_or_not_matching_its_record_is_refused_in_one_line(
        users, digits, home, monkeypatch):
    from types import SimpleNamespace

    import pytest

    from db.exports import list_exports
    from pages.download_outcome import outcome_of
    from pages.export_download import checked_folder, zip_for

    approved_batch(digits, 8, 3, seed=1)
    at = export_from_page(app_test(users["rita"], "audit.py"), "gated-1")
    [export] = _events("export")
    folder = home / "exports" / "gated-1"
    # Over the cap: no button (Streamlit would hold the whole zip in the server's memory), and what to do instead.
    monkeypatch.setenv("GANAUG_DOWNLOAD_MAX_GB", "0.0001")
    at.selectbox(key="export_download").set_value(export.id).run()
    assert not _download(at) and not at.error
    [large] = [w.value for w in at.warning if w.value.startswith(f"Export {export.id} is too large")]
    assert "kB, and the server hands out at most 100.0 kB" in large and "Ask an admin" in large
    assert any(f"`{folder}`" in m.value for m in at.expander[-1].markdown)
    monkeypatch.delenv("GANAUG_DOWNLOAD_MAX_GB")

    # A file changed between the check and the click: the button's callable (which Streamlit runs on the click, and
    # AppTest does not) fails, and the page's next run says which file, in one line. Streamlit said only "Failed to
    # generate file for download", for five seconds.
    with session_scope() as session:
        [record] = list_exports(session)
    rita = SimpleNamespace(id=users["rita"]["id"], name="rita")

    def clicked_after(change) -> list[str]:
        """The page's errors after a click on its button whose zip meets `change`, made after the check."""
        at.run()
        assert len(_download(at)) == 1
        found = checked_folder(str(folder.parent), str(folder), record["manifest_sha256"])
        change()
        with pytest.raises(ValueError):
            zip_for(outcome_of(at.session_state["export_download_session"]), record, found, rita, None)
        at.run()
        assert not at.exception and not _download(at) and not _events("download")
        return [e.value.replace("\\_", "_") for e in at.error]  # unescaped: plain() escapes Markdown's _

    image = next(folder.glob("*_8/*_synthetic.png"))
    name = image.relative_to(folder).as_posix()
    assert clicked_after(lambda: (folder / "images.csv").rename(folder.parent / "images.csv")) == [
        f"Export {export.id} was not downloaded: images.csv in the folder of gated-1 was removed since the folder was "
        "checked: nothing was handed over; export again."]
    (folder.parent / "images.csv").rename(folder / "images.csv")
    # swapped after the export: manifest.csv still matches its record
    assert clicked_after(lambda: image.write_bytes(image.read_bytes() + b"x")) == [
        f"Export {export.id} was not downloaded: {name} in the folder of gated-1 changed since it was checked: "
        "nothing was handed over; export again."]
    at.run()
    assert not _download(at)
    [error] = [e.value for e in at.error]
    assert error.startswith(f"Export {export.id} cannot be downloaded: its folder no longer matches its record (")
    assert "\n" not in error
    assert not _events("download")


def test_a_file_changed_after_the_check_fails_the_zip_and_logs_nothing(users, digits, home):
    import pytest

    from db.exports import list_exports
    from pages.export_download import checked_folder, zip_and_record

    approved_batch(digits, 8, 3, seed=1)
    export_from_page(app_test(users["rita"], "audit.py"), "gated-1")
    folder = home / "exports" / "gated-1"
    with session_scope() as session:
        [record] = list_exports(session)
    found = checked_folder(str(home / "exports"), str(folder), record["manifest_sha256"])
    image = next(folder.glob("*_8/*_synthetic.png"))
    image.write_bytes(image.read_bytes() + b"x")
    rita = type("U", (), dict(id=users["rita"]["id"], name="rita"))()
    with pytest.raises(ValueError, match="changed since it was checked"):
        zip_and_record(record, found["files"], found["size"], rita, None)
    assert not _events("download")

    # A link, which an export never writes: no sha256 covers log_head.txt, so one to the home's database (its password
    # hashes) passed every check and went into the zip.
    image.write_bytes(image.read_bytes()[:-1])
    (folder / "log_head.txt").unlink()
    (folder / "log_head.txt").symlink_to(home / "ganaug.db")
    checked_folder.clear()
    found = checked_folder(str(home / "exports"), str(folder), record["manifest_sha256"])
    assert found["problems"] == ["log_head.txt: a link, which an export never writes"]

    # A pipe where a check reads (images.csv, manifest.sha256): refused, not waited on (the page's run hung for good).
    import os
    import threading

    (folder / "log_head.txt").unlink()
    (folder / "images.csv").unlink()
    os.mkfifo(folder / "images.csv")
    checked_folder.clear()
    said = []
    check = threading.Thread(target=lambda: said.append(checked_folder(str(home / "exports"), str(folder),
                                                                       record["manifest_sha256"])), daemon=True)
    check.start()
    check.join(10)
    assert said and said[0]["problems"] == ["images.csv: not a plain file, which an export never writes"]
    # manifest.csv is hashed first (db.gate.file_sha256s), by the Audit page's list of exports too: a pipe there held
    # every page that lists the exports.
    from ganaug.export import folder_check

    (folder / "manifest.csv").unlink()
    os.mkfifo(folder / "manifest.csv")
    said.clear()
    check = threading.Thread(target=lambda: said.append(folder_check(str(folder), record["manifest_sha256"])),
                             daemon=True)
    check.start()
    check.join(10)
    # It is there, of the wrong kind: listed as changed, and the download says what it is ("not found" had the
    # list and the download pass it over, as if the folder held no manifest.csv).
    assert said == ["changed"]
    checked_folder.clear()
    found = checked_folder(str(home / "exports"), str(folder), record["manifest_sha256"])
    assert found["problems"] == ["images.csv: not a plain file, which an export never writes",
                                 "manifest.csv: not a plain file, which an export never writes"]


def test_the_export_tab_speaks_the_reviewers_words(users, digits, home):
    approved_batch(digits, 8, 3, seed=1)
    at = app_test(users["rita"], "audit.py")
    assert "GANAUG_HOME" not in at.text_input(key="export_name").label
    assert at.number_input(key="export_ratio").help  # the ratio explained
    assert any(c.value.startswith("At 1, each class gets at most 1 approved synthetic image per real image")
               for c in at.caption)
    export_from_page(at, "gated-1")
    [export] = _events("export")
    [done] = [s.value for s in at.success if s.value.startswith("Exported")]
    assert "sha256" not in done and "ganaug" not in done and "GANAUG_HOME" not in done
    assert f"recorded as event {export.id} of the decision log under your name" in done
    # The technical details still there, in the expander.
    manifest_sha = (home / "exports" / "gated-1" / "manifest.sha256").read_text().split()[0]
    assert any(manifest_sha in m.value for m in at.expander[-1].markdown)
    assert any("ganaug audit verify --head" in c.value for c in at.expander[-1].caption)


def test_the_rare_classes_that_gain_nothing_are_named_with_why_before_the_export(users, digits, home):
    from db.review import reject_batch
    from db.users import get_user

    approved_batch(digits, 8, 3, seed=1)
    pending = make_batch(digits, 9, 2, seed=2)
    rejected = make_batch(digits, 7, 2, seed=3)
    with session_scope(immediate=True) as session:
        reject_batch(session, rejected, get_user(session, "rita"), "smudges")
    at = app_test(users["rita"], "audit.py")
    [warning] = [w.value for w in at.warning if w.value.startswith("**Before you export:**")]
    assert f"- class 9: batch {pending} is still pending review" in warning
    assert f"- class 7: batch {rejected} was rejected" in warning
    assert "class 8" not in warning  # it gains its 3 approved samples
    export_from_page(at, "gated-1")
    [imbalance] = [m.value for m in at.markdown if m.value.startswith("**Imbalance:**")]
    assert f"- class 9: batch {pending} is still pending review" in imbalance


def test_the_rare_classes_with_no_batch_yet_are_named_in_one_line():
    """A 38-class plant catalogue: 21 of its rare classes had no batch, and the warning said "no batch was generated
    for it (the Generate page makes one)" 21 times, 1,700 px of it above the export button. They share one line; a
    class with a batch of its own keeps its line."""
    from pages.export_gains import NO_BATCH, reasons_said

    found = [("Café___Leaf_spot", "batch 2 was rejected"), ("Tomato___Target_Spot", NO_BATCH),
             ("Corn_(maize)___healthy", NO_BATCH), ("Apple___healthy", NO_BATCH)]
    assert reasons_said(found).split("\n") == [
        "- class Café\\_\\_\\_Leaf\\_spot: batch 2 was rejected",
        "- 3 classes have no batch yet (the Generate page makes them): Tomato\\_\\_\\_Target\\_Spot, "
        "Corn\\_(maize)\\_\\_\\_healthy, Apple\\_\\_\\_healthy"]
    assert reasons_said(found[:2]).split("\n")[1] == f"- class Tomato\\_\\_\\_Target\\_Spot: {NO_BATCH}"  # one: as before


def test_approved_batches_scored_by_an_older_check_are_said_before_the_export(users, digits, home):
    """`ganaug export` notes the approved batches of its set whose memorized flags an older copy check set; the page's
    export tab, which exports the same set, said nothing of them."""
    from db.models import Batch

    approved_batch(digits, 8, 3, seed=1)  # scored by today's check: not named
    older = approved_batch(digits, 9, 2, seed=2)
    with session_scope() as session:
        session.get(Batch, older).scoring_version = None  # scored before versions were recorded
    at = app_test(users["rita"], "audit.py")
    assert [i.value for i in at.info if "older copy check" in i.value] == [
        f"**Before you export:** approved batch {older} was scored by an older copy check (before versions were "
        f"recorded; now version 1): `ganaug evaluate batch {older} --rescore` checks it again, and the next export "
        "leaves out what it flags as memorized."]
    at.number_input(key="export_ratio").set_value(0.0).run()  # the real images alone: no batch in the set
    assert not at.exception and not [i for i in at.info if "older copy check" in i.value]
