"""The typed dependencies handlers reach through their context, in a module of their own so
that the feature modules and the wiring in bot/app.py need not import each other."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.broadcast import BroadcastSender
from bot.limits import FloodGate, SendBudget
from bot.service import Outreach, Prepared
from bot.staff import StaffRouter

__all__ = ["BotApp", "BotContext", "Deps", "Running"]


@dataclass
class Running:
    """What exists only while the bot runs: the service and its database, the sender, the
    daily purge. Made whole in `post_init`, closed in `post_shutdown`."""

    outreach: Outreach
    sender: BroadcastSender
    housekeeping: asyncio.Task[None]

    def use(self, prepared: Prepared) -> None:
        """Swap the service and the sender to another campaign, both in one step."""
        self.outreach.use(prepared)
        # The sender reads its `content` at each use (texts of a broadcast already sending
        # were taken when it started); it has no swap of its own.
        self.sender.content = prepared.content

    async def close(self) -> None:
        """Stop the purge and the sender, then close the database."""
        self.housekeeping.cancel()
        await self.sender.stop()
        await self.outreach.db.close()


class Deps:
    """The application's bot_data: what handlers need.

    python-telegram-bot builds it with no arguments; `build_application` sets the router and
    the send budget before anything runs, and `post_init` sets `running` in one step.
    """

    def __init__(self) -> None:
        self.staff = StaffRouter()
        self.budget = SendBudget()
        self.flood = FloodGate()
        # The service has one connection and one transaction per update: hold this from the
        # first read to the commit, so concurrent updates never share a transaction.
        self.db_lock = asyncio.Lock()
        # One content reload at a time (/reload and SIGHUP may meet).
        self.reloading = asyncio.Lock()
        self.running: Running | None = None

    @property
    def outreach(self) -> Outreach:
        """Return the service; only while the bot runs."""
        assert self.running is not None, "the bot is not running"
        return self.running.outreach


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Deps]):
    """A callback context with typed access to our dependencies."""

    @property
    def outreach(self) -> Outreach:
        return self.bot_data.outreach

    @property
    def staff(self) -> StaffRouter:
        return self.bot_data.staff

    @property
    def sender(self) -> BroadcastSender:
        assert self.bot_data.running is not None, "the bot is not running"
        return self.bot_data.running.sender

    @property
    def db_lock(self) -> asyncio.Lock:
        return self.bot_data.db_lock

    @property
    def flood(self) -> FloodGate:
        return self.bot_data.flood


BotApp = Application[Any, BotContext, dict[Any, Any], dict[Any, Any], Deps, Any]
