"""Reading the content again while the bot runs: /reload (admins) and SIGHUP (the process)."""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from flows.content import Content
from tests.botkit import TOKEN, buttons, query, reply_to, running, start_bot_process
from tests.conftest import CONTENT_DIR
from tests.fake_telegram import WAIT, FakeTelegram

ADMIN, MEMBER = 1001, 6301
NEW = "That command is not one I know. /help lists what I can do."


@pytest.fixture
def folder(isolated: Path) -> Path:
    """A copy of the shipped content that the test may edit."""
    copy = isolated / "content"
    shutil.copytree(CONTENT_DIR, copy)
    return copy


def _texts(folder: Path) -> Path:
    return folder / "en" / "texts.yaml"


def _replace(path: Path, old: str, new: str) -> int:
    """Replace one line's text in a content file; return the line's number."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (number,) = [n for n, line in enumerate(lines, 1) if old in line]
    lines[number - 1] = lines[number - 1].replace(old, new)
    path.write_text("".join(lines), encoding="utf-8")
    return number


@pytest.fixture
def old(content: Content) -> str:
    """The shipped answer to an unknown command, which the tests change."""
    text = content.pack("en").texts.unknown_command
    assert "\n" not in text and NEW not in text
    return text


def _entries(content: Content) -> int:
    return sum(len(pack.faq) for pack in content.packs.values())


def _break(folder: Path) -> int:
    """Give the unknown-command text a placeholder nobody fills; return its line."""
    return _replace(_texts(folder), NEW, NEW + " {nobody_fills_this}")


@pytest.fixture
def reload_settings(
    fake: FakeTelegram, folder: Path, make_settings: Callable[..., Settings]
) -> Settings:
    return make_settings(
        telegram_bot_token=TOKEN,
        telegram_api_url=fake.url,
        admin_ids=str(ADMIN),
        content_dir=folder,
    )


def _shown(fake: FakeTelegram, chat_id: int, message: dict[str, Any]) -> str:
    """Return what a message of the bot says now (it may have been edited)."""
    found = [m for m in fake.messages(chat_id) if m["message_id"] == message["message_id"]]
    return str(found[0]["text"])


async def _command(fake: FakeTelegram, user: int, command: str) -> str:
    answer = await reply_to(fake, user, lambda: fake.send_command(user, command))
    return str(answer["text"])


async def test_reload_serves_changed_content_and_keeps_conversations_going(
    fake: FakeTelegram, reload_settings: Settings, folder: Path, content: Content, old: str
) -> None:
    pack = content.pack("en")
    async with running(reload_settings):
        assert await _command(fake, MEMBER, "nosuchcommand") == old
        step = await reply_to(fake, MEMBER, lambda: fake.send_command(MEMBER, "learn"))
        _replace(_texts(folder), old, NEW)
        reply = await _command(fake, ADMIN, "reload")
        loaded = f"✅ Content reloaded: en, es, pt, {_entries(content)} entries"
        assert reply.startswith(loaded), reply
        assert await _command(fake, MEMBER, "nosuchcommand") == NEW
        # A conversation begun before the reload goes on: the Next button of its old message.
        fake.press_button(MEMBER, step["message_id"], buttons(step)[pack.texts.buttons.next])
        await fake.wait_for(lambda: pack.learn[1].title in _shown(fake, MEMBER, step))
    audit = await query(reload_settings.database_path, "SELECT actor_id, action FROM audit_log")
    assert audit == [(ADMIN, "/reload")]


async def test_broken_content_is_refused_with_its_lines_and_the_bot_goes_on(
    fake: FakeTelegram, reload_settings: Settings, folder: Path, old: str
) -> None:
    async with running(reload_settings):
        _replace(_texts(folder), old, NEW)
        await _command(fake, ADMIN, "reload")
        line = _break(folder)
        shutil.rmtree(folder / "pt")
        reply = await _command(fake, ADMIN, "reload")
        assert "The content was <b>not</b> reloaded" in reply
        assert f"{_texts(folder)}:{line}: unknown_command: unknown placeholder" in reply
        assert f"{folder / 'pt' / 'texts.yaml'}:1: file is missing" in reply
        listed = reply.splitlines()[1:]  # one problem a line, after the heading
        assert f": {len(listed)} problems" in reply and len(listed) > 2
        # Still the campaign loaded before the broken one.
        assert await _command(fake, MEMBER, "nosuchcommand") == NEW


async def test_sighup_reloads_the_content_of_the_running_process(
    fake: FakeTelegram, folder: Path, isolated: Path, content: Content, old: str
) -> None:
    database = isolated / "proc.sqlite3"
    proc = await start_bot_process(fake, database, CONTENT_DIR=str(folder))
    assert proc.stderr is not None
    stderr = proc.stderr

    async def logged(marker: str) -> str:
        """Read the bot's log until a line holds `marker`; return that line."""

        async def read() -> str:
            while True:
                line = (await stderr.readline()).decode()
                assert line, "the bot exited"
                if marker in line:
                    return line

        return await asyncio.wait_for(read(), WAIT)

    try:
        # Once it answers, post_init has run and SIGHUP is handled (not the default: exit).
        assert await _command(fake, MEMBER, "nosuchcommand") == old
        _replace(_texts(folder), old, NEW)
        proc.send_signal(signal.SIGHUP)
        loaded = f"en, es, pt; {_entries(content)} knowledge entries"
        assert loaded in await logged("SIGHUP: content reloaded")
        assert await _command(fake, MEMBER, "nosuchcommand") == NEW
        line = _break(folder)
        proc.send_signal(signal.SIGHUP)
        await logged("SIGHUP: content in")
        assert f"{_texts(folder)}:{line}: unknown_command: unknown placeholder" in await logged(
            "unknown placeholder"
        )
        assert await _command(fake, MEMBER, "nosuchcommand") == NEW
    finally:
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), WAIT)
    assert proc.returncode == 0, rest.decode()
    audit = await query(database, "SELECT actor_id, action, detail FROM audit_log ORDER BY id")
    assert audit == [
        (0, "SIGHUP reload", f"loaded {loaded}"),
        (0, "SIGHUP reload", "refused: 1 problems"),
    ]
