"""What admins review: the opt-in list, page by page or whole, and the campaign's numbers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from flows.admin import OptIn
from flows.models import Funnel, Status
from storage._time import iso

__all__ = ["AdminRepo"]

EXPORT_CHUNK = 1000
_COLUMNS = (
    "s.user_id, u.first_name, u.username, s.consent_at, s.consent_method, s.consent_version,"
    " s.source, u.lang, s.status, s.changed_at"
)
_NEWEST_FIRST = "ORDER BY s.consent_at DESC, s.user_id DESC"


_STATUS = {status.value: status for status in Status}


def _optin(row: Sequence[Any]) -> OptIn:
    return OptIn._make((*row[:8], _STATUS[row[8]], row[9]))


class AdminRepo:
    """SQL for the admin's views of subscriptions and the funnel."""

    def __init__(self, db: aiosqlite.Connection, path: Path | None = None) -> None:
        self._db = db
        self._path = path

    async def status_counts(self) -> dict[Status, int]:
        """Count subscriptions by status."""
        async with self._db.execute(
            "SELECT status, count(*) FROM subscriptions GROUP BY status"
        ) as cursor:
            found = {row[0]: row[1] async for row in cursor}
        return {s: found.get(s.value, 0) for s in Status if s is not Status.NONE}

    async def page(self, offset: int, limit: int) -> list[OptIn]:
        """Return `limit` opt-ins after skipping `offset`, newest consent first."""
        # Skip along the covering consent index first, then fetch only the rows shown.
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM (SELECT user_id FROM subscriptions"
            " ORDER BY consent_at DESC, user_id DESC LIMIT ? OFFSET ?) AS p"
            " JOIN subscriptions s ON s.user_id = p.user_id"
            f" JOIN users u ON u.user_id = p.user_id {_NEWEST_FIRST}",
            (limit, offset),
        ) as cursor:
            return [_optin(row) async for row in cursor]

    async def new_since(self, since: datetime) -> int:
        """Count consents given (or renewed) since a moment."""
        async with self._db.execute(
            "SELECT count(*) FROM subscriptions WHERE consent_at >= ?", (iso(since),)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else 0

    async def funnel_totals(self) -> dict[Funnel, int]:
        """Count users per funnel step, all time (kept up to date by triggers)."""
        async with self._db.execute("SELECT step, count FROM funnel_totals") as cursor:
            found = {row[0]: row[1] async for row in cursor}
        return {step: found.get(step.value, 0) for step in Funnel}

    async def funnel_since(self, since: datetime) -> dict[Funnel, int]:
        """Count users who reached each step since a moment."""
        counts = {}
        for step in Funnel:
            # One indexed range per step: a GROUP BY would scan the whole index.
            async with self._db.execute(
                "SELECT count(*) FROM funnel_events WHERE step = ? AND at >= ?",
                (step.value, iso(since)),
            ) as cursor:
                row = await cursor.fetchone()
            counts[step] = row[0] if row else 0
        return counts

    async def each_optin(self, chunk: int = EXPORT_CHUNK) -> AsyncGenerator[list[OptIn], None]:
        """Yield the whole list by Telegram id, `chunk` rows at a time, from one snapshot."""
        # By id, not by date: both tables are read in key order, and two exports diff well.
        async with (
            self._reader() as db,
            db.execute(
                f"SELECT {_COLUMNS} FROM subscriptions s JOIN users u ON u.user_id = s.user_id"
                " ORDER BY s.user_id"
            ) as cursor,
        ):
            # Read the next chunk in sqlite's thread while the caller writes this one.
            pending = asyncio.ensure_future(cursor.fetchmany(chunk))
            try:
                while rows := await pending:
                    pending = asyncio.ensure_future(cursor.fetchmany(chunk))
                    yield [_optin(row) for row in rows]
            finally:
                await asyncio.gather(pending, return_exceptions=True)

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._path is None:
            yield self._db
            return
        # A separate read-only connection sees one moment and leaves the bot's writes alone.
        uri = f"{self._path.resolve().as_uri()}?mode=ro"
        async with aiosqlite.connect(uri, uri=True) as db:
            yield db
