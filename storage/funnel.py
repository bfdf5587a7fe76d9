"""Funnel events: which steps a user reached, once each."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from flows.models import Funnel
from storage._time import iso

__all__ = ["FunnelRepo"]


class FunnelRepo:
    """SQL for the funnel_events table."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def record(self, user_id: int, step: Funnel, now: datetime) -> None:
        """Record that a user reached a step; only the first time counts."""
        await self._db.execute(
            "INSERT OR IGNORE INTO funnel_events (user_id, step, at) VALUES (?, ?, ?)",
            (user_id, step.value, iso(now)),
        )

    async def counts(self, since: datetime | None = None) -> dict[Funnel, int]:
        """Count users per step, optionally only those who reached it since a moment."""
        sql = "SELECT step, count(*) FROM funnel_events"
        params: tuple[str, ...] = ()
        if since is not None:
            sql += " WHERE at >= ?"
            params = (iso(since),)
        async with self._db.execute(sql + " GROUP BY step", params) as cursor:
            found = {row[0]: row[1] async for row in cursor}
        return {step: found.get(step.value, 0) for step in Funnel}
