"""Declined questions and anonymous daily counters; nothing here names a user.

Both carry the day, never the time: a time to the second would match the asker's own
funnel and conversation rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage._time import day

__all__ = ["QuestionRepo", "UnansweredQuestion"]


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
        """Keep a declined (already scrubbed) question, with the day it was asked."""
        await self._db.execute(
            "INSERT INTO unanswered_questions (lang, question, asked_on) VALUES (?, ?, ?)",
            (lang, question, day(now)),
        )

    async def purge(self, before: datetime) -> int:
        """Drop declined questions asked on days before `before`; return how many."""
        cursor = await self._db.execute(
            "DELETE FROM unanswered_questions WHERE asked_on < ?", (day(before),)
        )
        return cursor.rowcount

    async def top_unanswered(self, since: datetime, limit: int = 20) -> list[UnansweredQuestion]:
        """Return the most often declined questions since a moment, most frequent first."""
        async with self._db.execute(
            "SELECT lower(question) AS q, lang, count(*) AS n, max(asked_on)"
            " FROM unanswered_questions WHERE asked_on >= ?"
            " GROUP BY q, lang ORDER BY n DESC, max(asked_on) DESC LIMIT ?",
            (day(since), limit),
        ) as cursor:
            return [UnansweredQuestion(r[0], r[1], r[2], r[3]) async for r in cursor]

    async def count(self, name: str, now: datetime) -> None:
        """Add one to today's counter `name`."""
        await self._db.execute(
            "INSERT INTO daily_counts (day, name, count) VALUES (?, ?, 1)"
            " ON CONFLICT (day, name) DO UPDATE SET count = count + 1",
            (day(now), name),
        )

    async def totals(self, since: datetime | None = None) -> dict[str, int]:
        """Sum the counters, optionally from a day on."""
        sql = "SELECT name, sum(count) FROM daily_counts"
        params: tuple[str, ...] = ()
        if since is not None:
            sql, params = sql + " WHERE day >= ?", (day(since),)
        async with self._db.execute(sql + " GROUP BY name", params) as cursor:
            return {r[0]: r[1] async for r in cursor}
