"""Broadcasts and their outbox: one row per broadcast, one per recipient."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from flows.broadcast import BroadcastKind, BroadcastState, Counts, RecipientState
from flows.models import Broadcast
from storage._time import from_iso, iso

__all__ = ["Broadcast", "OutboxRepo", "Recipient", "Result"]

# Who a broadcast reaches: active subscribers (not the terminal chat's user 0), in its
# language if it has one. Counted for the preview and used to fill the outbox: one definition.
_AUDIENCE = "s.status = 'active' AND s.user_id > 0 AND (:lang IS NULL OR u.lang = :lang)"

_COLUMNS = (
    "id, author_id, chat_id, state, kind, text, from_chat_id, message_id, lang,"
    " created_at, started_at, finished_at, status_message_id"
)


@dataclass(frozen=True)
class Recipient:
    """A row claimed for sending."""

    user_id: int
    chat_id: int
    attempts: int


@dataclass(frozen=True)
class Result:
    """The outcome of one attempt, to be recorded with others in one transaction."""

    user_id: int
    chat_id: int
    state: RecipientState
    attempts: int
    next_at: float = 0.0
    error: str | None = None


def _broadcast(row: Sequence) -> Broadcast:
    return Broadcast(
        id=row[0],
        author_id=row[1],
        chat_id=row[2],
        state=BroadcastState(row[3]),
        kind=BroadcastKind(row[4]) if row[4] else None,
        text=row[5],
        from_chat_id=row[6],
        message_id=row[7],
        lang=row[8],
        created_at=from_iso(row[9]),
        started_at=from_iso(row[10]) if row[10] else None,
        finished_at=from_iso(row[11]) if row[11] else None,
        status_message_id=row[12],
    )


class OutboxRepo:
    """SQL for the broadcasts and broadcast_recipients tables."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    # -- drafts --------------------------------------------------------------------------

    async def hold(self) -> None:
        """Take the write lock now, so what is read before the commit stays true.

        The sender writes through its own connection: without the lock, the audience counted
        for a confirmation could change before the broadcast starts.
        """
        if not self._db.in_transaction:
            await self._db.execute("BEGIN IMMEDIATE")

    async def create_draft(
        self, author_id: int, chat_id: int, lang: str | None, now: datetime
    ) -> int:
        """Create an empty draft and return its id."""
        cursor = await self._db.execute(
            "INSERT INTO broadcasts (author_id, chat_id, state, lang, created_at)"
            " VALUES (?, ?, 'draft', ?, ?)",
            (author_id, chat_id, lang, iso(now)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def set_text(self, broadcast_id: int, text: str) -> None:
        """Give a draft its HTML text."""
        await self._db.execute(
            "UPDATE broadcasts SET kind = 'text', text = ? WHERE id = ? AND state = 'draft'",
            (text, broadcast_id),
        )

    async def set_copy(self, broadcast_id: int, from_chat_id: int, message_id: int) -> None:
        """Make a draft a copy of a message the organizer sent."""
        await self._db.execute(
            "UPDATE broadcasts SET kind = 'copy', from_chat_id = ?, message_id = ?"
            " WHERE id = ? AND state = 'draft'",
            (from_chat_id, message_id, broadcast_id),
        )

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """Return a broadcast, or None."""
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return _broadcast(row) if row else None

    async def open_draft(self, author_id: int) -> Broadcast | None:
        """Return the author's newest draft still waiting for its message, or None."""
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE author_id = ? AND state = 'draft'"
            " AND kind IS NULL ORDER BY id DESC LIMIT 1",
            (author_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return _broadcast(row) if row else None

    async def audience(self, lang: str | None) -> int:
        """Count the active subscribers a broadcast to `lang` (None: all) would reach."""
        async with self._db.execute(
            f"SELECT count(*) FROM subscriptions s JOIN users u USING (user_id) WHERE {_AUDIENCE}",
            {"lang": lang},
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _lang(self, broadcast_id: int) -> str | None:
        async with self._db.execute(
            "SELECT lang FROM broadcasts WHERE id = ?", (broadcast_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def start(self, broadcast_id: int, author_id: int, now: datetime) -> int | None:
        """Move a draft to 'sending' and fill its outbox; None if it was not a ready draft."""
        cursor = await self._db.execute(
            "UPDATE broadcasts SET state = 'sending', started_at = ?"
            " WHERE id = ? AND author_id = ? AND state = 'draft' AND kind IS NOT NULL",
            (iso(now), broadcast_id, author_id),
        )
        if cursor.rowcount != 1:
            return None
        cursor = await self._db.execute(
            "INSERT INTO broadcast_recipients (broadcast_id, user_id, chat_id)"
            " SELECT :id, s.user_id, s.user_id FROM subscriptions s JOIN users u USING (user_id)"
            f" WHERE {_AUDIENCE}",
            {"id": broadcast_id, "lang": await self._lang(broadcast_id)},
        )
        return cursor.rowcount

    async def cancel(self, broadcast_id: int, now: datetime) -> bool:
        """Cancel a draft or a running broadcast; tell whether it was one."""
        cursor = await self._db.execute(
            "UPDATE broadcasts SET state = 'cancelled',"
            " finished_at = CASE WHEN state = 'draft' THEN ? ELSE finished_at END"
            " WHERE id = ? AND state IN ('draft', 'sending')",
            (iso(now), broadcast_id),
        )
        return cursor.rowcount == 1

    async def set_status_message(self, broadcast_id: int, message_id: int) -> None:
        """Remember the message in the organizer's chat that shows progress."""
        await self._db.execute(
            "UPDATE broadcasts SET status_message_id = ? WHERE id = ?", (message_id, broadcast_id)
        )

    async def recent(self, limit: int = 10) -> list[tuple[Broadcast, Counts]]:
        """Return the newest broadcasts that have content, with their recipients' counts."""
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE kind IS NOT NULL ORDER BY id DESC LIMIT ?",
            (limit,),
        ) as cursor:
            found = [_broadcast(row) async for row in cursor]
        return [(b, await self.counts(b.id)) for b in found]

    async def forget(self, user_id: int) -> None:
        """Remove what names an organizer who erased their data (recipients cascade)."""
        await self._db.execute(
            "DELETE FROM broadcasts WHERE author_id = ? AND state = 'draft'", (user_id,)
        )
        await self._db.execute(
            "UPDATE broadcasts SET author_id = NULL, chat_id = NULL, status_message_id = NULL,"
            " from_chat_id = CASE WHEN state = 'sending' THEN from_chat_id END,"
            " message_id = CASE WHEN state = 'sending' THEN message_id END"
            " WHERE author_id = ?",
            (user_id,),
        )

    # -- delivery ------------------------------------------------------------------------

    async def recover(self) -> int:
        """After a crash, mark rows whose answer never came 'unknown'; return how many."""
        cursor = await self._db.execute(
            "UPDATE broadcast_recipients SET state = 'unknown', error = 'interrupted'"
            " WHERE state = 'sending'"
        )
        return cursor.rowcount

    async def unfinished(self) -> list[int]:
        """Return the ids of broadcasts still sending, or stopped but not yet closed."""
        async with self._db.execute(
            "SELECT id FROM broadcasts WHERE state = 'sending' OR (state = 'cancelled'"
            " AND started_at IS NOT NULL AND finished_at IS NULL) ORDER BY id"
        ) as cursor:
            return [row[0] async for row in cursor]

    async def claim(self, broadcast_id: int, limit: int, now: float) -> list[Recipient]:
        """Mark up to `limit` due pending rows 'sending' and return them."""
        async with self._db.execute(
            "UPDATE broadcast_recipients SET state = 'sending'"
            " WHERE broadcast_id = ?1 AND user_id IN ("
            "  SELECT user_id FROM broadcast_recipients"
            "  WHERE broadcast_id = ?1 AND state = 'pending' AND next_at <= ?2"
            "  ORDER BY next_at, user_id LIMIT ?3)"
            " AND EXISTS (SELECT 1 FROM broadcasts WHERE id = ?1 AND state = 'sending')"
            " RETURNING user_id, chat_id, attempts",
            (broadcast_id, now, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return sorted((Recipient(r[0], r[1], r[2]) for r in rows), key=lambda r: r.user_id)

    async def record(self, broadcast_id: int, results: Iterable[Result]) -> None:
        """Store the outcome of attempts; only rows still 'sending' change."""
        await self._db.executemany(
            "UPDATE broadcast_recipients SET state = ?, chat_id = ?, attempts = ?, next_at = ?,"
            " error = ? WHERE broadcast_id = ? AND user_id = ? AND state = 'sending'",
            [
                (r.state.value, r.chat_id, r.attempts, r.next_at, r.error, broadcast_id, r.user_id)
                for r in results
            ],
        )

    async def release(self, broadcast_id: int, user_ids: Iterable[int]) -> None:
        """Put claimed rows that were never requested back to 'pending'."""
        await self._db.executemany(
            "UPDATE broadcast_recipients SET state = 'pending'"
            " WHERE broadcast_id = ? AND user_id = ? AND state = 'sending'",
            [(broadcast_id, user_id) for user_id in user_ids],
        )

    async def counts(self, broadcast_id: int) -> Counts:
        """Count a broadcast's recipients per state."""
        async with self._db.execute(
            "SELECT state, count(*) FROM broadcast_recipients WHERE broadcast_id = ?"
            " GROUP BY state",
            (broadcast_id,),
        ) as cursor:
            return Counts.of({row[0]: row[1] async for row in cursor})

    async def next_due(self, broadcast_id: int) -> float | None:
        """Return when the earliest pending row is due, or None when none is pending."""
        async with self._db.execute(
            "SELECT min(next_at) FROM broadcast_recipients"
            " WHERE broadcast_id = ? AND state = 'pending'",
            (broadcast_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row and row[0] is not None else None

    async def finish(self, broadcast_id: int, now: datetime) -> BroadcastState | None:
        """Close a broadcast ('sending' becomes 'done'); return its final state."""
        await self._db.execute(
            "UPDATE broadcasts SET state = CASE state WHEN 'sending' THEN 'done' ELSE state END,"
            " finished_at = coalesce(finished_at, ?) WHERE id = ?",
            (iso(now), broadcast_id),
        )
        found = await self.get(broadcast_id)
        return found.state if found else None
