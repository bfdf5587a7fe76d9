"""Opt-ins: consent given and withdrawn."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import aiosqlite

from flows.models import Status
from storage._time import iso

__all__ = ["SubscriptionRepo"]


class SubscriptionRepo:
    """SQL for the subscriptions table."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def subscribe(
        self, user_id: int, *, method: str, consent_version: str, now: datetime
    ) -> None:
        """Record consent; a new consent replaces an old withdrawal."""
        await self._db.execute(
            "INSERT INTO subscriptions (user_id, status, consent_at, consent_method,"
            " consent_version, source, changed_at, change_method)"
            " VALUES (?, 'active', ?, ?, ?, (SELECT source FROM users WHERE user_id = ?), ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET status = 'active',"
            " consent_at = excluded.consent_at, consent_method = excluded.consent_method,"
            " consent_version = excluded.consent_version, source = excluded.source,"
            " changed_at = excluded.changed_at, change_method = excluded.change_method"
            " WHERE status != 'active'",
            (user_id, iso(now), method, consent_version, user_id, iso(now), method),
        )

    async def set_status(
        self, user_id: int, status: Status, *, method: str, now: datetime
    ) -> None:
        """Withdraw (unsubscribed) or mark blocked, recording when and how."""
        await self._db.execute(
            "UPDATE subscriptions SET status = ?, changed_at = ?, change_method = ?"
            " WHERE user_id = ?",
            (status.value, iso(now), method, user_id),
        )

    async def mark_blocked(self, user_ids: Iterable[int], *, method: str, now: datetime) -> None:
        """Mark active subscribers who blocked the bot (or whose chat is gone) as blocked."""
        await self._db.executemany(
            "UPDATE subscriptions SET status = 'blocked', changed_at = ?, change_method = ?"
            " WHERE user_id = ? AND status = 'active'",
            [(iso(now), method, user_id) for user_id in user_ids],
        )

    async def new_per_day(self, now: datetime, days: int) -> list[tuple[date, int]]:
        """Count consents given (or renewed) on each UTC day of the last `days`, today last.

        Days when nobody opted in are there with 0, so a chart's days are evenly spaced.
        """
        today = now.astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        # A range on the consent index, grouped by the stored text's day part.
        async with self._db.execute(
            "SELECT substr(consent_at, 1, 10), count(*) FROM subscriptions"
            " WHERE consent_at >= ? AND consent_at < ? GROUP BY 1",
            (first.isoformat(), (today + timedelta(days=1)).isoformat()),
        ) as cursor:
            found = {row[0]: row[1] async for row in cursor}
        each = [first + timedelta(days=n) for n in range(days)]
        return [(d, found.get(d.isoformat(), 0)) for d in each]
