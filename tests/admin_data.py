"""Seed subscribers and funnel steps through the storage layer, at moments the test picks."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows.models import Funnel, Status
from storage import Database

VERSION = "2026-11-en-1"


async def add_subscriber(
    db: Database,
    user_id: int,
    at: datetime,
    *,
    status: Status = Status.ACTIVE,
    source: str | None = None,
    first_name: str | None = None,
    username: str | None = None,
    lang: str = "en",
    method: str = "command",
) -> None:
    """Add a user who opted in at `at`, then maybe left (an hour later)."""
    await db.users.ensure(user_id, lang=lang, now=at, first_name=first_name, username=username)
    if source is not None:
        await db.users.set_source(user_id, source)
    await db.subscriptions.subscribe(user_id, method=method, consent_version=VERSION, now=at)
    if status is not Status.ACTIVE:
        await db.subscriptions.set_status(
            user_id, status, method="text:stop", now=at + timedelta(hours=1)
        )


async def add_visitor(db: Database, user_id: int, at: datetime, steps: list[Funnel]) -> None:
    """Add a user who reached `steps`, all at `at`."""
    await db.users.ensure(user_id, lang="en", now=at)
    for step in steps:
        await db.funnel.record(user_id, step, at)


async def add_subscribers(db: Database, count: int, newest: datetime, first_id: int = 1) -> None:
    """Add `count` active subscribers, one a minute back from `newest` (ids ascending)."""
    for n in range(count):
        await add_subscriber(db, first_id + n, newest - timedelta(minutes=count - 1 - n))
    await db.commit()
