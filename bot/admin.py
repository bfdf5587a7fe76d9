"""Admin commands in Telegram: /optins, /export, /stats, /unanswered, /audit, /reload.

Registered on the StaffRouter with Role.ADMIN: the role is checked on every call (also a
press on an old page of the list), each call is in the audit log, and anyone else gets the
answer an unknown command or a stale button gets.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import timedelta

from telegram import InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.chart import draw_chart
from bot.context import BotContext
from bot.reload import describe, reload_content
from bot.render import send
from bot.review import export_optins, gather_stats, load_page
from bot.staff import StaffRouter
from flows.admin import PAGE_BUTTON, AdminView, parse_page
from flows.content import ContentError
from flows.models import Reply, Role

__all__ = ["AUDIT_LINES", "register"]

logger = logging.getLogger(__name__)

AUDIT_LINES = 20


def register(staff: StaffRouter) -> None:
    """Add the admin commands and the list's page buttons."""
    staff.command("optins", Role.ADMIN, optins)
    staff.button(PAGE_BUTTON, Role.ADMIN, turn_page)
    staff.command("export", Role.ADMIN, export)
    staff.command("stats", Role.ADMIN, stats, locked=False)
    staff.command("unanswered", Role.ADMIN, unanswered)
    staff.command("audit", Role.ADMIN, audit)
    staff.command("reload", Role.ADMIN, reload, locked=False)


def _view(update: Update, context: BotContext) -> AdminView:
    user = update.effective_user
    lang = context.outreach.first_language(user.language_code if user else None)
    return AdminView(context.outreach.content, lang)


async def _show(update: Update, context: BotContext, reply: Reply) -> None:
    chat = update.effective_chat
    assert chat is not None
    query = update.callback_query
    pressed = query.message if query and isinstance(query.message, Message) else None
    await send(context.bot, chat.id, reply, pressed)


async def optins(update: Update, context: BotContext, arg: str) -> None:
    """Show a page of the opt-in list: `/optins [PAGE]`."""
    view = _view(update, context)
    requested = parse_page(arg)
    if requested is None:
        await _show(update, context, view.bad_page())
        return
    page = await load_page(context.outreach.db, requested)
    names = context.outreach.settings.store_names
    await _show(update, context, view.optins(page, names=names))


async def turn_page(update: Update, context: BotContext, data: str) -> None:
    """Show the page a previous/next button asks for, in place of the pressed one."""
    # The data may be forged: anything but a page number shows the first page.
    requested = parse_page(data.partition(":")[2]) or 1
    page = await load_page(context.outreach.db, requested)
    names = context.outreach.settings.store_names
    await _show(update, context, _view(update, context).optins(page, names=names, edit=True))


async def export(update: Update, context: BotContext, _: str) -> None:
    """Send the whole opt-in list as a CSV document, written through a temporary file."""
    chat = update.effective_chat
    assert chat is not None
    outreach = context.outreach
    now = outreach.clock()
    names = outreach.settings.store_names
    # An unnamed temporary file: gone from the disk at once, and from memory after the upload.
    with tempfile.TemporaryFile() as file:
        rows = await export_optins(outreach.db, file, "csv", names=names)
        file.seek(0)
        document = InputFile(file, filename=f"optins-{now:%Y-%m-%d}.csv", read_file_handle=False)
        caption = _view(update, context).export_caption(rows, f"{now:%Y-%m-%d %H:%M}")
        await context.bot.send_document(
            chat.id, document, caption=caption, parse_mode=ParseMode.HTML
        )


async def stats(update: Update, context: BotContext, _: str) -> None:
    """Show subscriber counts, new opt-ins, the funnel and question counts, then a chart."""
    outreach = context.outreach
    async with context.db_lock:
        now = outreach.clock()
        numbers = await gather_stats(outreach.db, now)
    view = _view(update, context)
    await _show(update, context, view.stats(numbers))
    chat = update.effective_chat
    assert chat is not None
    # Drawn in a thread, outside the database lock: it takes a moment, and longer the first
    # time (matplotlib loads). Without the picture the numbers above still stand.
    try:
        png = await asyncio.to_thread(draw_chart, view.chart(numbers, now.date()))
    except Exception:
        logger.exception("the /stats chart could not be drawn")
        return
    try:
        await context.bot.send_photo(
            chat.id, png, caption=view.chart_caption(), parse_mode=ParseMode.HTML
        )
    except TelegramError as exc:
        logger.warning("the /stats chart was not sent: %s", exc)


async def unanswered(update: Update, context: BotContext, _: str) -> None:
    """List the questions the bot declined most often; nothing in it says who asked."""
    outreach = context.outreach
    days = outreach.settings.question_retention_days
    since = outreach.clock() - timedelta(days=days)
    await outreach.db.questions.purge(since)
    await outreach.db.commit()
    questions = await outreach.db.questions.top_unanswered(since)
    await _show(update, context, _view(update, context).unanswered(questions, days))


async def audit(update: Update, context: BotContext, _: str) -> None:
    """Show the latest protected actions: when, who, what."""
    entries = await context.outreach.db.audit.latest(AUDIT_LINES)
    await _show(update, context, _view(update, context).audit(entries))


async def reload(update: Update, context: BotContext, _: str) -> None:
    """Read the content folder again: serve it if valid, else list its problems."""
    try:
        content = await reload_content(context.bot_data, context.bot)
    except ContentError as exc:
        logger.warning("/reload: content not reloaded, %d problems", len(exc.problems))
        await _show(update, context, _view(update, context).reload_refused(exc.problems))
        return
    logger.info("/reload: content reloaded (%s)", describe(content))
    await _show(update, context, _view(update, context).reloaded(content))
