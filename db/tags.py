"""The artifact tag taxonomy: the tags reviewers may put on a sample (db/review.py records those decisions), and
the admin's decisions that add, retire and restore them, each one event in the decision log."""

from __future__ import annotations

from typing import Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.audit import lock_log, record_event, who_did_it
from db.errors import DecisionError
from db.models import Tag, User
from db.users import require_user


def _decide(session: Session, user: User, action: str) -> User:
    lock_log(session)  # before any state is read (as db/review.py's decisions do)
    return require_user(session, user, roles=("admin",), action=action)


def _optional(reason: Optional[str]) -> Optional[str]:
    return (reason or "").strip() or None


FREE_FORM_TAG = "other"  # its description asks the reviewer to say what the problem is: a reason is required


def check_tag_reason(tag: Tag, reason: Optional[str]) -> None:
    if tag.name == FREE_FORM_TAG and _optional(reason) is None:
        raise DecisionError(f"the tag {tag.name!r} needs a reason saying what the problem is")


def get_tag(session: Session, name: str, active_only: bool = True) -> Tag:
    """The tag named `name`, whatever its letter case ('Blur' finds 'blur'); a retired one only if not `active_only`."""
    tag = _find_tag(session, name)
    if tag is None or (active_only and not tag.active):
        known = ", ".join(repr(t.name) for t in list_tags(session))
        retired = "" if tag is None else " (it is retired{})".format(
            who_did_it(session, "tag", tag.id, ("retire_tag",), form="; {}"))
        raise DecisionError(f"tag {name!r} is not in the taxonomy{retired} (known: {known})")
    return tag


def _find_tag(session: Session, name: str) -> Optional[Tag]:
    name = (name or "").strip()
    tag = session.scalars(select(Tag).where(Tag.name == name)).first()
    if tag is None and name:  # in Python: SQL's lower() folds ASCII letters only; a taxonomy is short
        folded = [t for t in session.scalars(select(Tag)) if t.name.casefold() == name.casefold()]
        tag = folded[0] if len(folded) == 1 else None  # two tags from before the rule: the exact name only
    return tag


def list_tags(session: Session, include_inactive: bool = False) -> Sequence[Tag]:
    q = select(Tag).order_by(Tag.id)
    if not include_inactive:
        q = q.where(Tag.active)
    return session.scalars(q).all()


def add_tag(session: Session, name: str, user: User, blocking: bool = True, description: str = "",
            reason: Optional[str] = None) -> Tag:
    actor = _decide(session, user, "edit the tag taxonomy")
    name = (name or "").strip()
    if not name or len(name) > 64 or not name.isprintable():
        raise DecisionError(f"invalid tag name {name!r}: use 1 to 64 printable characters")
    same = _find_tag(session, name)
    if same is not None:  # 'Blur' beside 'blur' would split one artifact's samples between two tags
        raise DecisionError(f"tag {same.name!r} already exists" + ("" if same.active else " (retired: restore it)")
                            + ("" if same.name == name else ", and tag names must differ by more than letter case"))
    description = (description or "").strip()
    tag = Tag(name=name, description=description, blocking=bool(blocking), active=True)
    session.add(tag)
    session.flush()
    record_event(session, actor, "add_tag", "tag", tag.id,
                 f"Tag {name!r} is added to the taxonomy; it {'keeps' if blocking else 'does not keep'} a tagged "
                 "sample out of training.", _optional(reason),
                 details=dict(name=name, blocking=bool(blocking), description=description, tag=name))
    return tag


def set_tag_active(session: Session, name: str, active: bool, user: User, reason: Optional[str] = None) -> Tag:
    """Retire a tag (reviewers can no longer put it on a sample) or restore it (admins only).

    Retiring changes nothing for the samples that carry the tag: a blocking one still keeps them out, and it can
    still be removed from them. A tag is never renamed nor made (non-)blocking in place: its name and flag are
    recorded in every tag event of the log, which the gate replays. Retire it and add a new one instead."""
    actor = _decide(session, user, "edit the tag taxonomy")
    tag = _find_tag(session, name)
    if tag is None:
        known = ", ".join(repr(t.name) for t in list_tags(session, include_inactive=True))
        raise DecisionError(f"tag {name!r} is not in the taxonomy (known: {known})")
    if tag.active == active:
        raise DecisionError(f"tag {tag.name!r} is already {'in use' if active else 'retired'}")
    if not active and tag.name == FREE_FORM_TAG:  # the one tag for a problem no other tag names
        raise DecisionError(f"the tag {FREE_FORM_TAG!r} cannot be retired: reviewers need it for any other problem")
    tag.active = active
    record_event(session, actor, "restore_tag" if active else "retire_tag", "tag", tag.id,
                 f"Tag {tag.name!r} is {'restored: reviewers may use it again' if active else 'retired: reviewers may no longer put it on a sample'}.",
                 _optional(reason), details=dict(tag=tag.name, blocking=bool(tag.blocking)))
    return tag
