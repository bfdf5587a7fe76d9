"""Tests for the fake Telegram Bot API server, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    MessageEntity,
    ReplyKeyboardMarkup,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from tests.fake_telegram import FakeTelegram

USER = 1001
YES = InlineKeyboardButton("Yes", callback_data="yes")
NO = InlineKeyboardButton("No", callback_data="no")
KEYBOARD = InlineKeyboardMarkup([[YES, NO]])


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """Run a fake server for one test."""
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """Return an initialized PTB bot talking to the fake."""
    async with Bot(fake.token, base_url=f"{fake.url}/bot") as client:
        yield client


def _post(url: str, fields: dict[str, object]) -> dict[str, object]:
    """POST a JSON body with the standard library and decode the answer."""
    req = urllib.request.Request(
        url, data=json.dumps(fields).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


async def test_get_me(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.first_name, me.username) == (
        4242,
        True,
        "Outreach Test",
        "OutreachTestBot",
    )
    assert bot.username == "OutreachTestBot"
    assert fake.calls[0][0] == "getMe"


async def test_wrong_token_and_unknown_method(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=f"{fake.url}/bot"):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_send_message_with_keyboard_round_trips(fake: FakeTelegram, bot: Bot) -> None:
    msg = await bot.send_message(USER, "<b>Hi</b>", parse_mode="HTML", reply_markup=KEYBOARD)
    assert msg.text == "<b>Hi</b>"
    assert msg.reply_markup == KEYBOARD
    assert msg.from_user is not None and msg.from_user.is_bot
    assert isinstance(msg.date, dtm.datetime)
    stored = fake.last_message(USER)
    assert stored is not None
    assert stored["method"] == "sendMessage"
    assert stored["parse_mode"] == "HTML"
    assert stored["reply_markup"] == KEYBOARD.to_dict()
    assert fake.deliveries[USER][0]["text"] == "<b>Hi</b>"
    assert fake.sends_ok == 1
    # Reply keyboards are stored but, as in Telegram, not echoed in the Message.
    reply = await bot.send_message(USER, "pick", reply_markup=ReplyKeyboardMarkup([["a"]]))
    assert reply.reply_markup is None
    # Numeric-looking text stays a string; flags are decoded.
    await bot.send_message(USER, "123", allow_paid_broadcast=True)
    assert fake.messages(USER)[-1]["text"] == "123"
    assert fake.messages(USER)[-1]["allow_paid_broadcast"] is True


async def test_send_validation(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(USER, "x" * 4097)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "x", reply_markup=too_long)


async def test_edit_message_text(fake: FakeTelegram, bot: Bot) -> None:
    msg = await bot.send_message(USER, "one", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("two", USER, msg.message_id, reply_markup=KEYBOARD)
    assert not isinstance(edited, bool) and edited.text == "two"
    assert edited.edit_date is not None
    stored = fake.messages(USER)
    assert len(stored) == 1
    assert stored[0]["text"] == "two" and stored[0]["reply_markup"] == KEYBOARD.to_dict()
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("two", USER, msg.message_id, reply_markup=KEYBOARD)
    # Omitting reply_markup removes the keyboard, as Telegram does.
    await bot.edit_message_text("two", USER, msg.message_id)
    assert "reply_markup" not in fake.messages(USER)[0]
    await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=KEYBOARD)
    assert fake.messages(USER)[0]["reply_markup"] == KEYBOARD.to_dict()
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", USER, 999)
    assert await bot.delete_message(USER, msg.message_id)
    assert fake.messages(USER) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, msg.message_id)


async def test_long_poll_text_command_and_callback(fake: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    mid = fake.send_text(USER, "hello", username="ana_x")
    updates = await asyncio.wait_for(poll, 2)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "hello" and message.message_id == mid
    assert message.chat.type == "private" and message.from_user is not None
    assert message.from_user.username == "ana_x"

    fake.send_command(USER, "start", "campaign42")
    fake.send_text(-100777, "/help@OutreachTestBot now", chat_type="supergroup")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in updates if u.message] == [
        "/start campaign42",
        "/help@OutreachTestBot now",
    ]
    first, second = (u.message for u in updates if u.message)
    assert first.entities == (MessageEntity("bot_command", 0, 6),)
    assert second.entities == (MessageEntity("bot_command", 0, len("/help@OutreachTestBot")),)
    assert second.chat.type == "supergroup"

    sent = await bot.send_message(USER, "Join?", reply_markup=KEYBOARD)
    query_id = fake.press_button(USER, sent.message_id, "yes")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    query = updates[0].callback_query
    assert query is not None and query.id == query_id and query.data == "yes"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.from_user.id == USER
    assert await bot.answer_callback_query(query_id, text="Thanks")
    assert fake.callback_answers[query_id]["text"] == "Thanks"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)

    # Acknowledged updates are gone; an empty poll returns after its timeout.
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert fake.pending_updates() == []


async def test_other_user_updates(fake: FakeTelegram, bot: Bot) -> None:
    mid = fake.send_text(USER, "typo")
    fake.edit_text(USER, mid, "fixed")
    fake.send_sticker(USER)
    fake.send_photo(USER, caption="look")
    fake.send_document(USER, filename="a.pdf")
    fake.block_bot(USER)
    updates = await bot.get_updates()
    assert updates[1].edited_message is not None
    assert updates[1].edited_message.text == "fixed"
    assert updates[2].message is not None and updates[2].message.sticker is not None
    photo_msg = updates[3].message
    assert photo_msg is not None and photo_msg.photo and photo_msg.caption == "look"
    assert updates[4].message is not None and updates[4].message.document is not None
    assert updates[4].message.document.file_name == "a.pdf"
    member = updates[5].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    assert USER in fake.blocked


async def test_commands(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("ayuda", "Ayuda")], language_code="es")
    await bot.set_my_commands([BotCommand("admin", "Admin")], scope=BotCommandScopeChat(7))
    assert fake.commands_for() == [{"command": "start", "description": "Start"}]
    assert fake.commands_for("default", "es")[0]["command"] == "ayuda"
    assert fake.commands_for("chat:7")[0]["command"] == "admin"
    assert (await bot.get_my_commands())[0].command == "start"
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limit(fake: FakeTelegram, bot: Bot) -> None:
    fake.rate_limit = 2
    await bot.send_message(1, "a")
    await bot.send_message(2, "b")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(3, "c")
    retry_after = caught.value.retry_after
    if isinstance(retry_after, dtm.timedelta):
        retry_after = int(retry_after.total_seconds())
    assert retry_after >= 1
    assert fake.count_429 == 1 and 3 not in fake.deliveries and fake.sends_ok == 2
    # Non-send methods are not limited.
    await bot.get_me()


async def test_chat_faults(fake: FakeTelegram, bot: Bot) -> None:
    fake.blocked.add(1)
    fake.deactivated.add(2)
    fake.migrated[-3] = -1003
    fake.not_found.add(4)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(1, "x")
    with pytest.raises(Forbidden, match=r"(?i)deactivated"):
        await bot.send_message(2, "x")
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-3, "x")
    assert migrated.value.new_chat_id == -1003
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(4, "x")
    assert fake.count_403 == 2 and fake.count_400 == 2
    assert fake.deliveries == {} and fake.sends_ok == 0


async def test_fail_5xx_then_success(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_5xx[USER] = 2
    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(USER, "x")
        assert not isinstance(caught.value, BadRequest | TimedOut)
    await bot.send_message(USER, "x")
    assert fake.count_5xx == 2 and len(fake.deliveries[USER]) == 1


async def test_random_5xx_is_seeded() -> None:
    outcomes = []
    for _ in range(2):
        async with FakeTelegram(seed=7) as server:
            server.random_5xx = 0.5
            async with Bot(server.token, base_url=f"{server.url}/bot") as client:
                run = []
                for i in range(10):
                    try:
                        await client.send_message(i + 1, "x")
                        run.append(True)
                    except NetworkError:
                        run.append(False)
                outcomes.append(run)
    assert outcomes[0] == outcomes[1] and True in outcomes[0] and False in outcomes[0]


async def test_lose_answer_delivers_but_times_out(fake: FakeTelegram, bot: Bot) -> None:
    fake.lose_answer[USER] = 1
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "x", read_timeout=0.3)
    assert len(fake.deliveries[USER]) == 1
    await bot.send_message(USER, "y")
    assert [d["text"] for d in fake.deliveries[USER]] == ["x", "y"]


async def test_send_document_stores_file(fake: FakeTelegram, bot: Bot) -> None:
    msg = await bot.send_document(USER, InputFile(b"a,b\n1,2\n", filename="report.csv"))
    assert msg.document is not None and msg.document.file_name == "report.csv"
    docs = fake.documents(USER)
    assert docs[0]["filename"] == "report.csv" and docs[0]["data"] == b"a,b\n1,2\n"
    assert fake.calls[-1][0] == "sendDocument"
    # Resending by file_id keeps the name and bytes.
    await bot.send_document(USER + 1, msg.document.file_id, caption="again")
    again = fake.documents(USER + 1)[0]
    assert (again["filename"], again["data"], again["caption"]) == (
        "report.csv",
        b"a,b\n1,2\n",
        "again",
    )
    photo = await bot.send_photo(USER, b"\x89PNG fake", caption="pic")
    assert photo.photo and photo.caption == "pic"


async def test_copy_message_of_user_photo(fake: FakeTelegram, bot: Bot) -> None:
    mid = fake.send_photo(USER, caption="from the field")
    copied = await bot.copy_message(chat_id=2002, from_chat_id=USER, message_id=mid)
    delivery = fake.deliveries[2002][0]
    assert delivery["message_id"] == copied.message_id
    assert delivery["method"] == "copyMessage" and delivery["caption"] == "from the field"
    assert delivery["photo"][-1]["width"] == 800
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(chat_id=2002, from_chat_id=USER, message_id=999)
    text_mid = fake.send_text(USER, "plain")
    await bot.copy_message(chat_id=2002, from_chat_id=USER, message_id=text_mid, caption="x")
    assert fake.messages(2002)[-1]["text"] == "plain"
    assert "caption" not in fake.messages(2002)[-1]


async def test_wait_for_helpers(fake: FakeTelegram, bot: Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(USER, "first")
        await bot.send_message(USER, "welcome aboard")

    task = asyncio.create_task(later())
    found = await fake.wait_for_message(USER, contains="welcome", timeout=2)
    assert found["text"] == "welcome aboard"
    assert (await fake.wait_for_message(USER, count=1))["text"] == "first"
    await task
    with pytest.raises(AssertionError, match=r"(?i)sendMessage"):
        await fake.wait_for(lambda: fake.last_message(999)["text"], timeout=0.05)  # type: ignore[index]


def test_run_in_thread_serves_sync_clients() -> None:
    with FakeTelegram.run_in_thread(token="1:T") as fake:
        base = f"{fake.url}/bot1:T"
        assert _post(f"{base}/getMe", {})["result"]["username"] == "OutreachTestBot"  # type: ignore[index]
        fake.send_text(5, "hi")
        answer = _post(f"{base}/getUpdates", {"timeout": 2})
        assert answer["result"][0]["message"]["text"] == "hi"  # type: ignore[index]
        _post(f"{base}/sendMessage", {"chat_id": 5, "text": "yo"})
        assert fake.last_message(5)["text"] == "yo"  # type: ignore[index]


def test_cli_prints_url_and_serves() -> None:
    root = Path(__file__).resolve().parent.parent
    with subprocess.Popen(
        [sys.executable, "-m", "tests.fake_telegram", "--port", "0", "--blocked", "9"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            me = _post(f"{url}/bot123456:TEST-token/getMe", {})
            assert me["result"]["id"] == 4242  # type: ignore[index]
            with pytest.raises(urllib.error.HTTPError) as caught:
                _post(f"{url}/bot123456:TEST-token/sendMessage", {"chat_id": 9, "text": "x"})
            assert caught.value.code == 403
            caught.value.close()
        finally:
            proc.terminate()
        assert proc.wait(5) == 0
