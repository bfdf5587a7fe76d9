"""The end-to-end harness: run the bot against the fake Bot API and act as its users."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.app import build_application
from bot.config import Settings
from tests.fake_telegram import WAIT, FakeTelegram

TOKEN = "123456:TEST-token"
ROOT = Path(__file__).resolve().parent.parent


async def start_bot_process(
    fake: FakeTelegram, database: Path, **variables: str
) -> asyncio.subprocess.Process:
    """Start `python -m bot run` against the fake, as a real deployment would run."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake.url,
        "DATABASE_PATH": str(database),
        **variables,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


@asynccontextmanager
async def running(settings: Settings, **options: Any) -> AsyncIterator[Any]:
    """Run the bot in this event loop, polling the fake, as `run_polling` would (`options`
    go to build_application, e.g. a `clock`)."""
    app = build_application(settings, **options)
    async with app:
        await app.post_init(app)
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
            await app.post_shutdown(app)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Map each button's label to its callback data (or url)."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data") or b.get("url") for row in rows for b in row}


async def reply_to(
    fake: FakeTelegram, chat_id: int, action: Callable[[], object]
) -> dict[str, Any]:
    """Do something as a user and wait for the bot's next new message in that chat."""
    before = len(fake.messages(chat_id))
    action()
    await fake.wait_for(lambda: len(fake.messages(chat_id)) > before)
    return fake.messages(chat_id)[-1]


async def query(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one read query on the bot's database file."""
    async with aiosqlite.connect(path) as db, db.execute(sql, params) as cursor:
        return [tuple(row) async for row in cursor]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = WAIT) -> None:
    """Poll an async check until it holds; fail only after `timeout` (a loaded machine is slow)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"condition not met within {timeout}s"
        await asyncio.sleep(0.02)


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` as a user would, in the test's folder, and return what it did."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


async def old_database(path: Path, before: str) -> None:
    """Create a database migrated as an older version left it: up to, not with, `before`."""
    from storage.migrations import MIGRATIONS

    names = [name for name, _ in MIGRATIONS]
    async with aiosqlite.connect(path) as conn:
        await conn.execute(
            "CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for name, sql in MIGRATIONS[: names.index(before)]:
            await conn.executescript(sql)
            await conn.execute("INSERT INTO migrations VALUES (?, 'then')", (name,))
        await conn.commit()
