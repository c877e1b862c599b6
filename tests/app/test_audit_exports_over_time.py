"""The Audit page's exports over time, as `ganaug export` and `ganaug audit folder` tell them: an export from the page
did not say what changed since the dataset's previous one, and after a revocation the exports table still said the
folder "matches", with nothing that said a model trained on it learned from images the review no longer admits."""

from __future__ import annotations

import shutil

from sqlalchemy import select

from db.engine import session_scope
from db.models import Event, Sample
from ganaug_core.markdown import plain
from tests.app.conftest import app_test, approved_batch, export_from_page


def _export_events() -> list[Event]:
    with session_scope() as session:
        return list(session.scalars(select(Event).where(Event.action == "export").order_by(Event.id)))


def plain_path(home, name: str) -> str:
    """The export folder as `plain` shows it in Markdown (its `_`, `\\` and the like escaped)."""
    return plain(str(home / "exports" / name))


def _markdown(at, start: str) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith(start)]


def test_an_export_from_the_page_says_it_is_the_first_or_that_nothing_changed_since(users, digits, home):
    approved_batch(digits, 8, 3, seed=1)
    at = export_from_page(app_test(users["rita"], "audit.py"), "first")
    assert _markdown(at, "**Since the previous") == [
        "**Since the previous export:** none was recorded for this dataset; this is its first."]
    export_from_page(at, "same")
    [first, _] = _export_events()
    assert _markdown(at, "**Since the previous") == [
        f"**Since the previous recorded export, event {first.id} by rita at {first.ts[:19].replace('T', ' ')} UTC "
        f"({plain_path(home, 'first')}):** nothing changed (the same manifest sha256)"]


def test_an_export_from_the_page_names_the_batches_and_classes_that_changed(users, digits, home):
    from db.review import revoke_batch
    from db.users import get_user

    eights = approved_batch(digits, 8, 3, seed=1)
    at = export_from_page(app_test(users["rita"], "audit.py"), "first")
    nines = approved_batch(digits, 9, 2, seed=2)
    with session_scope(immediate=True) as session:
        revoke_batch(session, eights, get_user(session, "ada"), "eights that read as threes")
    export_from_page(at, "second")
    [first, _] = _export_events()
    # Image by image (the previous folder is here), then class by class, in the CLI's words; where the decisions
    # that withdrew images are named: on this page, not `ganaug audit folder`.
    assert _markdown(at, "**Since the previous") == [
        f"**Since the previous recorded export, event {first.id} by rita at {first.ts[:19].replace('T', ' ')} UTC "
        f"({plain_path(home, 'first')}):**\n\n- batch {eights}: 3 samples out\n- batch {nines}: 2 samples in\n"
        f"- class 8: synthetic 3 → 0\n- class 9: synthetic 0 → 2\n- (choose export {first.id} under the recorded "
        "exports below: it names the decisions that withdrew them)"]


def test_an_export_whose_previous_folder_is_gone_tells_the_recorded_batches(users, digits, home):
    from db.review import revoke_batch
    from db.users import get_user

    eights = approved_batch(digits, 8, 3, seed=1)
    at = export_from_page(app_test(users["rita"], "audit.py"), "first")
    with session_scope(immediate=True) as session:
        revoke_batch(session, eights, get_user(session, "ada"), "eights that read as threes")
    shutil.rmtree(home / "exports" / "first")  # not among the exports to check: the log names the decisions
    export_from_page(at, "second")
    assert _markdown(at, "**Since the previous")[0].endswith(
        f":**\n\n- batch {eights}: 3 → 0 samples\n- class 8: synthetic 3 → 0\n- (the Decision log tab names the "
        "decisions that withdrew them)")


def test_an_export_whose_batch_was_revoked_since_says_who_when_why_and_to_export_again(users, digits, home):
    from db.review import reject_sample, revoke_batch
    from db.users import get_user

    eights = approved_batch(digits, 8, 3, seed=1)
    nines = approved_batch(digits, 9, 2, seed=2)
    at = export_from_page(app_test(users["rita"], "audit.py"), "gated-1")
    [export] = _export_events()
    assert list(at.dataframe[-1].value["folder_check"]) == ["matches"]
    check = at.selectbox(key="export_check")
    assert check.value is None  # nothing replayed until a reviewer asks, however many exports are listed
    assert check.options == [f"export {export.id} · digits · {export.ts[:16].replace('T', ' ')} UTC by rita · gated-1"]
    check.set_value(export.id).run()
    assert [s.value for s in at.success if "Nothing decided since" in s.value] == [
        f"Nothing decided since export {export.id} withdrew any of its images: the review still admits all 5 of "
        "its synthetic images."]

    with session_scope(immediate=True) as session:
        revoke_batch(session, eights, get_user(session, "ada"), "eights that read as threes")
        nine = session.scalars(select(Sample.id).where(Sample.batch_id == nines).order_by(Sample.id)).first()
    with session_scope(immediate=True) as session:
        reject_sample(session, nine, get_user(session, "rita"), "a second stem")
    at = app_test(users["rita"], "audit.py")
    records = at.dataframe[-1].value
    # The folder is as recorded, and only the review moved on: "matches" alone read as safe to train on.
    assert list(records["folder_check"]) == ["matches · 4 withdrawn"]
    assert not [w for w in at.warning if "no longer admitted" in w.value]
    at.selectbox(key="export_check").set_value(export.id).run()
    with session_scope() as session:
        revoked, rejected = session.scalars(select(Event).where(Event.action.in_(("revoke", "reject_sample")))
                                            .order_by(Event.id)).all()
    [warning] = [w.value for w in at.warning if "no longer admitted" in w.value]
    file = next(line for line in (home / "exports" / "gated-1" / "images.csv").read_text().splitlines()
                if ",synthetic," in line and line.split(",")[0].startswith("009_"))
    assert warning == (
        "4 of this folder's 5 synthetic images are no longer admitted by the review: a model trained on it learned "
        "from them; export again (the button above, dataset digits) and train on the new folder.\n\n"
        f"- batch {eights}, class 8: its 3 samples in this folder are no longer admitted: ada revoked its approval at "
        f"{revoked.ts[:19].replace('T', ' ')} UTC (event {revoked.id}: “eights that read as threes”), after this "
        "folder was exported\n"
        f"- {plain(file.split(',')[0])}: sample {nine} of batch {nines} is no longer admitted: "
        f"rita rejected it at {rejected.ts[:19].replace('T', ' ')} UTC (event {rejected.id}: “a second stem”), after "
        "this folder was exported")


def test_an_export_whose_folder_is_gone_is_not_offered_for_the_check(users, digits, home):
    approved_batch(digits, 8, 2, seed=1)
    at = export_from_page(app_test(users["rita"], "audit.py"), "gone")
    shutil.rmtree(home / "exports" / "gone")
    at = app_test(users["rita"], "audit.py")
    assert list(at.dataframe[-1].value["folder_check"]) == ["not found"]
    assert not [s for s in at.selectbox if s.key == "export_check"]
