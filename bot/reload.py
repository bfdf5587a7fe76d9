"""Reading the content folder again while the bot runs: `/reload` (admins) and SIGHUP.

The new campaign is loaded, validated and prepared (knowledge indexes, listener) off the
event loop; only then does it replace the running one, for the service and the broadcast
sender in one step, so an update sees either the old campaign or the new one, never a mix.
Invalid content changes nothing: the loader's `file:line: reason` lines say why.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from telegram import Bot
from telegram.error import TelegramError

from bot.context import BotApp, Deps
from bot.menus import set_menus
from bot.service import Prepared, prepare
from flows.content import Content, ContentError
from flows.models import COMMAND_LINE_ACTOR
from storage.content import load_content

__all__ = ["describe", "reload_content", "unwatch_hangup", "watch_hangup"]

logger = logging.getLogger(__name__)


async def reload_content(deps: Deps, bot: Bot) -> Content:
    """Load the content folder again and serve it; on ContentError keep the running one."""
    running = deps.running
    if running is None:
        raise RuntimeError("the bot is not running")
    async with deps.reloading:
        prepared = await asyncio.to_thread(_load, running.outreach.settings.content_dir)
        running.use(prepared)
    for warning in prepared.content.warnings:
        logger.warning("%s", warning)
    try:
        await set_menus(bot, running.outreach, deps.db_lock)
    except TelegramError as exc:  # the content is in use; only the menus are behind
        logger.warning("content reloaded, but the command menus were not updated: %s", exc)
    return prepared.content


def _load(folder: Path) -> Prepared:
    return prepare(load_content(folder))


def describe(content: Content) -> str:
    """Say what a campaign holds, for logs: its languages and knowledge entries."""
    entries = sum(len(pack.faq) for pack in content.packs.values())
    return f"{', '.join(content.languages)}; {entries} knowledge entries"


def watch_hangup(app: BotApp) -> None:
    """Reload the content on SIGHUP, as `/reload` does, until `unwatch_hangup`."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: app.create_task(_on_hangup(app)))


def unwatch_hangup() -> None:
    """Stop reloading on SIGHUP."""
    asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


async def _on_hangup(app: BotApp) -> None:
    """Reload; log what was loaded or why not, and record it in the audit log."""
    deps = app.bot_data
    if deps.running is None:  # stopping
        return
    folder = deps.running.outreach.settings.content_dir
    try:
        content = await reload_content(deps, app.bot)
    except ContentError as exc:
        logger.error(
            "SIGHUP: content in %s not reloaded, %d problems; still serving the campaign "
            "loaded before:\n%s",
            folder,
            len(exc.problems),
            "\n".join(exc.problems),
        )
        detail = f"refused: {len(exc.problems)} problems"
    except Exception:
        logger.exception("SIGHUP: content not reloaded")
        return
    else:
        logger.info("SIGHUP: content reloaded from %s (%s)", folder, describe(content))
        detail = f"loaded {describe(content)}"
    running = deps.running
    if running is None:
        return
    async with deps.db_lock:
        db, now = running.outreach.db, running.outreach.clock()
        # Actor 0: no Telegram account; whoever may signal the process on this machine.
        await db.audit.record(COMMAND_LINE_ACTOR, "SIGHUP reload", detail, now)
        await db.commit()
