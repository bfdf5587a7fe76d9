"""The Telegram adapter: wiring, and handlers that turn updates into flow events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import admin, compose
from bot.broadcast import BroadcastSender
from bot.config import Settings
from bot.context import BotApp, BotContext, Deps, Running
from bot.limits import Courier, Gate, SendBudget
from bot.menus import set_menus
from bot.reload import unwatch_hangup, watch_hangup
from bot.render import send
from bot.service import Outreach, Who, utcnow
from bot.staff import StaffAction, StaffRouter
from bot.transport import AiohttpRequest
from bot.updates import ChatOrderedProcessor
from flows.content import Content
from flows.engine import is_stop_word
from flows.models import Command, Event, Press, Role, Text, Unsupported
from storage import open_database
from storage.content import load_content

__all__ = ["BotApp", "BotContext", "Deps", "build_application", "register_features"]

logger = logging.getLogger(__name__)

RUNNING_UPDATES = 32  # handlers running at once, each in its own chat
# Commands a flooding person still gets an answer to, besides STOP words and emergencies.
_ALWAYS = frozenset({"unsubscribe"})


def build_application(
    settings: Settings,
    content: Content | None = None,
    *,
    hangup: bool = False,
    clock: Callable[[], datetime] = utcnow,
) -> BotApp:
    """Wire the bot: client, handlers, database lifecycle; with `hangup`, reload on SIGHUP.

    `clock` is the service's and the broadcast sender's time (tests move it by hand)."""
    if settings.token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    content = content or load_content(settings.content_dir)
    api = settings.telegram_api_url

    async def post_init(app: BotApp) -> None:
        deps = app.bot_data
        db = await open_database(settings.database_path)
        outreach = Outreach(settings, content, db, clock=clock)
        outreach.bot_username = app.bot.username
        await outreach.tidy()
        _warn_unverified(content)
        await set_menus(app.bot, outreach)
        sender = BroadcastSender(settings, content, clock=outreach.clock, budget=deps.budget)
        await sender.start()
        housekeeping = asyncio.create_task(outreach.housekeeping(lock=deps.db_lock))
        deps.running = Running(outreach, sender, housekeeping)
        if hangup:
            watch_hangup(app)

    async def post_shutdown(app: BotApp) -> None:
        if hangup:
            unwatch_hangup()
        if app.bot_data.running is not None:
            await app.bot_data.running.close()
            app.bot_data.running = None

    budget = SendBudget(settings.send_rate)
    app: BotApp = (
        Application.builder()
        .token(settings.token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .context_types(ContextTypes(context=BotContext, bot_data=Deps))
        .request(AiohttpRequest(RUNNING_UPDATES + 8))
        .get_updates_request(AiohttpRequest(2, read_timeout=5.0))  # plus the long poll
        .rate_limiter(Courier(budget))
        .concurrent_updates(ChatOrderedProcessor(RUNNING_UPDATES))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.bot_data.budget = budget  # the Courier and the broadcast sender draw from it
    register_features(app.bot_data.staff)
    private = filters.ChatType.PRIVATE
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(ChatMemberHandler(on_blocked, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, on_group))
    app.add_handler(MessageHandler(private & filters.UpdateType.EDITED, on_edited))
    app.add_handler(MessageHandler(private & filters.COMMAND, on_command))
    app.add_handler(MessageHandler(private & filters.TEXT, on_text))
    app.add_handler(MessageHandler(private & ~filters.TEXT, on_other))
    app.add_error_handler(on_error)
    return app


def _warn_unverified(content: Content) -> None:
    """Log the contact details no organizer has confirmed yet."""
    for name in content.campaign.unverified():
        logger.warning("contact %r in campaign.yaml is not verified yet", name)


def register_features(staff: StaffRouter) -> None:
    """Add the organizer and admin commands."""
    admin.register(staff)
    compose.register(staff)


async def _run(
    update: Update, context: BotContext, event: Event, pressed: Message | None = None
) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    if not isinstance(event, Press) and not await _admitted(update, context, event):
        return
    async with context.db_lock:
        replies = await context.outreach.handle(Who.of(user), event)
    for reply in replies:  # outside the lock: other chats' updates go on meanwhile
        await send(context.bot, chat.id, reply, pressed)


async def _admitted(update: Update, context: BotContext, event: Event) -> bool:
    """Count a message against its sender's flood limit; tell whether to handle it."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    assert chat is not None and user is not None
    sent = message.edit_date or message.date if message is not None else None
    gate = context.flood.check(user.id, sent.timestamp() if sent else None)
    outreach = context.outreach
    if gate is Gate.PASS or _must(outreach, event):
        return True
    if gate is Gate.WARN:
        async with context.db_lock:
            profile = await outreach.db.users.profile(user.id)
        lang = profile.lang if profile else outreach.first_language(user.language_code)
        text = outreach.content.fill(outreach.content.pack(lang).texts.flood)
        await context.bot.send_message(chat.id, text)
    return False


def _must(outreach: Outreach, event: Event) -> bool:
    """Tell whether a message is answered even in a flood: STOP, or an emergency."""
    if isinstance(event, Text):
        return is_stop_word(outreach.content, event.text) or outreach.listener.urgent(event.text)
    return isinstance(event, Command) and event.name in _ALWAYS


def parse_command(text: str) -> Command:
    """Split `/name@Bot arg...` into a command event."""
    # Any whitespace ends the command: "/broadcast" is often followed by a new line.
    head, *rest = text.strip().split(maxsplit=1) or [""]
    name = head.removeprefix("/").split("@", 1)[0].lower()
    return Command(name=name, arg=rest[0].strip() if rest else "")


async def _staff(
    update: Update,
    context: BotContext,
    entry: StaffAction | None,
    what: str,
    arg: str,
    *,
    audit_detail: str | None = None,
) -> bool:
    """Run a protected action if the user has the role now; tell whether it ran."""
    user = update.effective_user
    if entry is None or user is None:
        return False
    outreach = context.outreach
    if not outreach.role(user.id).includes(entry.role):
        return False
    # Staff actions read and write the database between their sends: they hold the lock
    # throughout. They are rare; members' updates only wait for them, never interleave.
    async with context.db_lock:
        if entry.audited:
            detail = arg if audit_detail is None else audit_detail
            await outreach.db.audit.record(user.id, what, detail[:200], outreach.clock())
            await outreach.db.commit()
        if entry.locked:
            await entry.action(update, context, arg)
            return True
    await entry.action(update, context, arg)  # it takes the lock around its database work
    return True


async def _staff_state(update: Update, context: BotContext) -> bool:
    """Give the message to a protected flow the user is in (e.g. composing a broadcast)."""
    user = update.effective_user
    outreach = context.outreach
    if user is None or not context.staff.states or outreach.role(user.id) is Role.MEMBER:
        return False
    async with context.db_lock:
        state = (await outreach.db.users.conversation(user.id)).state
    return await _staff(update, context, context.staff.states.get(state), state.value, "")


async def on_command(update: Update, context: BotContext) -> None:
    """A slash command in a private chat."""
    assert update.message is not None and update.message.text is not None
    command = parse_command(update.message.text)
    entry = context.staff.commands.get(command.name)
    if not await _staff(update, context, entry, f"/{command.name}", command.arg):
        await _run(update, context, command)


async def on_text(update: Update, context: BotContext) -> None:
    """Free text in a private chat."""
    assert update.message is not None and update.message.text is not None
    if not await _staff_state(update, context):
        await _run(update, context, Text(text=update.message.text))


async def on_other(update: Update, context: BotContext) -> None:
    """A sticker, photo, voice note or anything else that is not text."""
    message = update.message
    kind = "other"
    if message is not None:
        kind = next(
            (
                k
                for k in ("sticker", "photo", "voice", "document", "video", "location", "contact")
                if getattr(message, k, None)
            ),
            "other",
        )
    if not await _staff_state(update, context):
        await _run(update, context, Unsupported(kind=kind))


async def on_edited(update: Update, context: BotContext) -> None:
    """An edited message: say that edits are not read."""
    await _run(update, context, Unsupported(kind="edited"))


async def on_group(update: Update, context: BotContext) -> None:
    """A command in a group: point to a private chat, store nothing."""
    chat = update.effective_chat
    assert chat is not None
    outreach = context.outreach
    user = update.effective_user
    pack = outreach.content.pack(outreach.first_language(user.language_code if user else None))
    link = outreach.content.bot_link(outreach.bot_username)
    text = outreach.content.fill(pack.texts.group_chat, bot_link=link)
    await context.bot.send_message(chat.id, text)


async def on_button(update: Update, context: BotContext) -> None:
    """A button press; its data is untrusted and may come from an old message."""
    query = update.callback_query
    assert query is not None
    try:
        await query.answer()
    except TelegramError as exc:  # "query is too old" after downtime: still act on the press
        logger.info("could not answer a button press: %s", exc.message)
    if query.message is None or update.effective_chat is None:
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        return
    data = query.data or ""
    entry = context.staff.buttons.get(data.partition(":")[0])
    if await _staff(update, context, entry, data, data, audit_detail=""):  # data says it all
        return
    pressed = query.message if isinstance(query.message, Message) else None
    await _run(update, context, Press(data=data), pressed)


async def on_blocked(update: Update, context: BotContext) -> None:
    """The user blocked the bot in a private chat: stop counting them as a subscriber."""
    member = update.my_chat_member
    if member is None or member.chat.type != ChatType.PRIVATE:
        return
    if member.new_chat_member.status == ChatMemberStatus.BANNED:
        async with context.db_lock:
            await context.outreach.mark_blocked(member.chat.id, method="blocked the bot")


async def on_error(update: object, context: BotContext) -> None:
    """Log the error and, where there is a chat, apologize."""
    error = context.error
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        # Telegram was unreachable for longer than the courier waits, or an answer was
        # lost: the courier has said so already, and an apology would not arrive either.
        logger.info("a reply was not delivered: %s", error.message)
        return
    logger.error("error while handling an update", exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if context.bot_data.running is None:
        return
    outreach = context.bot_data.running.outreach
    user = update.effective_user
    try:
        lang = outreach.first_language(user.language_code if user else None)
        await context.bot.send_message(update.effective_chat.id, outreach.error_text(lang))
    except Exception:  # the error may be that Telegram is unreachable: nothing more to do
        logger.warning("could not send the error message", exc_info=True)
