"""Admin commands end to end: the real client against the fake Bot API, roles checked each time."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite
import pytest

from bot.config import Settings
from flows.admin import CSV_COLUMNS
from storage import open_database
from tests.admin_data import add_subscriber, add_subscribers
from tests.botkit import TOKEN, buttons, reply_to, running
from tests.fake_telegram import FakeTelegram

ADMIN, ORGANIZER, STRANGER = 1001, 2002, 5551
COMMANDS = (
    "optins", "optins 2", "optins x", "export", "stats", "unanswered", "audit", "reload",
)  # fmt: skip
HOSTILE = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def admin_settings(fake: FakeTelegram, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        telegram_bot_token=TOKEN,
        telegram_api_url=fake.url,
        admin_ids=str(ADMIN),
        organizer_ids=str(ORGANIZER),
        store_names=True,
    )


async def _seed(settings: Settings, count: int = 25) -> None:
    db = await open_database(settings.database_path)
    try:
        now = datetime.now(UTC)
        await add_subscribers(db, count, now - timedelta(hours=1), first_id=100)
        await add_subscriber(db, 99, now - timedelta(days=3), first_name=HOSTILE, source="@SUM")
        await add_subscriber(db, 98, now - timedelta(days=4), first_name="José Ñúñez 李")
        for _ in range(2):
            await db.questions.record_unanswered("is the hotline free", "en", now)
        await db.questions.record_unanswered("old question", "en", now - timedelta(days=100))
        await db.commit()
    finally:
        await db.close()


async def _audit_rows(settings: Settings) -> list[tuple[int, str, str]]:
    async with (
        aiosqlite.connect(settings.database_path) as db,
        db.execute("SELECT actor_id, action, detail FROM audit_log ORDER BY id") as cursor,
    ):
        return [(row[0], row[1], row[2]) async for row in cursor]


def _seen(message: dict[str, Any]) -> tuple[str, Any]:
    return message["text"], message.get("reply_markup")


async def _answer(fake: FakeTelegram, user: int, command: str) -> dict[str, Any]:
    name, _, arg = command.partition(" ")
    return await reply_to(fake, user, lambda: fake.send_command(user, name, arg))


async def _press(fake: FakeTelegram, user: int, message: dict[str, Any], data: str) -> Any:
    return await reply_to(fake, user, lambda: fake.press_button(user, message["message_id"], data))


async def _edited(fake: FakeTelegram, message: dict[str, Any], data: str) -> dict[str, Any]:
    """Press a button as the admin and wait until the bot edits that message."""
    calls = len(fake.calls)
    fake.press_button(ADMIN, message["message_id"], data)
    await fake.wait_for(lambda: any(name == "editMessageText" for name, _ in fake.calls[calls:]))
    return next(m for m in fake.messages(ADMIN) if m["message_id"] == message["message_id"])


@pytest.mark.parametrize("user", [STRANGER, ORGANIZER], ids=["stranger", "organizer"])
async def test_others_get_the_unknown_command_answer(
    fake: FakeTelegram, admin_settings: Settings, user: int
) -> None:
    await _seed(admin_settings)
    async with running(admin_settings):
        unknown = _seen(await _answer(fake, user, "nosuchcommand"))
        for command in COMMANDS:
            assert _seen(await _answer(fake, user, command)) == unknown, command
        message = fake.last_message(user)
        assert message is not None
        stale = _seen(await _press(fake, user, message, "nosuchbutton:2"))
        for data in ("optins:2", "optins:1", "optins:x"):
            assert _seen(await _press(fake, user, message, data)) == stale, data
    assert fake.documents(user) == []
    assert not any(name in ("sendDocument", "sendPhoto") for name, _ in fake.calls)
    assert await _audit_rows(admin_settings) == []


async def test_an_admin_pages_through_the_list(
    fake: FakeTelegram, admin_settings: Settings
) -> None:
    await _seed(admin_settings, count=39)  # 41 in all: pages of 20, 20 and 1
    async with running(admin_settings):
        first = await _answer(fake, ADMIN, "optins")
        assert "page 1 of 3" in first["text"] and "41 in all: 41 subscribed" in first["text"]
        assert "<code>138</code>" in first["text"].split("\n")[3]  # newest first
        assert "José Ñúñez 李" not in first["text"]
        assert buttons(first) == {"Next ▶": "optins:2"}
        second = await _edited(fake, first, "optins:2")
        assert "page 2 of 3" in second["text"]
        assert buttons(second) == {"◀ Previous": "optins:1", "Next ▶": "optins:3"}
        last = await _answer(fake, ADMIN, "optins 3")
        assert "page 3 of 3" in last["text"] and "José Ñúñez 李" in last["text"]
        assert buttons(last) == {"◀ Previous": "optins:2"}
        beyond = await _answer(fake, ADMIN, "optins 40")
        assert "only 3 pages" in beyond["text"] and "page 3 of 3" in beyond["text"]
        bad = await _answer(fake, ADMIN, "optins two")
        assert bad["text"] == "Please give a page number, for example /optins 2."
        forged = await _edited(fake, bad, "optins:-7")
        assert "page 1 of 3" in forged["text"]
    actions = [action for _, action, _ in await _audit_rows(admin_settings)]
    assert actions == ["/optins", "optins:2", "/optins", "/optins", "/optins", "optins:-7"]


async def test_an_empty_list_says_so(fake: FakeTelegram, admin_settings: Settings) -> None:
    async with running(admin_settings):
        empty = await _answer(fake, ADMIN, "optins")
        assert empty["text"] == "Nobody has opted in yet." and buttons(empty) == {}


async def test_an_admin_exports_a_safe_csv(fake: FakeTelegram, admin_settings: Settings) -> None:
    await _seed(admin_settings)
    async with running(admin_settings):
        fake.send_command(ADMIN, "export")
        await fake.wait_for(lambda: fake.documents(ADMIN))
    document = fake.documents(ADMIN)[0]
    assert document["filename"].startswith("optins-") and document["filename"].endswith(".csv")
    assert "27 rows" in document["caption"] and "keep it private" in document["caption"]
    rows = list(csv.reader(io.StringIO(document["data"].decode("utf-8"), newline="")))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 28
    by_id = {row[0]: dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}
    assert by_id["99"]["first_name"] == "'" + HOSTILE and by_id["99"]["source"] == "'@SUM"
    assert by_id["98"]["first_name"] == "José Ñúñez 李"
    assert datetime.fromisoformat(by_id["98"]["consent_at"]) < datetime.now(UTC)
    assert await _audit_rows(admin_settings) == [(ADMIN, "/export", "")]


async def test_an_admin_sees_stats_questions_and_the_audit(
    fake: FakeTelegram, admin_settings: Settings
) -> None:
    await _seed(admin_settings)
    async with running(admin_settings):
        fake.send_command(ADMIN, "stats")
        await fake.wait_for(lambda: any(m.get("photo") for m in fake.messages(ADMIN)))
        stats, chart = fake.messages(ADMIN)[-2:]
        assert "Subscribers: 27 subscribed, 0 unsubscribed, 0 blocked" in stats["text"]
        assert "New opt-ins: 27 in the last 7 days" in stats["text"]
        assert chart["method"] == "sendPhoto" and "New opt-ins per day" in chart["caption"]
        (photo,) = [params["photo"] for name, params in fake.calls if name == "sendPhoto"]
        assert photo["data"].startswith(b"\x89PNG\r\n\x1a\n") and len(photo["data"]) > 10_000
        unanswered = await _answer(fake, ADMIN, "unanswered")
        assert "2× <i>is the hotline free</i>" in unanswered["text"]
        assert "old question" not in unanswered["text"]
        audit = await _answer(fake, ADMIN, "audit other")
        lines = audit["text"].splitlines()
        assert "/audit other" in lines[1] and "/stats" in lines[3]
        assert all(f"<code>{ADMIN}</code>" in line for line in lines[1:])
    async with (
        aiosqlite.connect(admin_settings.database_path) as db,
        db.execute("SELECT count(*) FROM unanswered_questions") as cursor,
    ):
        left = await cursor.fetchone()
    assert left is not None and left[0] == 2  # /unanswered pruned the 100-day-old one
    rows = await _audit_rows(admin_settings)
    assert [action for _, action, _ in rows] == ["/stats", "/unanswered", "/audit"]


async def test_a_revoked_admin_loses_access_even_on_old_buttons(
    fake: FakeTelegram, admin_settings: Settings, make_settings: Callable[..., Settings]
) -> None:
    await _seed(admin_settings)
    async with running(admin_settings):
        page = await _answer(fake, ADMIN, "optins")
    assert buttons(page) == {"Next ▶": "optins:2"}
    revoked = make_settings(
        telegram_bot_token=TOKEN, telegram_api_url=fake.url, organizer_ids=str(ADMIN)
    )
    async with running(revoked):
        stale = _seen(await _press(fake, ADMIN, page, "nosuchbutton"))
        assert _seen(await _press(fake, ADMIN, page, "optins:2")) == stale
        unknown = _seen(await _answer(fake, ADMIN, "nosuchcommand"))
        assert _seen(await _answer(fake, ADMIN, "export")) == unknown
    assert [action for _, action, _ in await _audit_rows(admin_settings)] == ["/optins"]
    assert fake.documents(ADMIN) == []
