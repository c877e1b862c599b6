"""Decisions appended to the log by hand. The chain has no secret, and an INSERT at its end needs no trigger dropped:
whoever can write the database appends an event as ganaug would, with its hash computed (`record_event` here, a few
lines of Python with `db.audit.event_hash` there). What such an event may not do is break the review's rules, which
every ganaug command keeps: an approval of a rejected batch, or a rejected sample restored after its batch was
approved, admitted those samples, and `audit verify` said ok. And the digest an approval records covers the samples'
bytes, not their class: a sample relabelled in the samples table went into the export under the other class."""

from __future__ import annotations

from sqlalchemy import update

from db.audit import record_event
from db.engine import session_scope
from db.gate import gated_training_set
from db.models import Batch, Sample
from db.replay import state_mismatches
from db.views import approved_class_counts, embedding_points
from db.review import approve_batch, reject_batch, reject_sample, samples_digest
from tests.db.helpers import make_batch, sample_ids


def _gated(home):
    with session_scope() as s:
        gated = gated_training_set(s, "toy", 1.0, home=home)
        return [e.path for e in gated.entries if e.source == "synthetic"], gated.excluded, state_mismatches(s)


def test_an_approval_appended_to_a_rejected_batch_admits_nothing_and_is_named(home, toy, people):
    with session_scope(immediate=True) as s:
        batch = make_batch(s, home, toy, n=2).id
        rejected = reject_batch(s, batch, people["rex"], reason="smeared").id
        n, _, max_id, digest = samples_digest(s, batch)
        forged = record_event(s, people["rex"], "approve", "batch", batch, "Reviewed", details=dict(
            samples=n, rejected=0, max_sample_id=max_id, samples_sha256=digest, class_index=1)).id
        s.execute(update(Batch).where(Batch.id == batch).values(status="approved"))
    admitted, excluded, mismatches = _gated(home)
    assert admitted == [] and excluded["decided in a way no ganaug command records"] == 2
    assert mismatches == [f"event {forged} approves batch {batch}, which event {rejected} had rejected: no ganaug "
                          "command records that, so it was written into the database directly"]


def test_a_sample_restored_after_its_batch_was_approved_stays_out_and_is_named(home, toy, people):
    with session_scope(immediate=True) as s:
        batch = make_batch(s, home, toy, n=3).id
        ids = sample_ids(s, batch)
        reject_sample(s, ids[0], people["rex"], reason="wrong stroke")
        approved = approve_batch(s, batch, people["rex"]).id
        # Without the batch in its details, as a hand-written event may leave it: the approval says whose it is.
        forged = record_event(s, people["rex"], "restore_sample", "sample", ids[0], "Restored").id
        s.execute(update(Sample).where(Sample.id == ids[0]).values(rejected=False))
    admitted, excluded, mismatches = _gated(home)
    assert admitted == [] and excluded["decided in a way no ganaug command records"] == 3
    assert mismatches == [f"event {forged} restores sample {ids[0]} of batch {batch}, which event {approved} had "
                          "approved: no ganaug command records that, so it was written into the database directly"]


def test_a_restore_that_names_another_batch_still_leaves_out_what_the_approval_left_out(home, toy, people):
    with session_scope(immediate=True) as s:
        batch, pending = make_batch(s, home, toy, n=3).id, make_batch(s, home, toy, n=1).id
        ids = sample_ids(s, batch)
        reject_sample(s, ids[0], people["rex"], reason="wrong stroke")
        approve_batch(s, batch, people["rex"])
        record_event(s, people["rex"], "restore_sample", "sample", ids[0], "Restored", details=dict(batch_id=pending))
        s.execute(update(Sample).where(Sample.id == ids[0]).values(rejected=False))
    admitted, excluded, _ = _gated(home)
    assert len(admitted) == 2 and excluded["rejected when its batch was approved"] == 1


def test_a_sample_relabelled_after_approval_stays_out_and_is_named(home, toy, people):
    with session_scope(immediate=True) as s:
        batch = make_batch(s, home, toy, n=2, class_index=1).id
        ids = sample_ids(s, batch)
        approved = approve_batch(s, batch, people["rex"]).id
        s.execute(update(Sample).where(Sample.id == ids[1]).values(class_index=0))
    admitted, excluded, mismatches = _gated(home)
    assert admitted == [f"batches/{batch}/000000.png"] and excluded["class changed after approval"] == 1
    assert mismatches == [f"sample {ids[1]} is of class 0 in the samples table, but the approval of its batch {batch} "
                          f"(event {approved}) was of class 1"]


def test_a_batch_moved_to_another_dataset_after_approval_is_admitted_by_neither(home, toy, people):
    # One UPDATE of batches.dataset_id, which no hash covers, put toy's approved class-1 samples into the training set
    # of another dataset under its class 1, and `audit verify` said ok.
    from tests.db.helpers import make_dataset

    with session_scope(immediate=True) as s:
        other = make_dataset(s, home, name="other").id
        batch = make_batch(s, home, toy, n=2, class_index=1).id
        approved = approve_batch(s, batch, people["rex"]).id
        s.execute(update(Batch).where(Batch.id == batch).values(dataset_id=other))
        s.execute(update(Sample).values(emb_x=0.0, emb_y=0.0))  # on the embedding map
    with session_scope() as s:
        moved = gated_training_set(s, "other", 1.0, home=home)
        mismatches = state_mismatches(s)
    assert [e for e in moved.entries if e.source == "synthetic"] == []
    assert moved.excluded["approved for another dataset"] == 2
    with session_scope() as s:  # the Overview's counts and the embedding map say what the gate admits
        counts = approved_class_counts(s)
        decisions = embedding_points(s, "other")["decision"]
    assert counts == {"toy": [0, 0], "other": [0, 0]}, counts  # it counted other's class 1 as 2 approved
    assert decisions and "approved" not in decisions, decisions
    assert mismatches == [f"batch {batch} is of dataset {other} in the batches table, but its approval (event "
                          f"{approved}) was of dataset {toy.id}"]


def test_a_disabled_account_enabled_in_the_users_table_signs_nothing_the_gate_admits(home, toy, people):
    # One UPDATE of users.active, by the team's role too, let 'dan', whom an admin had disabled, approve a batch through
    # ganaug's own command (it reads the table), and the gate admitted it: `audit verify` said ok.
    from sqlalchemy import select

    from db.models import Event, User

    with session_scope(immediate=True) as s:
        batch = make_batch(s, home, toy, n=2).id
        disabled = s.scalar(select(Event.id).where(Event.action == "disable_user"))
        s.execute(update(User).where(User.name == "dan").values(active=True))
        approved = approve_batch(s, batch, s.scalar(select(User).where(User.name == "dan"))).id
    admitted, excluded, mismatches = _gated(home)
    assert admitted == [] and excluded["decided in a way no ganaug command records"] == 2
    assert mismatches == [
        f"event {approved} (approve batch {batch}) is signed by 'dan', whose account event {disabled} had disabled: "
        "no ganaug command records that, so the account was enabled in the users table directly, or the event written "
        "into the database by hand",
        f"account 'dan' is active in the users table but disabled in the log (event {disabled})"]


def test_a_role_changed_in_the_users_table_is_named(home, toy, people):
    from sqlalchemy import select

    from db.models import Event, User

    with session_scope() as s:
        added = s.scalar(select(Event.id).where(Event.action == "add_user", Event.target_id == people["rex"].id))
        s.execute(update(User).where(User.name == "rex").values(role="admin"))
        assert state_mismatches(s) == [f"account 'rex' is 'admin' in the users table but 'reviewer' in the log "
                                       f"(event {added})"]


def test_an_account_inserted_into_the_users_table_signs_nothing_the_gate_admits(home, toy, people):
    from sqlalchemy import insert, select

    from db.models import User
    from db.users import hash_password

    with session_scope(immediate=True) as s:
        batch = make_batch(s, home, toy, n=2).id
        eve = s.execute(insert(User).values(name="eve", role="reviewer", password_hash=hash_password("eve-password"),
                                            active=True).returning(User.id)).scalar_one()
        approved = approve_batch(s, batch, s.get(User, eve)).id
        assert s.scalar(select(User.name).where(User.id == eve)) == "eve"
    admitted, excluded, mismatches = _gated(home)
    assert admitted == [] and excluded["decided in a way no ganaug command records"] == 2
    assert mismatches == [
        f"event {approved} (approve batch {batch}) is signed by 'eve', an account no event added: no ganaug command "
        "records that, so the account was written into the users table directly, or the event written into the "
        "database by hand",
        "account 'eve' is in the users table, but no event added it: it was written into the database directly"]


def test_a_role_given_in_the_users_table_and_taken_back_still_names_what_it_signed(home, toy, people):
    # A reviewer made admin by one UPDATE added an admin account of their own, and a second UPDATE made them a reviewer
    # again: the table and the log agreed on every account, and `audit verify` said ok of the new admin.
    from sqlalchemy import select

    from db.models import Event, User
    from db.users import add_user

    with session_scope(immediate=True) as s:
        added = s.scalar(select(Event.id).where(Event.action == "add_user", Event.target_id == people["rex"].id))
        s.execute(update(User).where(User.name == "rex").values(role="admin"))
        mal = add_user(s, "mal", "mal-password", role="admin", by=s.scalar(select(User).where(User.name == "rex")))
        forged = s.scalar(select(Event.id).where(Event.action == "add_user", Event.target_id == mal.id))
        s.execute(update(User).where(User.name == "rex").values(role="reviewer"))
    with session_scope() as s:
        assert state_mismatches(s) == [
            f"event {forged} (add_user user {mal.id}) is signed by 'rex', as 'admin' while the log holds the account "
            f"'reviewer' (event {added}): no ganaug command records that, so the account was given another role in the "
            "users table directly, or the event written into the database by hand"]
