"""Storage on a real sqlite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from flows.models import Conversation, Funnel, State, Status
from storage import Database, open_database
from storage.migrations import MIGRATIONS, migrate

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def _tables(path: Path) -> set[str]:
    async with (
        aiosqlite.connect(path) as conn,
        conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor,
    ):
        return {row[0] async for row in cursor}


async def test_migrating_an_empty_database_twice(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "fresh.sqlite3"
    db = await open_database(path)
    async with db.connection.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"
    assert await migrate(db.connection) == []  # already up to date
    await db.close()
    tables = await _tables(path)
    assert {"users", "subscriptions", "conversations", "funnel_events", "migrations"} <= tables
    async with aiosqlite.connect(path) as conn, conn.execute("SELECT name FROM migrations") as c:
        assert [row[0] async for row in c] == [name for name, _ in MIGRATIONS]


async def test_a_half_migrated_database_gets_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as conn:
        first_name, first_sql = MIGRATIONS[0]
        await conn.executescript(
            "CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);"
            f"{first_sql}; INSERT INTO migrations VALUES ('{first_name}', 'then');"
        )
    db = await open_database(path)
    await db.close()
    assert "audit_log" in await _tables(path)


async def test_consent_is_recorded_withdrawn_and_given_again(db: Database) -> None:
    await db.users.ensure(5, lang="en", now=NOW)
    await db.users.set_source(5, "flyer")
    await db.users.set_source(5, "later")  # the first source stays
    await db.subscriptions.subscribe(5, method="command", consent_version="v1", now=NOW)
    await db.subscriptions.subscribe(
        5, method="button", consent_version="v2", now=NOW + timedelta(hours=1)
    )
    profile = await db.users.profile(5)
    assert profile is not None
    assert (profile.status, profile.consent_method, profile.consent_version) == (
        Status.ACTIVE,
        "command",
        "v1",
    )
    assert profile.source == "flyer"
    await db.subscriptions.set_status(5, Status.UNSUBSCRIBED, method="text:stop", now=NOW)
    assert (await db.users.profile(5)).status is Status.UNSUBSCRIBED
    await db.subscriptions.subscribe(5, method="button", consent_version="v2", now=NOW)
    profile = await db.users.profile(5)
    assert (profile.status, profile.consent_version) == (Status.ACTIVE, "v2")


async def test_names_are_only_kept_when_given(db: Database) -> None:
    await db.users.ensure(6, lang="en", now=NOW)
    profile = await db.users.profile(6)
    assert profile.first_name is None and profile.username is None


async def test_funnel_counts_each_user_once(db: Database) -> None:
    for user in (1, 2):
        await db.users.ensure(user, lang="en", now=NOW)
    await db.funnel.record(1, Funnel.STARTED, NOW - timedelta(days=10))
    await db.funnel.record(1, Funnel.STARTED, NOW)
    await db.funnel.record(2, Funnel.STARTED, NOW)
    await db.funnel.record(2, Funnel.ACTED, NOW)
    counts = await db.funnel.counts()
    assert counts[Funnel.STARTED] == 2 and counts[Funnel.ACTED] == 1
    assert counts[Funnel.LEARNED] == 0
    recent = await db.funnel.counts(since=NOW - timedelta(days=7))
    assert recent[Funnel.STARTED] == 1


async def test_deleting_a_user_removes_every_row_naming_them(db: Database) -> None:
    await db.users.ensure(9, lang="en", now=NOW)
    await db.users.ensure(10, lang="en", now=NOW)
    for user in (9, 10):
        await db.subscriptions.subscribe(user, method="command", consent_version="v1", now=NOW)
        await db.funnel.record(user, Funnel.STARTED, NOW)
        await db.users.save_conversation(user, Conversation(state=State.LEARNING, step=2), NOW)
    await db.users.delete(9)
    await db.commit()
    for table in ("users", "subscriptions", "funnel_events", "conversations"):
        async with db.connection.execute(f"SELECT user_id FROM {table}") as cursor:
            assert [row[0] async for row in cursor] == [10], table


async def test_an_unknown_stored_state_starts_over(db: Database) -> None:
    await db.users.ensure(3, lang="en", now=NOW)
    await db.connection.execute(
        "INSERT INTO conversations VALUES (3, 'from-a-future-version', 4, 'x')"
    )
    assert await db.users.conversation(3) == Conversation()


async def test_erasing_a_staff_member_keeps_what_was_done_but_not_who(db: Database) -> None:
    from flows.models import COMMAND_LINE_ACTOR, ERASED_ACTOR

    await db.audit.record(1001, "/export", "", NOW)
    await db.audit.record(COMMAND_LINE_ACTOR, "optins export", "csv", NOW)
    await db.audit.record(2002, "/stats", "", NOW)
    await db.audit.forget(1001)
    await db.audit.forget(COMMAND_LINE_ACTOR)  # the terminal chat's user: not an actor
    entries = {(e.actor_id, e.action) for e in await db.audit.latest()}
    assert entries == {
        (ERASED_ACTOR, "/export"),
        (COMMAND_LINE_ACTOR, "optins export"),
        (2002, "/stats"),
    }
