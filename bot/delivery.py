"""One broadcast message to one chat, and what a failure to send it means for its recipient."""

from __future__ import annotations

import aiohttp
import httpx
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from flows.broadcast import BroadcastKind, Failure
from flows.models import Broadcast

__all__ = ["classify", "deliver"]

# 400 answers that mean the chat is gone for good, like a 403.
_GONE = ("chat not found", "user not found", "peer_id_invalid")
# Errors below these httpx types mean the request never reached Telegram: safe to retry.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
)


async def deliver(
    bot: Bot,
    chat_id: int,
    broadcast: Broadcast,
    *,
    paid: bool = False,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Send a broadcast's message (and its buttons) to one chat exactly as subscribers see it."""
    paid_broadcast = True if paid else None
    if broadcast.kind is BroadcastKind.COPY:
        assert broadcast.from_chat_id is not None and broadcast.message_id is not None
        await bot.copy_message(
            chat_id,
            broadcast.from_chat_id,
            broadcast.message_id,
            allow_paid_broadcast=paid_broadcast,
            reply_markup=markup,
        )
    elif broadcast.kind is BroadcastKind.TEXT:
        assert broadcast.text is not None
        await bot.send_message(
            chat_id,
            broadcast.text,
            parse_mode=ParseMode.HTML,
            allow_paid_broadcast=paid_broadcast,
            reply_markup=markup,
        )
    else:
        raise ValueError(f"broadcast {broadcast.id} has nothing to send")


def classify(exc: BaseException) -> Failure:
    """Say what a failed send means for its recipient."""
    match exc:
        case RetryAfter():
            return Failure.RATE_LIMITED
        case ChatMigrated():
            return Failure.MIGRATED
        case Forbidden():
            return Failure.GONE
        case BadRequest() if any(gone in exc.message.lower() for gone in _GONE):
            return Failure.GONE
        case BadRequest():
            return Failure.REJECTED
        case TimedOut() | NetworkError() if isinstance(exc.__cause__, _NOT_SENT):
            return Failure.TRANSIENT
        case TimedOut():
            return Failure.AMBIGUOUS  # the request left; the answer did not come back
        case NetworkError() if isinstance(exc.__cause__, httpx.HTTPError | aiohttp.ClientError):
            return Failure.AMBIGUOUS  # the connection broke after the request was written
        case NetworkError():
            return Failure.TRANSIENT  # Telegram answered with a 5xx: nothing was delivered
        case TelegramError():
            return Failure.REJECTED
    return Failure.AMBIGUOUS
