"""Telegram's command menus: the public commands in each offered language, and for each
organizer and admin their own. Set at start-up and again when the content is reloaded."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.service import Outreach
from flows.content import STAFF_COMMANDS
from flows.models import Role

__all__ = ["set_menus"]

logger = logging.getLogger(__name__)


async def set_menus(bot: Bot, outreach: Outreach, lock: asyncio.Lock | None = None) -> None:
    """Show everyone the public commands, and staff their own; `lock` guards the database."""
    await _register_commands(bot, outreach)
    await _register_staff_commands(bot, outreach, lock)


async def _register_commands(bot: Bot, outreach: Outreach) -> None:
    """Show the public commands in Telegram's menu, in each offered language."""
    content = outreach.content
    default = content.campaign.default_language
    for lang, pack in content.packs.items():
        commands = [BotCommand(name, text) for name, text in pack.texts.commands.items()]
        code = None if lang == default else lang
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)


async def _register_staff_commands(
    bot: Bot, outreach: Outreach, lock: asyncio.Lock | None
) -> None:
    """Give each organizer and admin a menu with the commands their role allows."""
    settings = outreach.settings
    for user_id in sorted(settings.admin_ids | settings.organizer_ids):
        role = outreach.role(user_id)
        async with lock or contextlib.nullcontext():
            profile = await outreach.db.users.profile(user_id)
        pack = outreach.content.pack(profile.lang if profile else None)
        allowed = {
            name: text
            for name, text in pack.staff.commands.items()
            if role.includes(Role(STAFF_COMMANDS[name]))
        }
        menu = [
            BotCommand(name, text) for name, text in {**pack.texts.commands, **allowed}.items()
        ]
        try:
            await bot.set_my_commands(menu, scope=BotCommandScopeChat(user_id))
        except TelegramError as exc:  # e.g. they never wrote to the bot: no chat to scope to
            logger.info("no command menu for a staff member: %s", exc.message)
