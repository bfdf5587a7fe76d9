"""`python -m bot COMMAND`: run, shell, ask, faq, content, optins, stats, db, doctor."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import pwd
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging
from flows.content import Content, ContentError
from flows.models import COMMAND_LINE_ACTOR
from storage.content import load_content
from storage.fitted import FileStore

if TYPE_CHECKING:
    from bot.context import BotApp
    from bot.review import ExportFormat
    from storage import Database

__all__ = ["main"]

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Outreach Bot")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve Telegram by long polling (or --webhook)")
    run.add_argument(
        "--webhook", action="store_true", help="serve by webhook with the WEBHOOK_* settings"
    )
    sub.add_parser("shell", help="chat in the terminal")
    sub.add_parser("start", help="serve Telegram if a token is set, else open the terminal chat")
    ask = sub.add_parser("ask", help="answer a question from the knowledge file")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--lang")
    ask.add_argument("--json", action="store_true")
    faq = sub.add_parser("faq", help="the knowledge file").add_subparsers(
        dest="action", required=True
    )
    faq_list = faq.add_parser("list", help="every knowledge entry")
    faq_list.add_argument("--lang")
    faq_list.add_argument("--json", action="store_true")
    content = sub.add_parser("content", help="campaign content").add_subparsers(
        dest="action", required=True
    )
    check = content.add_parser("check", help="validate the campaign content")
    check.add_argument("dir", nargs="?", type=Path)
    optins = sub.add_parser("optins", help="the opt-in list").add_subparsers(
        dest="action", required=True
    )
    export = optins.add_parser("export", help="write the whole opt-in list (for admins)")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    stats = sub.add_parser("stats", help="the admin's /stats as text; --png: also the chart")
    stats.add_argument("--png", type=Path, metavar="FILE", help="write the /stats chart here")
    stats.add_argument("--lang", help="the language of the text and the chart")
    db = sub.add_parser("db", help="the database").add_subparsers(dest="action", required=True)
    db.add_parser("migrate", help="bring the schema up to date")
    backup = db.add_parser("backup", help="an online copy of the database (safe while running)")
    backup.add_argument("file", type=Path)
    backup.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    sub.add_parser("doctor", help="check settings, content, database and Telegram")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    from storage import StorageError

    try:
        return _main(_parser().parse_args(argv))
    except StorageError as exc:
        print(f"configuration error: DATABASE_PATH: {exc}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    if args.command == "content" and args.dir is not None:
        return _content_check(args.dir)
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return run_doctor()
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.token, private_data=settings.log_private_data)
    if args.command == "content":
        return _content_check(settings.content_dir)
    if args.command == "optins":
        return asyncio.run(_optins_export(settings, args.format, args.output))
    if args.command == "db" and args.action == "backup":
        return _backup(settings, args.file, force=args.force)
    if args.command == "run" and args.webhook:
        missing = [
            name
            for name, value in (
                ("TELEGRAM_BOT_TOKEN", settings.token),
                ("WEBHOOK_URL", settings.webhook_url),
                ("WEBHOOK_SECRET", settings.webhook_secret),
            )
            if value is None
        ]
        if missing:
            needs = " and ".join(filter(None, (", ".join(missing[:-1]), missing[-1])))
            print(f"configuration error: run --webhook needs {needs}", file=sys.stderr)
            return 2
    try:
        content = load_content(settings.content_dir)
    except ContentError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    lang = getattr(args, "lang", None)
    if lang is not None and lang.lower() not in content.packs:
        offered = ", ".join(content.languages)
        print(f"--lang: {lang!r} is not offered by this campaign ({offered})", file=sys.stderr)
        return 2
    if lang is not None:
        args.lang = lang.lower()
    match args.command:
        case "run":
            return _run(settings, content, webhook=args.webhook)
        case "shell":
            return asyncio.run(_shell(settings, content))
        case "start":
            if settings.token:
                return _run(settings, content)
            print(
                "No TELEGRAM_BOT_TOKEN set: opening the terminal chat. To serve Telegram, put "
                "the token from @BotFather in .env (see README).",
                file=sys.stderr,
            )
            return asyncio.run(_shell(settings, content))
        case "ask":
            return _ask(content, args.question, args.lang, as_json=args.json)
        case "faq":
            return _faq_list(content, args.lang)
        case "db":
            return asyncio.run(_migrate(settings))
        case "stats":
            return asyncio.run(_stats(settings, content, args.lang, args.png))
    return 2


def _content_check(folder: Path) -> int:
    try:
        content = load_content(folder)
    except ContentError as exc:
        print("\n".join(exc.problems))
        return 1
    entries = sum(len(pack.faq) for pack in content.packs.values())
    for warning in content.warnings:
        print(warning)
    print(f"{folder}: valid ({', '.join(content.languages)}; {entries} knowledge entries)")
    return 0


def _run(settings: Settings, content: Content, *, webhook: bool = False) -> int:
    from telegram.error import InvalidToken, TelegramError

    from bot.app import build_application
    from bot.webhook import ALLOWED_UPDATES, WebhookError

    app = build_application(settings, content, hangup=True)
    try:
        if webhook:
            logger.info("serving Telegram at %s by webhook", settings.telegram_api_url)
            asyncio.run(_serve_webhook(app, settings))
        else:
            logger.info("serving Telegram at %s by long polling", settings.telegram_api_url)
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except WebhookError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except InvalidToken:
        # PTB's message quotes the token itself: say what is wrong without it.
        print(
            "TELEGRAM_BOT_TOKEN: Telegram rejected the token; copy it again from @BotFather",
            file=sys.stderr,
        )
        return 1
    except TelegramError as exc:
        logger.error("could not serve Telegram: %s", exc)  # the formatter removes any token
        return 1
    return 0


async def _serve_webhook(app: BotApp, settings: Settings) -> None:
    """Serve by webhook until SIGINT or SIGTERM."""
    import signal

    from bot.webhook import serve_webhook

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve_webhook(app, settings, stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _backup(settings: Settings, target: Path, *, force: bool) -> int:
    from storage.backup import BackupError, backup_database

    try:
        size = backup_database(settings.database_path, target, force=force)
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {settings.database_path} to {target} ({size:,} bytes)")
    return 0


async def _shell(settings: Settings, content: Content) -> int:
    from bot.service import Outreach
    from bot.shell import run_shell
    from storage import open_database

    db = await open_database(settings.database_path)
    try:
        outreach = Outreach(settings, content, db)
        await outreach.tidy()
        housekeeping = asyncio.create_task(outreach.housekeeping())
        try:
            await run_shell(outreach)
        finally:
            housekeeping.cancel()
    finally:
        await db.close()
    return 0


async def _migrate(settings: Settings) -> int:
    from storage import open_database

    db = await open_database(settings.database_path, run_migrations=False)
    try:
        from storage.migrations import migrate

        applied = await migrate(db.connection)
    finally:
        await db.close()
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    return 0


async def _optins_export(settings: Settings, fmt: ExportFormat, output: Path | None) -> int:
    from bot.service import utcnow
    from storage import open_database

    db = await open_database(settings.database_path)
    try:
        names = settings.store_names
        if output is None:
            rows = await _export_to_stdout(db, fmt, names=names)
            where = "standard output" if rows is not None else "standard output, cut short"
        else:
            rows, where = await _export_to_file(db, output, fmt, names=names), str(output)
            print(f"{rows} opt-ins written to {output}", file=sys.stderr)
        detail = f"{fmt} to {where} by {_account()}, {rows or 0} rows"
        # Actor 0: no Telegram account; whoever can read the database on this machine.
        await db.audit.record(COMMAND_LINE_ACTOR, "optins export", detail[:200], utcnow())
        await db.commit()
    finally:
        await db.close()
    return 0 if rows is not None else 1


async def _export_to_stdout(db: Database, fmt: ExportFormat, *, names: bool) -> int | None:
    """Write the export to standard output; None when the reader stopped early."""
    from bot.review import export_optins

    try:
        rows = await export_optins(db, sys.stdout.buffer, fmt, names=names)
        sys.stdout.buffer.flush()
    except BrokenPipeError:  # e.g. `| head`: quietly, without a second error at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return None
    return rows


async def _export_to_file(db: Database, output: Path, fmt: ExportFormat, *, names: bool) -> int:
    """Write the export to a file only this account may read, whole or not at all."""
    from bot.review import export_optins

    part = output.with_name(output.name + ".part")
    part.unlink(missing_ok=True)  # O_CREAT keeps an existing file's wider mode
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(descriptor, "wb") as file:
            rows = await export_optins(db, file, fmt, names=names)
        part.replace(output)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return rows


async def _stats(settings: Settings, content: Content, lang: str | None, png: Path | None) -> int:
    """Print what /stats shows an admin; with `png`, write its chart there too."""
    from bot.render import plain
    from bot.review import gather_stats
    from bot.service import utcnow
    from flows.admin import AdminView
    from storage import open_database

    db = await open_database(settings.database_path)
    try:
        now = utcnow()
        numbers = await gather_stats(db, now)
        detail = f"text{f' and chart to {png}' if png else ''} by {_account()}"
        await db.audit.record(COMMAND_LINE_ACTOR, "stats", detail[:200], now)
        await db.commit()
    finally:
        await db.close()
    view = AdminView(content, lang or settings.default_language)
    print(plain(view.stats(numbers).text))
    if png is not None:
        from bot.chart import draw_chart

        try:
            png.write_bytes(draw_chart(view.chart(numbers, now.date())))
        except OSError as exc:
            print(f"stats: cannot write {png}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"chart written to {png}", file=sys.stderr)
    return 0


def _account() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def _ask(content: Content, question: str | None, lang: str | None, *, as_json: bool) -> int:
    from datetime import UTC, datetime

    from bot.render import plain
    from flows.engine import Context, answer
    from flows.faq import FaqIndex
    from flows.listen import Listener
    from flows.models import Conversation, Profile

    pack = content.pack(lang)
    # A visitor with no history, as the bot would see a first question.
    profile = Profile(user_id=0, lang=pack.code, first_seen=datetime.now(UTC))
    # Every language, as the bot has them: a question in another language is read there too.
    store = FileStore()
    indexes = {code: FaqIndex.from_content(content, code, store) for code in content.packs}
    ctx = Context(content, profile, Conversation(), indexes, Listener(content))
    questions = [question] if question is not None else (line.rstrip("\n") for line in sys.stdin)
    for q in questions:
        outcome, verdict = answer(ctx, q)
        text = plain(outcome.replies[-1].text)
        if as_json:
            result = {
                "id": verdict.id,
                "score": round(verdict.score, 4),
                "answer": text,
                "suggestions": list(verdict.suggestions),
                "kind": verdict.kind,
            }
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            print(text + "\n", flush=True)
    return 0


def _faq_list(content: Content, lang: str | None) -> int:
    langs = [lang] if lang else content.languages
    rows = [
        {
            "id": e.id,
            "lang": code,
            "questions": list(e.questions),
            "answer": content.fill(e.answer),
        }
        for code in langs
        for e in content.pack(code).faq
    ]
    print(json.dumps(rows, ensure_ascii=False, indent=2))
    return 0
