"""A home an older ganaug wrote, opened by the app: what `ganaug export` says of it, the Audit page says too.

The old state is built here (tests cannot run old commits): a dataset written without its ingest event, as every
ingest before 2026-12-07 was (`tests.db.helpers.make_dataset(record=False)`).
"""

from __future__ import annotations

from sqlalchemy import select

from db.engine import session_scope
from tests.app.conftest import PASSWORD, app_test
from tests.db.helpers import make_dataset

NOT_COVERED = "The real training images of dataset toy are not covered by the decision log"


def _old_home(home) -> dict:
    from db.users import add_user

    with session_scope(immediate=True) as s:
        make_dataset(s, home, record=False)
        ada = add_user(s, "ada", PASSWORD, role="admin")
        return dict(id=ada.id, name=ada.name, role=ada.role)


def _warnings(at) -> list[str]:
    return [w.value for w in at.warning if NOT_COVERED in w.value]


def test_the_audit_page_says_an_older_datasets_real_images_need_a_seal_until_an_admin_seals_it(home):
    """`ganaug export` warned and named `data seal`; the page's preview and its export said nothing, so a team that
    exports from the app never learnt its real images were outside the log."""
    from db.ingests import seal_dataset
    from db.models import Dataset, User

    ada = _old_home(home)
    at = app_test(ada, "audit.py")
    at.toggle(key="export_preview_on").set_value(True).run()
    [preview] = _warnings(at)
    assert "`ganaug data seal toy --user ADMIN`" in preview
    at.button(key="export_go").click().run()
    assert not at.exception and at.success[0].value.startswith("Exported 9 images")
    assert len(_warnings(at)) == 2  # the preview's and the export's own

    with session_scope(immediate=True) as s:
        seal_dataset(s, s.scalars(select(Dataset)).one(), s.get(User, ada["id"]))
    at = app_test(ada, "audit.py")
    at.toggle(key="export_preview_on").set_value(True).run()
    assert not _warnings(at)
