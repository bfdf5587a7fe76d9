"""The audit log: every role-protected action, who and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from flows.models import ERASED_ACTOR
from storage._time import from_iso, iso

__all__ = ["AuditEntry", "AuditRepo"]


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: int
    action: str
    detail: str


class AuditRepo:
    """SQL for the audit_log table."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def record(self, actor_id: int, action: str, detail: str, now: datetime) -> None:
        """Append one entry."""
        await self._db.execute(
            "INSERT INTO audit_log (at, actor_id, action, detail) VALUES (?, ?, ?, ?)",
            (iso(now), actor_id, action, detail),
        )

    async def latest(self, limit: int = 20) -> list[AuditEntry]:
        """Return the newest entries first."""
        async with self._db.execute(
            "SELECT at, actor_id, action, detail FROM audit_log ORDER BY id DESC LIMIT ?",
            (limit,),
        ) as cursor:
            return [AuditEntry(from_iso(r[0]), r[1], r[2], r[3]) async for r in cursor]

    async def forget(self, actor_id: int) -> None:
        """Stop the entries naming an actor from naming them; what was done stays on record."""
        if actor_id > 0:  # Telegram users; never the reserved actors
            await self._db.execute(
                "UPDATE audit_log SET actor_id = ? WHERE actor_id = ?", (ERASED_ACTOR, actor_id)
            )
