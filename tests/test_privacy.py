"""What is kept, for how long, and what people are told about it."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import aiosqlite

from bot.config import Settings
from bot.service import Outreach, Who
from flows.content import Content
from flows.models import Command, Press, Text
from storage import Database, open_database
from tests.botkit import eventually, old_database, run_cli
from tests.conftest import Clock

ANA, BEN, CARLA = Who(71, "en"), Who(72, "en"), Who(73, "es")
DECLINED = "will it snow on the weekend"


async def _rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    async with db.connection.execute(sql) as cursor:
        return [tuple(row) async for row in cursor]


async def test_kept_questions_carry_the_day_not_the_time(outreach: Outreach) -> None:
    await outreach.handle(ANA, Text(text=DECLINED))
    assert await _rows(outreach.db, "SELECT asked_on FROM unanswered_questions") == [
        ("2026-11-28",)
    ]


async def test_retention_purges_old_questions_and_forgets_silent_people(
    make_settings: Callable[..., Settings], content: Content, db: Database, clock: Clock
) -> None:
    settings = make_settings(question_retention_days="30", inactive_user_days="60")
    outreach = Outreach(settings, content, db, clock=clock)
    await outreach.handle(ANA, Text(text=DECLINED))  # never subscribes
    await outreach.handle(BEN, Command(name="subscribe"))
    await outreach.handle(CARLA, Command(name="start"))
    clock.now += timedelta(days=30)
    await outreach.handle(CARLA, Text(text="y si llueve mañana"))  # still talking
    await outreach.tidy()
    assert len(await _rows(db, "SELECT * FROM unanswered_questions")) == 2  # 30 days: kept
    clock.now += timedelta(days=1)
    await outreach.tidy()
    assert len(await _rows(db, "SELECT * FROM unanswered_questions")) == 1
    assert {r[0] for r in await _rows(db, "SELECT user_id FROM users")} == {71, 72, 73}
    clock.now += timedelta(days=30)  # Ana silent 61 days, Carla 31, Ben subscribed
    await outreach.tidy()
    assert {r[0] for r in await _rows(db, "SELECT user_id FROM users")} == {72, 73}
    assert await _rows(db, "SELECT count(*) FROM funnel_events WHERE user_id = 71") == [(0,)]


async def test_housekeeping_runs_again_and_again(
    make_settings: Callable[..., Settings], content: Content, db: Database, clock: Clock
) -> None:
    outreach = Outreach(make_settings(), content, db, clock=clock)
    task = asyncio.create_task(outreach.housekeeping(every=0.01))
    try:
        await outreach.handle(ANA, Text(text=DECLINED))
        clock.now += timedelta(days=91)

        async def forgotten() -> bool:
            return not await _rows(db, "SELECT * FROM users")

        await eventually(forgotten)
        assert await _rows(db, "SELECT * FROM unanswered_questions") == []
    finally:
        task.cancel()


async def test_an_old_database_keeps_its_questions_by_day(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    await old_database(path, before="m006_question_days")
    async with aiosqlite.connect(path) as old:
        await old.execute(
            "INSERT INTO unanswered_questions (lang, question, asked_at)"
            " VALUES ('en', 'old one', '2026-10-01T13:14:15Z')"
        )
        await old.commit()
    db = await open_database(path)
    try:
        assert await _rows(db, "SELECT question, asked_on FROM unanswered_questions") == [
            ("old one", "2026-10-01")
        ]
    finally:
        await db.close()


async def test_mydata_shows_everything_kept(outreach: Outreach, clock: Clock) -> None:
    await outreach.handle(ANA, Command(name="start", arg="flyer-dorchester"))
    await outreach.handle(ANA, Command(name="subscribe"))
    clock.now += timedelta(days=2)
    await outreach.handle(ANA, Text(text="stop"))
    [reply] = await outreach.handle(ANA, Press(data="mydata"))
    for shown in (
        "Telegram id: 71",
        "Came from: flyer-dorchester",
        "Last message: 2026-11-30",
        "Steps taken: started 2026-11-28, subscribed 2026-11-28",
        "Updates: unsubscribed",
        "Consent: 2026-11-28 12:00 UTC, by the /subscribe or /unsubscribe command",
        "Stopped: 2026-11-30 12:00 UTC, by sending STOP",
        "Campaign updates sent to you: 0",
    ):
        assert shown in reply.text, shown


def test_privacy_text_names_telegram_the_export_and_the_retention(content: Content) -> None:
    for lang in content.languages:
        privacy = content.pack(lang).texts.privacy
        assert "Telegram" in privacy and "{question_days}" in privacy, lang
        assert "{inactive_days}" in privacy and "/mydata" in privacy, lang
    english = content.pack("en").texts.privacy
    assert "export" in english and "shares nothing" not in english


def test_no_text_calls_the_contacts_verified(content: Content) -> None:
    for lang in content.languages:
        pack = content.pack(lang)
        texts = [pack.texts.model_dump_json(), pack.act.model_dump_json()]
        texts += [entry.answer for entry in pack.faq]
        for text in texts:
            assert "own public pages" not in text and "páginas públicas" not in text, lang


def _cli(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, stdin="/quit\n", env={"DATABASE_PATH": str(database)})


async def test_the_terminal_chat_purges_expired_questions_at_start(tmp_path: Path) -> None:
    path = tmp_path / "shell.sqlite3"
    db = await open_database(path)
    await db.connection.execute(
        "INSERT INTO unanswered_questions (lang, question, asked_on)"
        " VALUES ('en', 'ancient', '2020-01-01'), ('en', 'recent', '2999-01-01')"
    )
    await db.commit()
    await db.close()
    result = _cli("shell", database=path)
    assert result.returncode == 0, result.stderr
    async with (
        aiosqlite.connect(path) as check,
        check.execute("SELECT question FROM unanswered_questions") as cursor,
    ):
        assert [row[0] async for row in cursor] == ["recent"]


def test_content_check_warns_of_every_unverified_contact(tmp_path: Path) -> None:
    result = _cli("content", "check", database=tmp_path / "x.sqlite3")
    assert result.returncode == 0
    warned = [line for line in result.stdout.splitlines() if "is not verified" in line]
    assert {line.split("'")[1] for line in warned} >= {"hotline", "governor_phone", "aclu"}
    assert all("campaign.yaml:" in line for line in warned)
