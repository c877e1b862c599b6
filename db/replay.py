"""What the decision log says the review state is, and where the tables disagree with it.

The tables `batches.status`, `samples.rejected` and `sample_tags` are the current state, kept for fast queries;
the hash-chained log (`db.audit`) is the record. A row of state can be edited with any SQLite client and no hash
would notice, so whatever admits a sample into training reads the log as well: `replay` rebuilds, from the events
alone, each batch's last decision, the rejected samples (less those restored since), each sample's tags (with the
blocking flag recorded when it was tagged) and, for every approved batch, the samples that carried a blocking tag
when it was approved; each dataset's last ingest, seal or removal (`db.ingests`); and each account's active flag and
role (`db.users`), against which every event's signer is checked: an account the log holds disabled, or never added,
signs nothing through ganaug, nor signs with a role the log did not give it, so such an event tells of a `users` row
edited (or the event written by hand).
`state_mismatches` lists every place where the tables and the log disagree, where an approved batch's samples
no longer match the digest its approval recorded, and where a dataset's real images no longer match the digest its
ingest recorded; `ganaug audit verify` reports them.

The replay also follows the review's rules (`db.review`): a batch is approved or rejected only while pending, revoked
only while approved, and a rejected sample restored only while its batch is pending. An event that breaks one was
never recorded by ganaug: it was appended to the log by hand, which the chain cannot show (it has no secret, and an
INSERT at its end needs no trigger dropped). `LogState.impossible` names it, `ganaug audit verify` reports it and the
gate admits nothing of its batch. A forged event that keeps the rules (an approval of a pending batch) looks like any
other: README, "Security and integrity".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Iterator, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Batch, Event, Sample, SampleTag, Tag, User

BATCH_DECISIONS = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}
SAMPLE_ACTIONS = ("reject_sample", "restore_sample", "tag", "untag")
# What records a dataset's real images (`db.ingests`): its ingest, an admin's seal of an older one, its removal.
DATASET_RECORDS = ("ingest", "seal", "remove_dataset")
# What makes an account active or not, and its role (`db.users`): the log's say, against the users table's.
ACCOUNT_ACTIONS = ("add_user", "disable_user", "enable_user", "set_role")


@dataclass
class Approval:
    event_id: int
    details: dict
    rejected: set[int]  # samples of the batch rejected before this approval
    blocked: set[int]  # samples of the batch carrying a blocking tag at this approval


@dataclass
class LogState:
    status: dict[int, str] = field(default_factory=dict)  # batch id → status after its last decision
    approvals: dict[int, Approval] = field(default_factory=dict)  # batch id → its latest approval
    rejected: set[int] = field(default_factory=set)  # sample ids
    tags: dict[int, dict[str, bool]] = field(default_factory=dict)  # sample id → {tag name: blocking}
    # batch id → its samples seen in the log so far (rejected or tagged)
    members: dict[int, set[int]] = field(default_factory=dict, repr=False)
    # batch id → the first event on it (or on one of its samples) that no ganaug command records, in words
    impossible: dict[int, str] = field(default_factory=dict)
    decided_by: dict[int, int] = field(default_factory=dict, repr=False)  # batch id → its last decision's event id
    # dataset id → (event id, action, details) of its last ingest, seal or removal (`db.ingests`)
    datasets: dict[int, tuple[int, str, dict]] = field(default_factory=dict)
    first_ingest: Optional[int] = None  # the lowest dataset id an ingest event names: older ones may have none
    # account id → (active, role, the event that made it so), as the account events left it
    accounts: dict[int, tuple[bool, str, int]] = field(default_factory=dict)
    # events signed by an account the log had disabled, or never added, in words: the users table was edited (one
    # UPDATE, by the team's role too, let a disabled account sign again), or the event was written by hand
    wrong_signer: list[str] = field(default_factory=list)

    def batch_status(self, batch_id: int) -> str:
        return self.status.get(batch_id, "pending")

    def blocked_now(self, sample_id: int) -> bool:
        return any(self.tags.get(sample_id, {}).values())

    def apply(self, event) -> None:
        """Take the next event of the log, in id order (a row with id, action, target_type, target_id, details,
        actor_id, actor, role); of events that are not batch or sample decisions, records of a dataset or of an account
        (tags, exports, passwords), only the signer is checked."""
        action, target_id, details = event.action, event.target_id, event.details or {}
        signer = self.accounts.get(event.actor_id)
        if signer is not None and not signer[0]:
            self._signed_by(event, f"whose account event {signer[2]} had disabled", "enabled in", details)
        elif signer is None and event.actor_id is not None and (action, event.actor_id) != ("add_user", target_id):
            # every ganaug since the first records add_user (a bootstrap admin's signed by itself, as it is added)
            self._signed_by(event, "an account no event added", "written into", details)
        elif signer is not None and event.role != signer[1]:  # every ganaug signs with the row's role, re-read
            # A role given by one UPDATE and taken back by another left the table and the log agreeing on the account
            self._signed_by(event, f"as {event.role!r} while the log holds the account {signer[1]!r} (event "
                                   f"{signer[2]})", "given another role in", details)
        if event.target_type == "user" and action in ACCOUNT_ACTIONS:
            active, role, _ = self.accounts.get(target_id, (True, "reviewer", 0))
            self.accounts[target_id] = (action != "disable_user" and (active or action == "enable_user"),
                                        str(details.get("role", role)) if action in ("add_user", "set_role") else role,
                                        event.id)
        elif event.target_type == "dataset" and action in DATASET_RECORDS:
            self.datasets[target_id] = (event.id, action, details)
            if action == "ingest" and (self.first_ingest is None or target_id < self.first_ingest):
                self.first_ingest = target_id
        elif event.target_type == "batch" and action in BATCH_DECISIONS:
            before = self.status.get(target_id)
            if before != ("approved" if action == "revoke" else None):
                self._impossible(event, target_id, f"{action}s batch {target_id}, which event "
                                 f"{self.decided_by.get(target_id)} had {before}" if before else
                                 f"revokes batch {target_id}, which no event had approved")
            self.status[target_id] = BATCH_DECISIONS[action]
            self.decided_by[target_id] = event.id
            if action == "approve":
                members = self.members.get(target_id, set())
                self.approvals[target_id] = Approval(
                    event.id, details, {s for s in members if s in self.rejected},
                    {s for s in members if self.blocked_now(s)})
        elif event.target_type == "sample" and action in SAMPLE_ACTIONS:
            if details.get("batch_id") is not None:
                self.members.setdefault(int(details["batch_id"]), set()).add(target_id)
            if action == "reject_sample":
                self.rejected.add(target_id)
            elif action == "restore_sample":
                batch_id = details.get("batch_id")
                if batch_id is None:  # ganaug records it; one written by hand may leave it out (restores are rare)
                    batch_id = next((b for b, a in self.approvals.items() if target_id in a.rejected), None)
                if batch_id is not None and self.status.get(int(batch_id)) is not None:
                    self._impossible(event, int(batch_id), f"restores sample {target_id} of batch {batch_id}, "
                                     f"which event {self.decided_by.get(int(batch_id))} had "
                                     f"{self.status[int(batch_id)]}")
                self.rejected.discard(target_id)
            elif action == "tag":
                self.tags.setdefault(target_id, {})[str(details.get("tag"))] = bool(details.get("blocking", True))
            else:  # untag
                self.tags.get(target_id, {}).pop(str(details.get("tag")), None)

    def _signed_by(self, event, whom: str, edit: str, details: dict) -> None:
        line = (f"event {event.id} ({event.action} {event.target_type} {event.target_id}) is signed by "
                f"{event.actor!r}, {whom}: no ganaug command records that, so the account was {edit} the users "
                "table directly, or the event written into the database by hand")
        self.wrong_signer.append(line)
        batch_id = event.target_id if event.target_type == "batch" else (
            details.get("batch_id") if event.target_type == "sample" else None)
        if batch_id is not None:  # the gate admits nothing of it (`impossible`); said once, by `wrong_signer`
            self.impossible.setdefault(int(batch_id), line)

    def _impossible(self, event, batch_id: int, what: str) -> None:
        self.impossible.setdefault(batch_id, f"event {event.id} {what}: no ganaug command records that, so it was "
                                             "written into the database directly")


def replay(session: Session) -> LogState:
    """Rebuild the review state from the events of the log, in id order. (The gate builds the same state while it
    verifies the hash chain, from that one read of the log: `verify_chain(visit=...)`.)"""
    state = LogState()
    # Every event, not only decisions: any of them may be signed by an account the log had disabled.
    for event in session.execute(
        select(Event.id, Event.action, Event.target_type, Event.target_id, Event.details, Event.actor_id, Event.actor,
               Event.role)
        .order_by(Event.id)
    ):
        state.apply(event)
    return state


def digest_rows(rows) -> tuple[int, int, Optional[int], str]:
    """(samples, rejected, highest sample id, sha256 over every (id, sha256, rejected)) of rows in id order."""
    lines = []
    rejected = 0
    max_id = None
    for sid, sha, rej in rows:
        lines.append(f"{sid},{sha},{int(bool(rej))}\n")
        rejected += bool(rej)
        max_id = sid
    return len(lines), rejected, max_id, hashlib.sha256("".join(lines).encode()).hexdigest()


def digest_agrees(rows, approval: Approval) -> bool:
    """Whether a batch's samples, `rows` of (id, sha256) in id order, still give the digest its approval recorded
    (the samples up to the highest id it covered, each with the rejected flag the log implies at that time).
    True for an approval that recorded no digest."""
    recorded = approval.details.get("samples_sha256")
    if recorded is None:
        return True
    max_id = approval.details.get("max_sample_id") or 0
    return digest_rows((sid, sha, sid in approval.rejected) for sid, sha in rows if sid <= max_id)[3] == recorded


def state_mismatches(session: Session, state: Optional[LogState] = None, limit: int = 20) -> list[str]:
    """Where the state tables disagree with the log, one line each (at most `limit`; empty when they agree)."""
    state = replay(session) if state is None else state
    # Generators, read only as far as `limit`: a log with many mismatches stops before the later tables' queries.
    lines = chain(
        [*state.wrong_signer, *(v for v in state.impossible.values() if v not in state.wrong_signer)],
        _account_mismatches(session, state), _dataset_mismatches(session, state), _batch_mismatches(session, state),
        _sample_mismatches(session, state),
    )
    return list(islice(lines, limit))


def _account_mismatches(session: Session, state: LogState) -> Iterator[str]:
    """Accounts that no event added, or whose active flag or role differs from the log's."""
    for user_id, name, active, role in session.execute(select(User.id, User.name, User.active, User.role)
                                                       .order_by(User.id)):
        if user_id not in state.accounts:  # every ganaug since the first records add_user
            yield (f"account {name!r} is in the users table, but no event added it: it was written into the database "
                   "directly")
            continue
        logged_active, logged_role, event_id = state.accounts[user_id]
        for what, table, logged in (("active", active, logged_active), ("role", role, logged_role)):
            if table != logged:
                yield (f"account {name!r} is {_said(what, table)} in the users table but {_said(what, logged)} in "
                       f"the log (event {event_id})")


def _dataset_mismatches(session: Session, state: LogState) -> Iterator[str]:
    from db.ingests import dataset_mismatches  # it reads LogState from here

    yield from dataset_mismatches(session, state)


def _batch_mismatches(session: Session, state: LogState) -> Iterator[str]:
    """Batches whose status, dataset or samples differ from what the log approved, then samples whose class does."""
    approved: dict[int, list] = {b: [] for b, s in state.status.items() if s == "approved" and b in state.approvals}
    relabelled: list[tuple[int, int, int, int]] = []  # (sample, batch, its class now, the class its approval recorded)
    if approved:  # one read of the samples, for every approval's digest (not a query per batch)
        for batch_id, sample_id, sha, class_index in session.execute(
                select(Sample.batch_id, Sample.id, Sample.sha256, Sample.class_index).order_by(Sample.id)):
            if batch_id in approved:
                approved[batch_id].append((sample_id, sha))
                recorded = state.approvals[batch_id].details.get("class_index")
                if recorded is not None and class_index != recorded:
                    relabelled.append((sample_id, batch_id, class_index, recorded))
    for batch_id, status, dataset_id in session.execute(
            select(Batch.id, Batch.status, Batch.dataset_id).order_by(Batch.id)):
        logged = state.batch_status(batch_id)
        if status != logged:
            yield f"batch {batch_id} is {status!r} in the batches table but {logged!r} in the log"
        recorded = state.approvals[batch_id].details.get("dataset_id") if batch_id in approved else None
        if recorded is not None and dataset_id != recorded:
            yield (f"batch {batch_id} is of dataset {dataset_id} in the batches table, but its approval (event "
                   f"{state.approvals[batch_id].event_id}) was of dataset {recorded}")
        if batch_id in approved and not digest_agrees(approved[batch_id], state.approvals[batch_id]):
            yield (f"batch {batch_id}'s samples no longer match the digest its approval "
                   f"(event {state.approvals[batch_id].event_id}) recorded")
    for sample_id, batch_id, class_index, recorded in relabelled:
        yield (f"sample {sample_id} is of class {class_index} in the samples table, but the approval of its batch "
               f"{batch_id} (event {state.approvals[batch_id].event_id}) was of class {recorded}")


def _sample_mismatches(session: Session, state: LogState) -> Iterator[str]:
    """Samples whose rejection or tags differ from the log's."""
    flagged = set(session.scalars(select(Sample.id).where(Sample.rejected)))
    for sample_id in sorted(flagged ^ state.rejected):
        table = "rejected" if sample_id in flagged else "not rejected"
        log = "rejected" if sample_id in state.rejected else "not rejected"
        yield f"sample {sample_id} is {table} in the samples table but {log} in the log"
    linked: dict[int, set[str]] = {}
    for sample_id, name in session.execute(select(SampleTag.sample_id, Tag.name).join(Tag, Tag.id == SampleTag.tag_id)):
        linked.setdefault(sample_id, set()).add(name)
    for sample_id in sorted(set(linked) | {s for s, t in state.tags.items() if t}):
        table, log = linked.get(sample_id, set()), set(state.tags.get(sample_id, {}))
        if table != log:
            yield f"sample {sample_id} has tags {sorted(table)} in the sample_tags table but {sorted(log)} in the log"


def _said(what: str, value) -> str:
    return ("active" if value else "disabled") if what == "active" else f"{value!r}"
