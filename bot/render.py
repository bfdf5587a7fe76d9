"""Replies to Telegram messages and inline keyboards."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ExtBot

from flows.content import plain
from flows.models import Button, Reply

__all__ = ["keyboard", "plain", "send"]

logger = logging.getLogger(__name__)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


_KEYBOARDS: dict[tuple[tuple[Button, ...], ...], InlineKeyboardMarkup] = {}
_KEYBOARDS_KEPT = 1024  # the menus repeat: built once each (Telegram objects are immutable)


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Turn rows of buttons into an inline keyboard (None when there are none)."""
    if not rows:
        return None
    key = tuple(tuple(row) for row in rows)
    found = _KEYBOARDS.get(key)
    if found is None:
        if len(_KEYBOARDS) >= _KEYBOARDS_KEPT:
            _KEYBOARDS.clear()
        found = _KEYBOARDS[key] = _build(rows)
    return found


def _build(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.label, url=b.url)
                if b.url
                else InlineKeyboardButton(b.label, callback_data=b.data)
                for b in row
            ]
            for row in rows
        ]
    )


async def send(bot: ExtBot, chat_id: int, reply: Reply, pressed: Message | None = None) -> None:
    """Show a reply: edit the pressed message when asked to, else send a new one."""
    markup = keyboard(reply.buttons)
    if reply.edit and pressed is not None:
        try:
            await bot.edit_message_text(
                reply.text,
                chat_id=chat_id,
                message_id=pressed.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=_NO_PREVIEW,
            )
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            # Too old to edit, or deleted: say it in a new message instead.
            logger.info("could not edit, sending instead: %s", exc.message)
    try:
        await bot.send_message(
            chat_id,
            reply.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=_NO_PREVIEW,
        )
    except BadRequest as exc:
        if "can't parse entities" not in exc.message.lower():
            raise
        # A content file has broken HTML: better the words without formatting than nothing.
        logger.warning("content has invalid HTML, sent as plain text: %s", exc.message)
        await bot.send_message(chat_id, plain(reply.text), reply_markup=markup)
