"""Users and their place in a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from flows.models import Conversation, Funnel, Profile, State, Status
from storage._time import from_iso, iso

__all__ = ["UserRepo"]


class UserRepo:
    """SQL for the users and conversations tables."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def ensure(
        self,
        user_id: int,
        *,
        lang: str,
        now: datetime,
        first_name: str | None = None,
        username: str | None = None,
    ) -> None:
        """Create the user on first contact; refresh names only when they are stored."""
        await self._db.execute(
            "INSERT INTO users (user_id, lang, first_seen, first_name, username)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET"
            " first_name = coalesce(excluded.first_name, first_name),"
            " username = coalesce(excluded.username, username)",
            (user_id, lang, iso(now), first_name, username),
        )

    async def load(self, user_id: int) -> tuple[Profile, Conversation] | None:
        """Return what is stored about a user and their place in a flow, in one query."""
        rows = await self._db.execute_fetchall(
            "SELECT u.user_id, u.lang, u.first_seen, u.source, u.first_name, u.username,"
            " s.status, s.consent_at, s.consent_method, s.consent_version,"
            " s.changed_at, s.change_method, c.updated_at,"
            " (SELECT group_concat(step || ' ' || at, ',') FROM funnel_events f"
            "  WHERE f.user_id = u.user_id),"
            " (SELECT count(*) FROM broadcast_recipients r"
            "  WHERE r.user_id = u.user_id AND r.state IN ('sent', 'unknown')),"
            " c.state, c.step"
            " FROM users u LEFT JOIN subscriptions s USING (user_id)"
            " LEFT JOIN conversations c USING (user_id) WHERE u.user_id = ?",
            (user_id,),
        )
        row = next(iter(rows), None)
        if row is None:
            return None
        profile = Profile(
            user_id=row[0],
            lang=row[1],
            first_seen=from_iso(row[2]),
            source=row[3],
            first_name=row[4],
            username=row[5],
            status=Status(row[6]) if row[6] else Status.NONE,
            consent_at=from_iso(row[7]) if row[7] else None,
            consent_method=row[8],
            consent_version=row[9],
            changed_at=from_iso(row[10]) if row[10] else None,
            change_method=row[11],
            last_seen=from_iso(row[12]) if row[12] else None,
            steps=_steps(row[13]),
            broadcasts=row[14],
        )
        return profile, _conversation(row[15], row[16])

    async def profile(self, user_id: int) -> Profile | None:
        """Return what is stored about a user, or None."""
        found = await self.load(user_id)
        return found[0] if found else None

    async def languages(self, user_ids: Sequence[int]) -> dict[int, str]:
        """Return each user's language (users not found are left out)."""
        if not user_ids:
            return {}
        marks = ", ".join("?" * len(user_ids))
        rows = await self._db.execute_fetchall(
            f"SELECT user_id, lang FROM users WHERE user_id IN ({marks})", tuple(user_ids)
        )
        return {row[0]: row[1] for row in rows}

    async def set_language(self, user_id: int, lang: str) -> None:
        """Remember the user's chosen language."""
        await self._db.execute("UPDATE users SET lang = ? WHERE user_id = ?", (lang, user_id))

    async def set_source(self, user_id: int, source: str) -> None:
        """Record where the user first came from, keeping the first one."""
        await self._db.execute(
            "UPDATE users SET source = ? WHERE user_id = ? AND source IS NULL", (source, user_id)
        )

    async def conversation(self, user_id: int) -> Conversation:
        """Return the user's place in a flow (idle when none is stored)."""
        rows = await self._db.execute_fetchall(
            "SELECT state, step FROM conversations WHERE user_id = ?", (user_id,)
        )
        row = next(iter(rows), None)
        return Conversation() if row is None else _conversation(row[0], row[1])

    async def save_conversation(
        self, user_id: int, conversation: Conversation, now: datetime
    ) -> None:
        """Store the user's place in a flow."""
        await self._db.execute(
            "INSERT INTO conversations (user_id, state, step, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,"
            " step = excluded.step, updated_at = excluded.updated_at",
            (user_id, conversation.state.value, conversation.step, iso(now)),
        )

    async def forget_names(self) -> int:
        """Erase every kept first name and username; return how many users had one."""
        cursor = await self._db.execute(
            "UPDATE users SET first_name = NULL, username = NULL"
            " WHERE first_name IS NOT NULL OR username IS NOT NULL"
        )
        return cursor.rowcount

    async def delete(self, user_id: int) -> None:
        """Remove the user and, by cascade, every row that names them."""
        await self._db.execute("DELETE FROM users WHERE user_id = ?", (user_id,))

    async def inactive(self, silent_since: datetime) -> list[int]:
        """Return the users who never subscribed and have said nothing since a moment."""
        async with self._db.execute(
            "SELECT u.user_id FROM users u LEFT JOIN conversations c USING (user_id)"
            " WHERE NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.user_id)"
            " AND coalesce(c.updated_at, u.first_seen) < ?",
            (iso(silent_since),),
        ) as cursor:
            return [row[0] async for row in cursor]


def _steps(joined: str | None) -> tuple[tuple[Funnel, datetime], ...]:
    steps = []
    for part in (joined or "").split(","):
        step, _, at = part.partition(" ")
        if step in Funnel._value2member_map_:
            steps.append((Funnel(step), from_iso(at)))
    return tuple(sorted(steps, key=lambda item: item[1]))


def _conversation(state: str | None, step: int | None) -> Conversation:
    if state is None:
        return Conversation()
    try:
        return Conversation(state=State(state), step=step or 0)
    except ValueError:
        return Conversation()  # a state a newer or older version wrote: start over
