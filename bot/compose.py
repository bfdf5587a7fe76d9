"""Organizer commands for broadcasts in Telegram: compose, preview, test, send, cancel, list.

Each handler turns the update into an event for the broadcast flow (`flows/compose.py`),
run by the service, and shows what it decided. `/broadcast [lang=xx] TEXT` broadcasts TEXT
as the organizer sees it: what they type is shown literally (`<` stays `<`) and Telegram's
own formatting (bold, italic, links...) is kept, because the text is rebuilt as HTML from
the message's entities. `/broadcast [lang=xx]` alone takes the next message, of any kind,
and sends it with copyMessage.
"""

from __future__ import annotations

import re

from telegram import Message, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.delivery import deliver
from bot.render import keyboard, send
from bot.service import Who
from bot.staff import StaffRouter
from flows.models import (
    CancelBroadcast,
    Command,
    Composed,
    ComposeEvent,
    ComposeOutcome,
    Press,
    PreviewFailed,
    Role,
    StartBroadcast,
    State,
)

__all__ = ["register"]

_COMMAND_HEAD = re.compile(r"^/\S+\s*(.*)$", re.DOTALL)


def register(staff: StaffRouter) -> None:
    """Add the broadcast commands, buttons and the composing state to the router."""
    # The flow writes its own audit entries (draft, test, start, cancel) in the same
    # transaction as what it did: the router does not record these a second time.
    staff.command("broadcast", Role.ORGANIZER, compose, audited=False)
    staff.command("broadcasts", Role.ORGANIZER, list_broadcasts, audited=False)
    staff.button("bc", Role.ORGANIZER, press, audited=False)
    staff.button("bo", Role.ORGANIZER, press, audited=False)  # options chosen by buttons
    staff.state(State.COMPOSING_BROADCAST, Role.ORGANIZER, composed)
    staff.state(State.SCHEDULING_BROADCAST, Role.ORGANIZER, composed)


async def compose(update: Update, context: BotContext, _: str) -> None:
    """`/broadcast [lang=xx] [TEXT]`: preview TEXT, or wait for the message to copy."""
    message = update.message
    assert message is not None
    await _run(update, context, Command(name="broadcast", arg=_argument_html(message)))


async def composed(update: Update, context: BotContext, _: str) -> None:
    """The message after a bare `/broadcast`: it becomes the broadcast, copied as it is."""
    message = update.message
    assert message is not None
    await _run(update, context, Composed(message_id=message.message_id, text=message.text))


async def press(update: Update, context: BotContext, data: str) -> None:
    """A broadcast button: Send, Test or Cancel."""
    await _run(update, context, Press(data=data))


async def list_broadcasts(update: Update, context: BotContext, _: str) -> None:
    """`/broadcasts`: the recent broadcasts with their counts."""
    await _run(update, context, Command(name="broadcasts"))


def _argument_html(message: Message) -> str:
    """Return what follows the command, as HTML rebuilt from the message's entities."""
    match = _COMMAND_HEAD.match(message.text_html or "")
    return match.group(1) if match else ""


async def _run(update: Update, context: BotContext, event: ComposeEvent) -> None:
    """Run the event through the service, then tell the sender and show the outcome."""
    chat, query = update.effective_chat, update.callback_query
    assert chat is not None
    pressed = query.message if query and isinstance(query.message, Message) else None
    outcome = await context.outreach.compose(
        Who.of(update.effective_user),
        event,
        chat_id=chat.id,
        pressed=pressed.message_id if pressed else None,
    )
    for effect in outcome.effects:
        if isinstance(effect, CancelBroadcast):
            context.sender.cancel(effect.broadcast_id)
    try:
        await _show(update, context, outcome, pressed)
    finally:
        # After the status message is edited, so the sender's edits always come after.
        if any(isinstance(effect, StartBroadcast) for effect in outcome.effects):
            context.sender.wake()


async def _show(
    update: Update, context: BotContext, outcome: ComposeOutcome, pressed: Message | None
) -> None:
    """Show a broadcast as subscribers will see it, if asked, then the replies."""
    chat = update.effective_chat
    assert chat is not None
    if outcome.show is not None:
        shown = outcome.show.broadcast
        try:
            await deliver(context.bot, chat.id, shown, markup=keyboard(outcome.show.buttons))
        except BadRequest as exc:
            if not outcome.show.preview:
                raise
            failed = PreviewFailed(broadcast_id=shown.id, error=exc.message)
            await _run(update, context, failed)
            return
    for reply in outcome.replies:
        await send(context.bot, chat.id, reply, pressed)
