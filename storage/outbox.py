"""Broadcasts and their outbox: one row per broadcast, one per recipient."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from flows.broadcast import BroadcastKind, BroadcastState, Counts, RecipientState
from flows.models import Achieved, Audience, Broadcast, Plan
from storage._time import from_iso, iso

__all__ = ["ACHIEVED_DAYS", "Broadcast", "OutboxRepo", "Recipient", "Result"]

# Who a broadcast reaches: active subscribers (not the terminal chat's user 0), narrowed by
# each condition of its audience that is set. Counted for the preview and again to fill the
# outbox when it starts: one definition.
_AUDIENCE = (
    "s.status = 'active' AND s.user_id > 0"
    " AND (:lang IS NULL OR u.lang = :lang)"
    " AND (:source IS NULL OR u.source = :source)"
    " AND (:acted IS NULL OR :acted = EXISTS (SELECT 1 FROM funnel_events f"
    "      WHERE f.user_id = s.user_id AND f.step = 'acted'))"
    " AND (:joined_since IS NULL OR s.consent_at >= :joined_since)"
)
_PLAN_COLUMNS = "lang, source, acted, joined_days, send_at, buttons"  # see _plan_row
ACHIEVED_DAYS = 7  # what a broadcast achieved: acts and unsubscribes within this many days
FILL_CHUNK = 5_000  # outbox rows added per transaction once a broadcast has started

_COLUMNS = (
    "id, author_id, chat_id, state, kind, text, from_chat_id, message_id, lang,"
    " created_at, started_at, finished_at, status_message_id,"
    " source, acted, joined_days, send_at, scheduled, buttons"
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
    state = BroadcastState(row[3])
    if state is BroadcastState.DRAFT and row[17]:
        state = BroadcastState.SCHEDULED
    return Broadcast(
        id=row[0],
        author_id=row[1],
        chat_id=row[2],
        state=state,
        kind=BroadcastKind(row[4]) if row[4] else None,
        text=row[5],
        from_chat_id=row[6],
        message_id=row[7],
        lang=row[8],
        created_at=from_iso(row[9]),
        started_at=from_iso(row[10]) if row[10] else None,
        finished_at=from_iso(row[11]) if row[11] else None,
        status_message_id=row[12],
        source=row[13],
        acted=None if row[14] is None else bool(row[14]),
        joined_days=row[15],
        send_at=from_iso(row[16]) if row[16] else None,
        buttons=tuple(row[18].split()) if row[18] else (),
    )


def _plan_row(plan: Plan) -> tuple[object, ...]:
    """A plan as the values of `_PLAN_COLUMNS`, in their order."""
    a = plan.audience
    return (
        a.lang,
        a.source,
        None if a.acted is None else int(a.acted),
        a.joined_days,
        iso(plan.send_at) if plan.send_at else None,
        " ".join(plan.buttons),
    )


def _audience(audience: Audience, now: datetime) -> dict[str, object]:
    """The parameters of `_AUDIENCE` for an audience counted or filled at `now`."""
    since = None
    if audience.joined_days is not None:
        since = iso(now - timedelta(days=audience.joined_days))
    return {
        "lang": audience.lang,
        "source": audience.source,
        "acted": None if audience.acted is None else int(audience.acted),
        "joined_since": since,
    }


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

    async def create_draft(self, author_id: int, chat_id: int, plan: Plan, now: datetime) -> int:
        """Create an empty draft for a plan (audience, time, buttons); return its id."""
        cursor = await self._db.execute(
            "INSERT INTO broadcasts (author_id, chat_id, state, created_at,"
            f" {_PLAN_COLUMNS}) VALUES (?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?)",
            (author_id, chat_id, iso(now), *_plan_row(plan)),
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

    async def audience(self, audience: Audience, now: datetime) -> int:
        """Count the active subscribers an audience holds at `now`."""
        rows = await self._db.execute_fetchall(
            f"SELECT count(*) FROM subscriptions s JOIN users u USING (user_id) WHERE {_AUDIENCE}",
            _audience(audience, now),
        )
        return int(next(iter(rows))[0])

    async def start(
        self, broadcast_id: int, author_id: int | None, now: datetime, *, first: int = FILL_CHUNK
    ) -> int | None:
        """Move a ready draft (scheduled or not) to 'sending' and fill the first chunk of its
        outbox with the audience as it is now; return how many rows that made, or None if it
        was not a ready draft. `author_id` None: whoever wrote it. The sender fills the rest
        (`fill`), so pressing Send stays quick with a hundred thousand subscribers."""
        cursor = await self._db.execute(
            "UPDATE broadcasts SET state = 'sending', started_at = ?, scheduled = 0,"
            " filled_to = 0 WHERE id = ? AND (? IS NULL OR author_id = ?) AND state = 'draft'"
            " AND kind IS NOT NULL",
            (iso(now), broadcast_id, author_id, author_id),
        )
        if cursor.rowcount != 1:
            return None
        return await self.fill(broadcast_id, first)

    async def fill(self, broadcast_id: int, limit: int = FILL_CHUNK) -> int:
        """Add the next `limit` recipients of a sending broadcast to its outbox, in user id
        order; return how many were added (0 once it is full). Who counts is decided as at
        its start: subscribed by then, in its audience now (someone who unsubscribed since
        is left out). A chunk filled twice (after a crash) adds nobody twice."""
        found = await self.get(broadcast_id)
        rows = await self._db.execute_fetchall(
            "SELECT filled_to FROM broadcasts WHERE id = ? AND state = 'sending'",
            (broadcast_id,),
        )
        after = next(iter(rows), (None,))[0]
        if found is None or found.started_at is None or after is None:
            return 0
        params = {
            "id": broadcast_id,
            "after": after,
            "started": iso(found.started_at),
            "limit": limit,
            **_audience(found.audience, found.started_at),
        }
        chunk = (
            "FROM subscriptions s JOIN users u USING (user_id)"
            f" WHERE {_AUDIENCE} AND s.user_id > :after AND s.consent_at <= :started"
        )
        rows = await self._db.execute_fetchall(
            "SELECT max(user_id), count(*) FROM"
            f" (SELECT s.user_id {chunk} ORDER BY s.user_id LIMIT :limit)",
            params,
        )
        last, size = next(iter(rows))
        if last is None:
            await self._db.execute(
                "UPDATE broadcasts SET filled_to = NULL WHERE id = ?", (broadcast_id,)
            )
            return 0
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO broadcast_recipients (broadcast_id, user_id, chat_id)"
            f" SELECT :id, s.user_id, s.user_id {chunk} AND s.user_id <= :last",
            {**params, "last": last},
        )
        await self._db.execute(  # a short chunk was the last one
            "UPDATE broadcasts SET filled_to = ? WHERE id = ?",
            (last if size == limit else None, broadcast_id),
        )
        return cursor.rowcount

    async def set_plan(self, broadcast_id: int, plan: Plan) -> bool:
        """Give a draft (not yet scheduled) a new audience, time and buttons."""
        assignments = ", ".join(f"{column} = ?" for column in _PLAN_COLUMNS.split(", "))
        cursor = await self._db.execute(
            f"UPDATE broadcasts SET {assignments}"
            " WHERE id = ? AND state = 'draft' AND scheduled = 0",
            (*_plan_row(plan), broadcast_id),
        )
        return cursor.rowcount == 1

    async def sources(self, limit: int = 4) -> list[str]:
        """Return the deep-link sources most active subscribers came from, most first."""
        rows = await self._db.execute_fetchall(
            "SELECT u.source FROM subscriptions s JOIN users u USING (user_id)"
            " WHERE s.status = 'active' AND u.source IS NOT NULL"
            " GROUP BY u.source ORDER BY count(*) DESC, u.source LIMIT ?",
            (limit,),
        )
        return [row[0] for row in rows]

    async def schedule(self, broadcast_id: int, author_id: int) -> bool:
        """Confirm the author's ready draft to start by itself at its send_at."""
        cursor = await self._db.execute(
            "UPDATE broadcasts SET scheduled = 1 WHERE id = ? AND author_id = ?"
            " AND state = 'draft' AND kind IS NOT NULL AND send_at IS NOT NULL",
            (broadcast_id, author_id),
        )
        return cursor.rowcount == 1

    async def start_due(self, now: datetime) -> list[int]:
        """Start every scheduled broadcast whose time has come; return their ids."""
        rows = await self._db.execute_fetchall(
            "SELECT id FROM broadcasts WHERE scheduled = 1 AND state = 'draft' AND send_at <= ?"
            " ORDER BY send_at, id",
            (iso(now),),
        )
        return [row[0] for row in rows if await self.start(row[0], None, now) is not None]

    async def next_scheduled(self) -> datetime | None:
        """Return when the next scheduled broadcast is due, or None."""
        rows = await self._db.execute_fetchall(
            "SELECT min(send_at) FROM broadcasts WHERE scheduled = 1 AND state = 'draft'"
        )
        value = next(iter(rows))[0]
        return from_iso(value) if value else None

    async def tap(self, broadcast_id: int, button: str) -> None:
        """Count one tap on a broadcast's button, if the broadcast exists."""
        await self._db.execute(
            "INSERT INTO broadcast_taps (broadcast_id, button, count)"
            " SELECT id, ?, 1 FROM broadcasts WHERE id = ?"
            " ON CONFLICT (broadcast_id, button) DO UPDATE SET count = count + 1",
            (button, broadcast_id),
        )

    async def achieved(self, broadcast: Broadcast) -> Achieved:
        """Count taps, and recipients who acted or unsubscribed within ACHIEVED_DAYS after it."""
        taps = {
            row[0]: row[1]
            for row in await self._db.execute_fetchall(
                "SELECT button, count FROM broadcast_taps WHERE broadcast_id = ?",
                (broadcast.id,),
            )
        }
        if broadcast.started_at is None:
            return Achieved(taps=taps)
        start = iso(broadcast.started_at)
        end = iso(broadcast.started_at + timedelta(days=ACHIEVED_DAYS))
        rows = await self._db.execute_fetchall(
            "SELECT"
            " (SELECT count(*) FROM broadcast_recipients r JOIN funnel_events f"
            "  ON f.user_id = r.user_id AND f.step = 'acted'"
            "  WHERE r.broadcast_id = :id AND r.state IN ('sent', 'unknown')"
            "  AND f.at >= :start AND f.at < :end),"
            " (SELECT count(*) FROM broadcast_recipients r JOIN subscriptions s"
            "  ON s.user_id = r.user_id AND s.status = 'unsubscribed'"
            "  WHERE r.broadcast_id = :id AND r.state IN ('sent', 'unknown')"
            "  AND s.changed_at >= :start AND s.changed_at < :end)",
            {"id": broadcast.id, "start": start, "end": end},
        )
        acted, unsubscribed = next(iter(rows))
        return Achieved(taps=taps, acted=acted, unsubscribed=unsubscribed)

    async def cancel(self, broadcast_id: int, now: datetime) -> bool:
        """Cancel a draft or a running broadcast; tell whether it was one."""
        cursor = await self._db.execute(
            "UPDATE broadcasts SET state = 'cancelled',"
            " finished_at = CASE WHEN state = 'draft' THEN ? ELSE finished_at END, scheduled = 0"
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
        """Return when the earliest pending row is due (0 while the outbox is still being
        filled), or None when none is pending."""
        rows = await self._db.execute_fetchall(
            "SELECT CASE WHEN b.filled_to IS NOT NULL AND b.state = 'sending' THEN 0.0 ELSE"
            " (SELECT min(next_at) FROM broadcast_recipients"
            "  WHERE broadcast_id = b.id AND state = 'pending') END"
            " FROM broadcasts b WHERE b.id = ?",
            (broadcast_id,),
        )
        row = next(iter(rows), None)
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
