"""A team upgrades ganaug and keeps its home: a database an older version wrote is migrated on first use with every
event, decision and account intact; what cannot be migrated from this process says in one line what to run.

Each old state is built here, not read from a committed file: the schema of an older revision (alembic), rows written
into it, a revision number only a newer ganaug knows.
"""

from __future__ import annotations

import shlex

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from db.audit import verify_chain
from db.engine import dispose_engines, get_engine, session_scope
from db.errors import DatabaseUnavailable
from db.gate import gated_training_set
from db.migrate import current_revision, head_revision, owners_commands, upgrade
from db.models import Batch, Dataset, Event, Sample, User
from db.replay import LogState, state_mismatches
from db.review import approve_batch, reject_batch, reject_sample, tag_sample
from db.tags import add_tag
from db.users import add_user, authenticate
from tests.db.conftest import PG_SKIP, PG_URL, scratch_database
from tests.db.helpers import make_batch, make_dataset, sample_ids

WEEK_OLD = "0002"  # the schema a week-old checkout (2026-12-02) left; 0003–0005 came later


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db(request, home, monkeypatch):
    """A database nothing has migrated yet, the test's default one (GANAUG_DB_URL names it on PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{home / 'ganaug.db'}"
        dispose_engines()
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    with scratch_database("ganaug_up") as url:
        monkeypatch.setenv("GANAUG_DB_URL", url)
        dispose_engines()
        yield url


def _at_revision(url: str, revision: str):
    """This process's engine for `url`, at `revision` (cached unmigrated, so the sessions below keep that schema)."""
    dispose_engines()
    engine = get_engine(url, migrate=False)
    upgrade(engine, revision)
    return engine


def _upgraded(url: str):
    """What the first command after `git pull` does: a new process opens the database and migrates it."""
    dispose_engines()
    return get_engine(url)


def _old_home(home):
    """Accounts, a dataset and decisions as a team leaves them: approved, rejected, a rejected and a tagged sample."""
    with session_scope(immediate=True) as s:
        ada = add_user(s, "ada", "ada-password", role="admin")
        rex = add_user(s, "rex", "rex-password", role="reviewer", by=ada)
        add_tag(s, "halo", ada, blocking=True)
        toy = make_dataset(s, home, record=False)  # ingests were not recorded before 2026-12-07
        old = dict(scoring_version=None)  # scored before 0012 recorded by which scoring (a 0002 schema has no column)
        approved = make_batch(s, home, toy, n=4, **old)
        ids = sample_ids(s, approved.id)
        reject_sample(s, ids[0], rex, reason="a smudge")
        tag_sample(s, ids[1], "halo", rex)
        approve_batch(s, approved.id, rex)
        reject_batch(s, make_batch(s, home, toy, n=2, **old).id, ada, reason="blurry")
        make_batch(s, home, toy, n=3, **old)  # still pending


def _snapshot(home) -> dict:
    with session_scope() as s:
        log = LogState()
        report = verify_chain(s, visit=log.apply)
        return dict(ok=report.ok and not state_mismatches(s, log), events=report.checked, head=report.head_hash,
                    manifest=gated_training_set(s, "toy", 1.0, home=home).manifest_sha256,
                    batches=sorted(s.execute(select(Batch.id, Batch.status)).all()),
                    samples=s.scalar(select(func.count(Sample.id))), users=sorted(s.scalars(select(User.name))))


def test_a_week_old_database_upgrades_with_every_event_and_the_same_gated_set(empty_db, home):
    _at_revision(empty_db, WEEK_OLD)
    _old_home(home)
    before = _snapshot(home)
    assert before["ok"] and before["events"] == 7 and before["samples"] == 9

    engine = _upgraded(empty_db)
    assert current_revision(engine) == head_revision()
    assert _snapshot(home) == before  # every event, the same head, the same manifest sha256, every batch and account
    with session_scope() as s:  # scored before 0012: by a scoring nothing recorded, which reads as older than today's
        assert s.execute(select(Batch.scores_computed, Batch.scoring_version)).all() == [(True, None)] * 3
    with session_scope(immediate=True) as s:  # the accounts still sign in; new decisions extend the same chain
        rex = authenticate(s, "rex", "rex-password")
        toy = s.scalars(select(Dataset).where(Dataset.name == "toy")).one()
        toy_batch = make_batch(s, home, toy, n=1, seed=2**62)  # 64-bit seeds (0003)
        reject_batch(s, toy_batch.id, rex, reason="after the upgrade")
    with session_scope() as s:
        report = verify_chain(s)
        assert report.ok and report.checked == before["events"] + 1
        assert s.scalar(select(Event.prev_hash).order_by(Event.id.desc()).limit(1)) == before["head"]


def test_a_database_a_newer_ganaug_migrated_is_refused_in_one_line(empty_db, home):
    """A member who has not pulled yet (or a checkout gone back) meets a schema it has no migration for."""
    engine = _at_revision(empty_db, "head")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    dispose_engines()
    with pytest.raises(DatabaseUnavailable) as e:
        get_engine(empty_db)
    message = str(e.value)
    assert "\n" not in message and "schema revision 0099, which this ganaug does not know" in message
    assert f"its newest is {head_revision()}" in message and "`git pull`, then `make setup`" in message


@pytest.mark.postgres
def test_a_team_role_that_may_not_alter_tables_is_told_the_owners_two_commands(monkeypatch, home):
    """README's PostgreSQL team: the owner migrates, the team's role only reads and writes rows. After an upgrade
    the team's first command cannot migrate; it names the owner's command and the grants, and changes nothing."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    with scratch_database("ganaug_up") as url:
        name = make_url(url).database
        engine = _at_revision(url, "0003")
        with engine.begin() as conn:  # as a role without CREATE on the schema (the owner may revoke its own)
            conn.execute(text("REVOKE CREATE ON SCHEMA public FROM pg_database_owner, PUBLIC"))
            role, port = conn.scalar(text("SELECT current_user")), conn.scalar(text("SELECT current_setting('port')"))
        dispose_engines()
        with pytest.raises(DatabaseUnavailable) as e:
            get_engine(url)
        message = str(e.value)
        assert "\n" not in message
        assert "has schema 0003 and this ganaug needs" in message and "permission denied for schema public" in message
        assert f"`GANAUG_DB_URL=postgresql+psycopg://{role}:PASSWORD@127.0.0.1:{port}/{name} ganaug users list`" in message
        assert (f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO \"{role}\"' -c 'REVOKE UPDATE, DELETE ON events "
                f"FROM \"{role}\"' -c 'REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM \"{role}\"'`") in message
        assert current_revision(get_engine(url, migrate=False)) == "0003"  # the failed migration left nothing behind
        grants = shlex.split(message.rsplit("`", 2)[-2])
        with get_engine(url, migrate=False).begin() as conn:  # the server takes them as printed
            for statement in grants[grants.index("-c") + 1::2]:
                conn.execute(text(statement))


@pytest.mark.postgres
def test_a_team_role_on_a_database_with_no_tables_yet_is_told_the_databases_owner(home):
    """With no alembic_version table to read an owner from, the message said "migrate it once as their owner OWNER"."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    with scratch_database("ganaug_up") as url:
        engine = get_engine(url, migrate=False)
        with engine.begin() as conn:
            conn.execute(text("REVOKE CREATE ON SCHEMA public FROM pg_database_owner, PUBLIC"))
            owner = conn.scalar(text("SELECT pg_get_userbyid(datdba) FROM pg_database "
                                     "WHERE datname = current_database()"))
        dispose_engines()
        with pytest.raises(DatabaseUnavailable) as e:
            get_engine(url)
        message = str(e.value)
        assert "has no tables yet" in message and "OWNER" not in message
        assert f"migrate it once as their owner {owner}, `GANAUG_DB_URL=postgresql+psycopg://{owner}:PASSWORD@" in message


def test_the_owners_grants_name_the_team_role_as_postgresql_reads_it():
    """Printed unquoted, a role `Ga-Team` got `GRANT … TO Ga-Team`, a syntax error, and `Team` would have granted the
    rights to another role, `team` (PostgreSQL folds unquoted names to lower case); a `'` ended the shell's quote."""
    url = make_url("postgresql+psycopg://x:secret@db.example:5433/ganaug")
    for role, quoted in (("Ga-Team", '"Ga-Team"'), ("o'b\"x", '"o\'b""x"')):
        migrate, grant = owners_commands(url, role, "Owner's")
        words = shlex.split(grant)  # as the admin's shell reads them
        assert words[:8] == ["psql", "-h", "db.example", "-p", "5433", "-U", "Owner's", "ganaug"]
        statements = words[9::2]
        assert words[8::2] == ["-c"] * 4 and all(s.endswith(("TO " + quoted, "FROM " + quoted)) for s in statements)
        assert shlex.split(migrate) == ["GANAUG_DB_URL=postgresql+psycopg://Owner%27s:PASSWORD@db.example:5433/ganaug",
                                        "ganaug", "users", "list"]
