"""Declined questions and anonymous daily counters; nothing here names a user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from storage._time import iso

__all__ = ["KEEP_DAYS", "QuestionRepo", "UnansweredQuestion"]

KEEP_DAYS = 90


@dataclass(frozen=True)
class UnansweredQuestion:
    question: str
    lang: str
    times: int
    last_asked: str


class QuestionRepo:
    """SQL for unanswered_questions and daily_counts."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def record_unanswered(self, question: str, lang: str, now: datetime) -> None:
        """Keep a declined (already scrubbed) question; drop those older than KEEP_DAYS."""
        await self._db.execute(
            "INSERT INTO unanswered_questions (lang, question, asked_at) VALUES (?, ?, ?)",
            (lang, question, iso(now)),
        )
        await self.prune(now)

    async def prune(self, now: datetime) -> None:
        """Drop declined questions older than KEEP_DAYS."""
        await self._db.execute(
            "DELETE FROM unanswered_questions WHERE asked_at < ?",
            (iso(now - timedelta(days=KEEP_DAYS)),),
        )

    async def top_unanswered(self, since: datetime, limit: int = 20) -> list[UnansweredQuestion]:
        """Return the most often declined questions since a moment, most frequent first."""
        async with self._db.execute(
            "SELECT lower(question) AS q, lang, count(*) AS n, max(asked_at)"
            " FROM unanswered_questions WHERE asked_at >= ?"
            " GROUP BY q, lang ORDER BY n DESC, max(asked_at) DESC LIMIT ?",
            (iso(since), limit),
        ) as cursor:
            return [UnansweredQuestion(r[0], r[1], r[2], r[3]) async for r in cursor]

    async def count(self, name: str, now: datetime) -> None:
        """Add one to today's counter `name`."""
        await self._db.execute(
            "INSERT INTO daily_counts (day, name, count) VALUES (?, ?, 1)"
            " ON CONFLICT (day, name) DO UPDATE SET count = count + 1",
            (now.strftime("%Y-%m-%d"), name),
        )

    async def totals(self, since: datetime | None = None) -> dict[str, int]:
        """Sum the counters, optionally from a day on."""
        sql = "SELECT name, sum(count) FROM daily_counts"
        params: tuple[str, ...] = ()
        if since is not None:
            sql, params = sql + " WHERE day >= ?", (since.strftime("%Y-%m-%d"),)
        async with self._db.execute(sql + " GROUP BY name", params) as cursor:
            return {r[0]: r[1] async for r in cursor}
