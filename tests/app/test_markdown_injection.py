"""Names and reasons that others typed reach the app's Markdown as text: a class folder, an account, a tag or a reason
written as a Markdown image or link renders as those characters, so no reviewer's browser fetches a URL from it."""

from __future__ import annotations

import numpy as np
from markdown_it import MarkdownIt
from PIL import Image
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Sample
from tests.app.conftest import PASSWORD, app_test, image_captions, make_batch

# What the browser would make of it: `\` is `/` in an http URL, so a folder name (no `/`) can still hold a URL.
CLASS = "![c](http:\\\\evil.example\\class.png)"
ACCOUNT = "![a](http:\\\\evil.example\\account.png)"
TAG = "![t](http:\\\\evil.example\\tag.png)"
REASON = "![r](http://evil.example/reason.png) [click](http://evil.example/phish)"
RENDER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def hostile_dataset(tmp_path, name: str = "hostile") -> str:
    """A two-class ImageFolder whose rare class folder is named like a Markdown image, ingested for real."""
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    rng = np.random.default_rng(0)
    for folder, n in (("plain", 6), (CLASS, 4)):
        (tmp_path / "src" / folder).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "src" / folder / f"{i}.png")
    ingest_dataset(str(tmp_path / "src"), name, IngestOptions(resolution=8))
    return name


HOSTILE_CLASS = 0  # class folders sort by name: '!' before 'p'


def unescaped(text: str) -> str:
    return text.replace("\\", "")


def markdown_shown(at) -> list[str]:
    """Every string the page hands Streamlit's Markdown renderer: text, alerts, captions, labels, image captions."""
    texts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success", "toast")
             for e in at.get(kind)]
    return texts + [b.label for b in at.button] + [t.label for t in at.text_input] + image_captions(at)


def assert_no_fetch_or_link(texts: list[str]) -> None:
    for text in texts:
        html = RENDER.render(text)
        assert "<img" not in html and "<a " not in html, (text, html)


def test_names_and_reasons_render_as_text_on_the_review_page(home, tmp_path):
    from db.review import reject_batch, tag_sample
    from db.tags import add_tag
    from db.users import add_user

    dataset = hostile_dataset(tmp_path)
    with session_scope(immediate=True) as session:
        admin = add_user(session, "ada", PASSWORD, role="admin")
        author = add_user(session, ACCOUNT, PASSWORD, role="reviewer", by=admin)
        rita = add_user(session, "rita", PASSWORD, role="reviewer", by=admin)
        add_tag(session, TAG, admin, blocking=True)
        me = dict(id=rita.id, name=rita.name, role=rita.role)
    rejected, pending = make_batch(dataset, HOSTILE_CLASS, 3), make_batch(dataset, HOSTILE_CLASS, 3, seed=1)
    with session_scope(immediate=True) as session:
        reject_batch(session, rejected, author, REASON)
        first = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == pending))
        tag_sample(session, first, TAG, author)

    at = app_test(me, "review.py")
    at.toggle(key="review_show_all").set_value(True).run()
    at.selectbox(key="review_batch").set_value(rejected).run()
    assert not at.exception, [e.value for e in at.exception]
    status = [i.value for i in at.info if "This batch is" in i.value]
    assert status and "evil.example/reason.png" in unescaped(status[0])  # shown, as text
    assert_no_fetch_or_link(markdown_shown(at))

    at.selectbox(key="review_batch").set_value(pending).run()
    [p for p in at.get("button_group") if p.key.startswith("open_pick_")][0].set_value(first).run()
    assert not at.exception, [e.value for e in at.exception]
    # Tiles cut a long class name to fit their captions (pages/ui.tile_name); the sample's detail gives it whole.
    assert any(unescaped(c).startswith(f"#{first} · ![c](http:") for c in image_captions(at))
    assert any("class.png" in unescaped(t) for t in markdown_shown(at))
    assert any(b.label.startswith("Remove") for b in at.button)
    assert_no_fetch_or_link(markdown_shown(at))


def test_an_account_name_renders_as_text_in_the_sidebar(home, tmp_path):
    from db.users import add_user

    hostile_dataset(tmp_path)
    with session_scope(immediate=True) as session:
        admin = add_user(session, "ada", PASSWORD, role="admin")
        user = add_user(session, ACCOUNT, PASSWORD, role="reviewer", by=admin)
        me = dict(id=user.id, name=user.name, role=user.role)
    at = app_test(me)
    assert any("account.png" in unescaped(c.value) for c in at.sidebar.caption)
    assert_no_fetch_or_link([c.value for c in at.sidebar.caption] + markdown_shown(at))



def test_a_dataset_name_renders_as_text_on_the_evaluate_page(home, tmp_path):
    from db.users import add_user

    hostile_dataset(tmp_path, "![d](http:evil.example)")  # no `/` or `\\`, as names must be: still a link target
    with session_scope(immediate=True) as session:
        admin = add_user(session, "ada", PASSWORD, role="admin")
        me = dict(id=admin.id, name=admin.name, role=admin.role)
    at = app_test(me, "evaluate.py")
    at.multiselect(key="eval_arms").set_value(["real", "gan", "gan_approved"]).run()  # no run, nothing approved
    assert not at.exception, [e.value for e in at.exception]
    said = [e.value for e in at.error]
    assert any("no finished generator run for" in e and "evil.example" in e for e in said), said
    assert_no_fetch_or_link(markdown_shown(at))
