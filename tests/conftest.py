"""Shared fixtures: isolated env and files, the shipped content, a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.service import Outreach
from flows.content import Content
from flows.faq import FaqIndex
from storage import Database, open_database
from storage.content import load_content
from storage.fitted import FileStore
from tests.botkit import TOKEN
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"
ENV_VARS = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_PATH",
    "CONTENT_DIR",
    "ADMIN_IDS",
    "ORGANIZER_IDS",
    "BROADCAST_RATE",
    "BROADCAST_PAID",
    "DEFAULT_LANGUAGE",
    "STORE_NAMES",
    "LOG_LEVEL",
    "LOG_PRIVATE_DATA",
    "QUESTION_RETENTION_DAYS",
    "INACTIVE_USER_DAYS",
    "WEBHOOK_URL",
    "WEBHOOK_LISTEN",
    "WEBHOOK_PORT",
    "WEBHOOK_SECRET",
)


@pytest.fixture(scope="session")
def fit_cache(tmp_path_factory: pytest.TempPathFactory, content: Content) -> Path:
    """One folder of fitted FAQ classifiers for the session's bots (storage/fitted.py).

    The shipped campaign is fitted into it here, once: a bot process a test starts then
    reads the fits back instead of spending its first seconds (a minute on a loaded
    machine) fitting while the test waits for it.
    """
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        store = FileStore()
        for lang in content.packs:
            FaqIndex.from_content(content, lang, store)
    return folder


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fit_cache: Path) -> Path:
    """Run each test in its own folder with none of the developer's variables or .env."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    # Fitted classifiers go to the session's folder, not the developer's ~/.cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(fit_cache))
    return tmp_path


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(CONTENT_DIR)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        overrides.setdefault("database_path", tmp_path / "bot.sqlite3")
        return load_settings(**overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(admin_ids="1001", organizer_ids="2002")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outreach(settings: Settings, content: Content, db: Database, clock: Clock) -> Outreach:
    return Outreach(settings, content, db, clock=clock)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server on 127.0.0.1 for this test."""
    server = FakeTelegram(TOKEN)
    await server.start()
    yield server
    await server.stop()
