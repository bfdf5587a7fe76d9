"""Opening the database: WAL, busy timeout, foreign keys, migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from storage.admin import AdminRepo
from storage.audit import AuditRepo
from storage.funnel import FunnelRepo
from storage.migrations import MIGRATIONS, migrate
from storage.outbox import OutboxRepo
from storage.questions import QuestionRepo
from storage.subscriptions import SubscriptionRepo
from storage.users import UserRepo

__all__ = ["Database", "StorageError", "database_state", "open_database"]

BUSY_TIMEOUT_MS = 5000


class Database:
    """One connection and the repositories that share it."""

    def __init__(self, connection: aiosqlite.Connection, path: Path | None = None) -> None:
        self.connection = connection
        self.path = path
        self.users = UserRepo(connection)
        self.subscriptions = SubscriptionRepo(connection)
        self.funnel = FunnelRepo(connection)
        self.questions = QuestionRepo(connection)
        self.audit = AuditRepo(connection)
        self.outbox = OutboxRepo(connection)
        self.admin = AdminRepo(connection, path)

    async def commit(self) -> None:
        """Commit the current transaction."""
        await self.connection.commit()

    async def rollback(self) -> None:
        """Roll back the current transaction."""
        await self.connection.rollback()

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file and empty it, so erased rows leave both."""
        await self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        """Close the connection."""
        await self.connection.close()


class StorageError(Exception):
    """The database file cannot be opened or migrated; the message says why."""


async def open_database(path: Path | str, *, run_migrations: bool = True) -> Database:
    """Open (creating its folder) and migrate the database at `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"cannot open {str(path)!r}: {exc}") from exc
    try:
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await connection.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, not left in free pages of the file.
        await connection.execute("PRAGMA secure_delete=ON")
        await connection.execute("PRAGMA synchronous=NORMAL")
        if run_migrations:
            await migrate(connection)
    except (OSError, sqlite3.Error) as exc:
        # An open connection's thread would keep the process alive: close it first.
        await connection.close()
        raise StorageError(f"cannot use {str(path)!r}: {exc}") from exc
    return Database(connection, path)


def database_state(path: Path) -> tuple[list[str], list[str]]:
    """Check the file and that it takes writes; return pending and unknown migrations."""
    uri = f"{path.resolve().as_uri()}?mode=rw"
    connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        (check,) = connection.execute("PRAGMA quick_check").fetchone()
        if check != "ok":
            raise sqlite3.DatabaseError(f"damaged: {check}")
        # Takes the write lock (waiting for the bot if it holds it) and writes nothing.
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        has_table = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
        ).fetchone()
        done = (
            {row[0] for row in connection.execute("SELECT name FROM migrations")}
            if has_table
            else set()
        )
    finally:
        connection.close()
    known = [name for name, _ in MIGRATIONS]
    return [n for n in known if n not in done], sorted(done - set(known))
