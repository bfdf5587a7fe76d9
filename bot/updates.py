"""Concurrent update processing that keeps each chat's updates in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

__all__ = ["ChatOrderedProcessor"]


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Run updates from different chats at once and those of one chat one after another.

    python-telegram-bot hands each update to `process_update` in the order it was received,
    and its semaphore admits waiters first come, first served, so queueing each update behind
    the previous one of its chat, before the first `await`, keeps the chat's order. At most
    `running` handlers run at once; updates waiting for their chat's turn do not count
    against it, so one chat's backlog never holds up the others.
    """

    __slots__ = ("_running", "_tails")

    def __init__(self, running: int = 32, *, queued: int | None = None) -> None:
        super().__init__(queued or running * 8)
        self._running = asyncio.Semaphore(running)
        self._tails: dict[int, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's previous update, then run this one within the bound."""
        key = _chat_key(update)
        if key is None:
            async with self._running:
                await coroutine
            return
        previous = self._tails.get(key)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = done
        try:
            if previous is not None:
                try:
                    await asyncio.shield(previous)
                except asyncio.CancelledError:
                    if asyncio.iscoroutine(coroutine):
                        coroutine.close()  # never started: no "never awaited" warning
                    raise
            async with self._running:
                await coroutine
        finally:
            done.set_result(None)
            if self._tails.get(key) is done:
                del self._tails[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: the application waits for the updates it started."""


def _chat_key(update: object) -> int | None:
    """Return the chat (else the user) whose order an update belongs to."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
