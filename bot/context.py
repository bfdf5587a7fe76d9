"""The typed dependencies handlers reach through their context, in a module of their own so
that the feature modules and the wiring in bot/app.py need not import each other."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.broadcast import BroadcastSender
from bot.limits import FloodGate, SendBudget
from bot.service import Outreach
from bot.staff import StaffRouter

__all__ = ["BotApp", "BotContext", "Deps"]


class Deps:
    """What handlers need, set up in `post_init` (the application's bot_data)."""

    outreach: Outreach
    staff: StaffRouter
    sender: BroadcastSender
    housekeeping: asyncio.Task[None]
    # The service has one connection and one transaction per update: hold this from the
    # first read to the commit, so concurrent updates never share a transaction.
    db_lock: asyncio.Lock
    flood: FloodGate
    budget: SendBudget


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
        return self.bot_data.sender

    @property
    def db_lock(self) -> asyncio.Lock:
        return self.bot_data.db_lock

    @property
    def flood(self) -> FloodGate:
        return self.bot_data.flood


BotApp = Application[Any, BotContext, dict[Any, Any], dict[Any, Any], Deps, Any]
