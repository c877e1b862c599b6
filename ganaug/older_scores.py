"""What `ganaug export` and the Audit page's export tab say of an export's approved batches whose scores an older
copy check made than today's (`ganaug_core.scoring.SCORING_VERSION`): one query and one sentence for both, which
the command prints as a note on stderr and the page shows before its export button."""

from __future__ import annotations

from typing import Iterable, Optional


def older_scores_note(batches: Iterable) -> Optional[str]:
    """Said of an export whose approved batches were scored by an older copy check than today's (or before versions
    were recorded): their memorized flags, which the gate leaves out, may miss a copy today's check flags. Not a
    refusal (approving on them was the reviewers' decision); a rescore before the next export re-checks them.
    `batches`: the ids of the set's batches (a summary's "batches" keys, or ints)."""
    from sqlalchemy import select

    from db.engine import session_scope
    from db.models import Batch
    from ganaug_core.scoring import older_scoring

    if not batches:
        return None
    with session_scope() as s:
        rows = s.execute(select(Batch.id, Batch.scoring_version).where(Batch.id.in_([int(b) for b in batches]))).all()
    older = {b: version for b, version in rows if older_scoring(version)}
    if not older:
        return None
    ids = sorted(older)
    named = ", ".join(map(str, ids[:10])) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    oldest = None if None in older.values() else min(older.values())  # "before versions were recorded" first
    many = len(ids) > 1
    return (f"approved batch{'es' * many} {named} {'were' if many else 'was'} scored by an older copy check "
            f"({older_scoring(oldest)}): `ganaug evaluate batch {ids[0]} --rescore` checks {'each' if many else 'it'} "
            "again, and the next export leaves out what it flags as memorized")
