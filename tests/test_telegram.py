"""End to end: the real python-telegram-bot client against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.config import Settings
from tests.botkit import TOKEN, buttons, eventually, reply_to, running, start_bot_process
from tests.fake_telegram import FakeTelegram

USER = 5551


@pytest.fixture
def bot_settings(fake: FakeTelegram, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        telegram_bot_token=TOKEN, telegram_api_url=fake.url, admin_ids="1001", log_level="DEBUG"
    )


async def edited(fake: FakeTelegram, message: dict[str, Any], data: str) -> dict[str, Any]:
    """Press a button and wait until the bot edits that message."""
    calls = len(fake.calls)
    fake.press_button(USER, message["message_id"], data)
    await fake.wait_for(lambda: any(name == "editMessageText" for name, _ in fake.calls[calls:]))
    return next(m for m in fake.messages(USER) if m["message_id"] == message["message_id"])


async def test_a_whole_visit_survives_a_restart(
    fake: FakeTelegram, bot_settings: Settings
) -> None:
    async with running(bot_settings):
        await fake.wait_for(lambda: fake.commands)
        welcome = await reply_to(
            fake, USER, lambda: fake.send_command(USER, "start", "flyer-dorchester")
        )
        assert "S-Comm" in welcome["text"] and welcome["parse_mode"] == "HTML"
        step = await edited(fake, welcome, buttons(welcome)["📖 What is S-Comm?"])
        assert "(1/6)" in step["text"]
        for n in range(2, 7):
            step = await edited(fake, step, buttons(step)["Next ▶"])
            assert f"({n}/6)" in step["text"]
        step = await edited(fake, step, buttons(step)["◀ Back"])
        assert "(5/6)" in step["text"]
        assert len(fake.callback_answers) == 7  # every press answered: no endless spinner
        act = await reply_to(fake, USER, lambda: fake.send_command(USER, "act"))
        assert buttons(act)["🌐 Contact form"].startswith("https://www.mass.gov/")
        call = await reply_to(
            fake, USER, lambda: fake.press_button(USER, act["message_id"], "act:call")
        )
        assert "(617) 725-4005" in call["text"]
        done = await reply_to(
            fake, USER, lambda: fake.press_button(USER, call["message_id"], "act:done")
        )
        subscribed = await reply_to(
            fake,
            USER,
            lambda: fake.press_button(USER, done["message_id"], buttons(done)["🔔 Get updates"]),
        )
        assert "You are subscribed" in subscribed["text"]
    old_step = step

    # A new process-worth of application on the same database finds everything.
    async with running(bot_settings):
        mydata = await reply_to(fake, USER, lambda: fake.send_command(USER, "mydata"))
        assert "Came from: flyer-dorchester" in mydata["text"]
        assert "Updates: subscribed" in mydata["text"]
        again = await edited(fake, old_step, "learn:5")  # a button from before the restart
        assert "(6/6)" in again["text"]
        stale = await reply_to(
            fake, USER, lambda: fake.press_button(USER, old_step["message_id"], "learn:42")
        )
        assert "older message" in stale["text"]

    async with (
        aiosqlite.connect(bot_settings.database_path) as db,
        db.execute("SELECT step FROM funnel_events WHERE user_id = ?", (USER,)) as c,
    ):
        steps = {row[0] async for row in c}
    assert steps == {"started", "learned", "acted", "subscribed"}
    named = [c for c in fake.commands.values()]
    assert any(any(cmd["command"] == "learn" for cmd in cmds) for cmds in named)


async def test_odd_input_gets_a_friendly_answer(
    fake: FakeTelegram, bot_settings: Settings
) -> None:
    async with running(bot_settings):
        sticker = await reply_to(fake, USER, lambda: fake.send_sticker(USER))
        assert "only read text" in sticker["text"]
        photo = await reply_to(fake, USER, lambda: fake.send_photo(USER, caption="look"))
        assert "only read text" in photo["text"]
        sent = fake.send_text(USER, "hello there")
        await fake.wait_for(lambda: len(fake.messages(USER)) >= 3)
        edit = await reply_to(fake, USER, lambda: fake.edit_text(USER, sent, "hello again"))
        assert "edited" in edit["text"]
        long = await reply_to(fake, USER, lambda: fake.send_text(USER, "why " * 1000))
        assert "long message" in long["text"]
        unknown = await reply_to(fake, USER, lambda: fake.send_command(USER, "optins"))
        assert "don't know that command" in unknown["text"]
        forged = await reply_to(
            fake, USER, lambda: fake.press_button(USER, unknown["message_id"], "x" * 64)
        )
        assert "older message" in forged["text"]
        group = await reply_to(
            fake, -100, lambda: fake.send_command(USER, "start", chat_id=-100, chat_type="group")
        )
        assert "private" in group["text"] and "t.me/OutreachTestBot" in group["text"]
    async with (
        aiosqlite.connect(bot_settings.database_path) as db,
        db.execute("SELECT count(*) FROM users WHERE user_id < 0") as c,
    ):
        assert (await c.fetchone())[0] == 0


async def test_telegram_failures_lose_nothing(fake: FakeTelegram, bot_settings: Settings) -> None:
    async with running(bot_settings):
        fake.fail_5xx[USER] = 2  # the reply fails twice
        fake.send_command(USER, "subscribe")
        await fake.wait_for(lambda: fake.count_5xx >= 2)
        # The reply is sent again until Telegram takes it, and the subscription was recorded.
        await fake.wait_for_message(USER, "You are subscribed")
        mydata = await reply_to(fake, USER, lambda: fake.send_command(USER, "mydata"))
        assert "Updates: subscribed" in mydata["text"]
        fake.retry_after = 1
        fake.rate_limit = 1  # two quick replies: the second gets a 429, waits, and arrives
        before = len(fake.messages(USER))
        fake.send_command(USER, "menu")
        fake.send_command(USER, "help")
        await fake.wait_for(lambda: len(fake.messages(USER)) >= before + 2)
        assert fake.count_429 >= 1
        assert "How to use this bot" in fake.messages(USER)[-1]["text"]


async def test_deleteme_erases_the_user_down_to_the_files(
    fake: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(telegram_bot_token=TOKEN, telegram_api_url=fake.url, store_names=True)
    files = [settings.database_path, settings.database_path.with_name("bot.sqlite3-wal")]
    secrets = (b"Zebulonia", b"flyer-pelican-street")
    async with running(settings):
        start = lambda: fake.send_command(  # noqa: E731
            USER, "start", "flyer-pelican-street", first_name="Zebulonia"
        )
        await reply_to(fake, USER, start)
        await reply_to(fake, USER, lambda: fake.send_command(USER, "subscribe"))
        data = b"".join(path.read_bytes() for path in files if path.exists())
        assert all(secret in data for secret in secrets)  # kept while they are a user
        prompt = await reply_to(fake, USER, lambda: fake.send_command(USER, "deleteme"))
        done = await edited(fake, prompt, buttons(prompt)["🗑 Erase my data"])
        assert "erased" in done["text"]
        # While the bot still runs: gone from the tables, the database file and its WAL.
        data = b"".join(path.read_bytes() for path in files if path.exists())
        for secret in secrets:
            assert secret not in data, secret
    async with aiosqlite.connect(settings.database_path) as db:
        for table in ("users", "subscriptions", "funnel_events", "conversations"):
            async with db.execute(f"SELECT count(*) FROM {table} WHERE user_id = ?", (USER,)) as c:
                assert (await c.fetchone())[0] == 0, table


async def test_the_bot_process_stops_cleanly_and_resumes(
    fake: FakeTelegram, isolated: Path
) -> None:
    async def start(**variables: str) -> asyncio.subprocess.Process:
        return await start_bot_process(fake, isolated / "proc.sqlite3", **variables)

    # Even the most talkative logs, private data allowed, must not show the token.
    proc = await start(LOG_LEVEL="DEBUG", LOG_PRIVATE_DATA="true")
    try:
        await reply_to(fake, USER, lambda: fake.send_command(USER, "subscribe"))
        learn = await reply_to(fake, USER, lambda: fake.send_command(USER, "learn"))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert TOKEN not in err.decode() and "TEST-token" not in err.decode()
    assert "getUpdates" in err.decode()  # the logs were really that talkative
    assert "LOG_PRIVATE_DATA is on" in err.decode()
    assert "contact 'hotline' in campaign.yaml is not verified yet" in err.decode()
    # At DEBUG without LOG_PRIVATE_DATA: nothing a person typed, nor their name or id.
    proc = await start(LOG_LEVEL="DEBUG")
    try:
        mydata = await reply_to(fake, USER, lambda: fake.send_command(USER, "mydata"))
        assert "Updates: subscribed" in mydata["text"]
        step = await edited(fake, learn, "learn:1")
        assert "(2/6)" in step["text"]
        question = "does the pelican committee meet on tuesdays"
        await reply_to(fake, USER, lambda: fake.send_text(USER, question, first_name="Zebulon"))
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    logs = err.decode()
    assert "DEBUG" in logs or "INFO" in logs
    for private in ("pelican", "Zebulon", str(USER), TOKEN):
        assert private not in logs, private


async def test_a_user_who_blocks_the_bot_is_no_longer_a_subscriber(
    fake: FakeTelegram, bot_settings: Settings
) -> None:
    async with running(bot_settings) as app:
        await reply_to(fake, USER, lambda: fake.send_command(USER, "subscribe"))
        fake.block_bot(USER)
        outreach = app.bot_data.outreach  # the service, while the bot runs

        async def status() -> str | None:
            profile = await outreach.db.users.profile(USER)
            return profile.status.value if profile else None

        async def blocked() -> bool:
            return await status() == "blocked"

        await eventually(blocked)


async def test_a_wrong_token_is_named_but_never_shown(fake: FakeTelegram, isolated: Path) -> None:
    wrong = "999999:WRONG-token-abcdefghijklmnop"
    proc = await start_bot_process(
        fake, isolated / "wrong.sqlite3", TELEGRAM_BOT_TOKEN=wrong, LOG_LEVEL="DEBUG"
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert "TELEGRAM_BOT_TOKEN" in err.decode()
    assert "WRONG-token" not in err.decode()


async def test_staff_see_their_commands_in_the_menu_and_nobody_else_does(
    fake: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        telegram_bot_token=TOKEN,
        telegram_api_url=fake.url,
        admin_ids="1001",
        organizer_ids="2002",
    )
    async with running(settings):
        await fake.wait_for(lambda: ("chat:2002", "") in fake.commands)

    def names(scope: str, lang: str = "") -> set[str]:
        return {c["command"] for c in fake.commands[(scope, lang)]}

    staff_only = {"broadcast", "broadcasts", "optins", "export", "stats", "unanswered", "audit"}
    assert not names("default") & staff_only
    assert not names("default", "es") & staff_only
    assert {"broadcast", "optins", "audit", "learn"} <= names("chat:1001")
    assert "broadcast" in names("chat:2002") and not {"optins", "export"} & names("chat:2002")
