"""Organizer commands for broadcasts: compose, preview, test, send, cancel, list.

`/broadcast [lang=xx] TEXT` broadcasts TEXT as the organizer sees it: what they type is
shown literally (`<` stays `<`) and Telegram's own formatting (bold, italic, links...)
is kept, because the text is rebuilt as HTML from the message's entities. `/broadcast
[lang=xx]` alone takes the next message, of any kind, and sends it with copyMessage.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.broadcast import deliver
from bot.render import send
from bot.service import Who
from bot.staff import Action, StaffRouter
from flows.broadcast import ButtonAction, button_data, parse_button, parse_compose
from flows.content import BroadcastTexts
from flows.engine import is_stop_word
from flows.models import Conversation, Role, State, Text
from storage.outbox import Broadcast

if TYPE_CHECKING:
    from bot.app import BotContext

__all__ = ["register"]

RECENT = 10
_COMMAND_HEAD = re.compile(r"^/\S+\s*(.*)$", re.DOTALL)


def register(staff: StaffRouter) -> None:
    """Add the broadcast commands, buttons and the composing state to the router."""
    staff.command("broadcast", Role.ORGANIZER, _closing(compose))
    staff.command("broadcasts", Role.ORGANIZER, _closing(list_broadcasts))
    staff.button("bc", Role.ORGANIZER, _closing(press))
    staff.state(State.COMPOSING_BROADCAST, Role.ORGANIZER, _closing(composed))


def _closing(action: Action) -> Action:
    """Never leave a transaction open: it would hold the write lock the sender needs."""

    @functools.wraps(action)
    async def run(update: Update, context: BotContext, arg: str) -> None:
        db = context.outreach.db
        try:
            await action(update, context, arg)
        except BaseException:
            await db.rollback()
            raise
        await db.commit()

    return run


async def _texts(update: Update, context: BotContext) -> BroadcastTexts:
    """Return the broadcast texts in the organizer's language."""
    profile = await context.outreach.profile(Who.of(update.effective_user))
    return context.outreach.content.pack(profile.lang).staff.broadcast


async def _say(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    chat = update.effective_chat
    assert chat is not None
    return await context.bot.send_message(
        chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
    )


def _fill(
    context: BotContext, text: str, *, trusted: Mapping[str, str] | None = None, **values: object
) -> str:
    """Fill a content text; run-time values are escaped, `trusted` ones come from content."""
    escaped = {key: html.escape(str(value)) for key, value in values.items()}
    return context.outreach.content.fill(text, **escaped, **(trusted or {}))


def _argument_html(message: Message) -> str:
    """Return what follows the command, as HTML rebuilt from the message's entities."""
    match = _COMMAND_HEAD.match(message.text_html or "")
    return match.group(1) if match else ""


async def _set_state(update: Update, context: BotContext, state: State) -> None:
    outreach = context.outreach
    await outreach.profile(
        Who.of(update.effective_user)
    )  # the conversation row needs the user row
    user_id = Who.of(update.effective_user).user_id
    await outreach.db.users.save_conversation(user_id, Conversation(state=state), outreach.clock())


async def _audit(context: BotContext, actor_id: int, action: str, detail: str) -> None:
    outreach = context.outreach
    await outreach.db.audit.record(actor_id, action, detail, outreach.clock())


async def compose(update: Update, context: BotContext, arg: str) -> None:
    """`/broadcast [lang=xx] [TEXT]`: preview TEXT, or wait for the message to copy."""
    message, chat = update.message, update.effective_chat
    assert message is not None and chat is not None
    outreach, who = context.outreach, Who.of(update.effective_user)
    texts = await _texts(update, context)
    languages = outreach.content.languages
    parsed = parse_compose(_argument_html(message), languages)
    if parsed.bad_lang is not None:
        await _say(
            update,
            context,
            _fill(
                context,
                texts.bad_language,
                language=parsed.bad_lang,
                languages=", ".join(languages),
            ),
        )
        return
    db = outreach.db
    draft_id = await db.outbox.create_draft(who.user_id, chat.id, parsed.lang, outreach.clock())
    if not parsed.text:
        await _set_state(update, context, State.COMPOSING_BROADCAST)
        await db.commit()
        await _say(update, context, _fill(context, texts.prompt))
        return
    await db.outbox.set_text(draft_id, parsed.text)
    await _set_state(update, context, State.IDLE)
    await _audit(context, who.user_id, "broadcast.draft", f"id={draft_id} kind=text")
    await db.commit()
    await _preview(update, context, texts, draft_id)


async def composed(update: Update, context: BotContext, _: str) -> None:
    """The message after a bare `/broadcast`: it becomes the broadcast, copied as it is."""
    message, chat = update.message, update.effective_chat
    assert message is not None and chat is not None
    outreach, who = context.outreach, Who.of(update.effective_user)
    texts = await _texts(update, context)
    db = outreach.db
    draft = await db.outbox.open_draft(who.user_id)
    await _set_state(update, context, State.IDLE)
    if message.text is not None and is_stop_word(context.outreach.content, message.text):
        # STOP unsubscribes wherever one is (CONTRACTS.md); it also drops the broadcast.
        if draft is not None:
            await db.outbox.cancel(draft.id, outreach.clock())
        await db.commit()
        await _say(update, context, _fill(context, texts.composing_cancelled))
        for reply in await outreach.handle(who, Text(text=message.text)):
            await send(context.bot, chat.id, reply)
        return
    draft_id = draft.id if draft is not None else None
    if draft_id is None:
        draft_id = await db.outbox.create_draft(who.user_id, chat.id, None, outreach.clock())
    await db.outbox.set_copy(draft_id, chat.id, message.message_id)
    await _audit(context, who.user_id, "broadcast.draft", f"id={draft_id} kind=copy")
    await db.commit()
    await _preview(update, context, texts, draft_id)


def _audience(context: BotContext, texts: BroadcastTexts, broadcast: Broadcast) -> str:
    if broadcast.lang is None:
        return _fill(context, texts.audience_all)
    name = context.outreach.content.pack(broadcast.lang).texts.language_name
    return _fill(context, texts.audience_lang, trusted={"language": name})


def _keyboard(*buttons: tuple[str, ButtonAction, int]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=button_data(a, i)) for label, a, i in buttons]]
    )


async def _preview(
    update: Update, context: BotContext, texts: BroadcastTexts, draft_id: int
) -> None:
    """Show the draft exactly as subscribers will see it, then the count and the buttons."""
    chat = update.effective_chat
    assert chat is not None
    db, now = context.outreach.db, context.outreach.clock()
    draft = await db.outbox.get(draft_id)
    assert draft is not None
    try:
        await deliver(context.bot, chat.id, draft)
    except BadRequest as exc:
        await db.outbox.cancel(draft_id, now)
        await db.commit()
        await _say(update, context, _fill(context, texts.preview_failed, error=exc.message))
        return
    recipients = await db.outbox.audience(draft.lang)
    audience = _audience(context, texts, draft)
    buttons = texts.buttons
    test = (buttons.test, ButtonAction.TEST, draft_id)
    cancel = (buttons.cancel, ButtonAction.CANCEL, draft_id)
    if recipients:
        text = _fill(context, texts.confirm, recipients=recipients, trusted={"audience": audience})
        markup = _keyboard((buttons.send, ButtonAction.SEND, draft_id), test, cancel)
    else:
        text = _fill(context, texts.no_recipients, trusted={"audience": audience})
        markup = _keyboard(test, cancel)
    await _say(update, context, text, markup)


async def press(update: Update, context: BotContext, data: str) -> None:
    """A broadcast button: Send, Test or Cancel; the data is untrusted and may be stale."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    texts = await _texts(update, context)
    parsed = parse_button(data)
    broadcast = await context.outreach.db.outbox.get(parsed[1]) if parsed else None
    if parsed is None or broadcast is None or not _may_touch(context, broadcast, user.id):
        await _say(update, context, _fill(context, texts.not_available))
        return
    pressed = query.message if isinstance(query.message, Message) else None
    match parsed[0]:
        case ButtonAction.SEND:
            await _send(update, context, texts, broadcast, pressed)
        case ButtonAction.TEST:
            await _test(update, context, texts, broadcast)
        case ButtonAction.CANCEL:
            await _cancel(update, context, texts, broadcast, pressed)


def _may_touch(context: BotContext, broadcast: Broadcast, user_id: int) -> bool:
    """Only the author acts on a broadcast; an admin may also stop anyone's."""
    return broadcast.author_id == user_id or context.outreach.role(user_id) is Role.ADMIN


async def _send(
    update: Update,
    context: BotContext,
    texts: BroadcastTexts,
    broadcast: Broadcast,
    pressed: Message | None,
) -> None:
    """Start the broadcast once: the draft moves to 'sending' in one transaction."""
    outreach, user = context.outreach, update.effective_user
    assert user is not None
    db = outreach.db
    recipients = await db.outbox.start(broadcast.id, user.id, outreach.clock())
    if recipients is None:
        template = texts.not_available
        if broadcast.state in ("sending", "done"):
            template = texts.already_started
        await _say(update, context, _fill(context, template, id=broadcast.id))
        return
    if pressed is not None:
        await db.outbox.set_status_message(broadcast.id, pressed.message_id)
    lang = broadcast.lang or "all"
    await _audit(
        context,
        user.id,
        "broadcast.start",
        f"id={broadcast.id} recipients={recipients} lang={lang}",
    )
    await db.commit()
    text = _fill(
        context,
        texts.queued,
        id=broadcast.id,
        recipients=recipients,
        trusted={"audience": _audience(context, texts, broadcast)},
    )
    stop = _keyboard((texts.buttons.stop, ButtonAction.CANCEL, broadcast.id))
    try:
        if pressed is not None:  # before the sender starts, so its edits always come after
            await context.bot.edit_message_text(
                text,
                pressed.chat_id,
                pressed.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=stop,
            )
    finally:
        context.sender.wake()


async def _test(
    update: Update, context: BotContext, texts: BroadcastTexts, broadcast: Broadcast
) -> None:
    """Send the draft to the organizer's own chat only."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    if not broadcast.has_content:
        await _say(update, context, _fill(context, texts.not_available))
        return
    await deliver(context.bot, chat.id, broadcast)
    await _audit(context, user.id, "broadcast.test", f"id={broadcast.id}")
    await context.outreach.db.commit()
    await _say(update, context, _fill(context, texts.test_sent))


async def _cancel(
    update: Update,
    context: BotContext,
    texts: BroadcastTexts,
    broadcast: Broadcast,
    pressed: Message | None,
) -> None:
    """Cancel a draft, or stop a broadcast that is sending (nothing more goes out)."""
    outreach, user = context.outreach, update.effective_user
    assert user is not None
    db = outreach.db
    if not await db.outbox.cancel(broadcast.id, outreach.clock()):
        await _say(update, context, _fill(context, texts.not_available))
        return
    await _audit(context, user.id, "broadcast.cancel", f"id={broadcast.id} was={broadcast.state}")
    await db.commit()
    context.sender.cancel(broadcast.id)
    if broadcast.state == "draft" and pressed is not None:
        text = _fill(context, texts.draft_cancelled, id=broadcast.id)
        await context.bot.edit_message_text(
            text, pressed.chat_id, pressed.message_id, parse_mode=ParseMode.HTML
        )
    # A running broadcast: the sender replaces the status message with its summary.


async def list_broadcasts(update: Update, context: BotContext, _: str) -> None:
    """`/broadcasts`: the recent broadcasts with their counts."""
    texts = await _texts(update, context)
    recent = await context.outreach.db.outbox.recent(RECENT)
    if not recent:
        await _say(update, context, _fill(context, texts.list_empty))
        return
    lines = [_fill(context, texts.list_title)]
    for broadcast, counts in recent:
        lines.append(
            _fill(
                context,
                texts.list_item,
                id=broadcast.id,
                created=broadcast.created_at.strftime("%Y-%m-%d %H:%M"),
                trusted={
                    "state": getattr(texts.states, broadcast.state.value),
                    "audience": _audience(context, texts, broadcast),
                },
                sent=counts.sent,
                blocked=counts.blocked,
                failed=counts.failed,
                pending=counts.remaining,
                unknown=counts.unknown,
            )
        )
    await _say(update, context, "\n".join(lines))
