"""`python -m bot doctor`: settings, content, database and Telegram, each problem in words."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import aiohttp

from bot.config import Settings, SettingsError, load_settings
from bot.logs import redact
from flows.content import ContentError
from storage.content import load_content
from storage.db import database_state

__all__ = ["Report", "run_doctor"]

GET_ME_TIMEOUT = 10.0


@dataclass
class Report:
    """What the checks found, printed as they go."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    problems: int = 0
    warnings: int = 0

    def ok(self, text: str) -> None:
        """Say that a check passed."""
        print(f"ok: {text}", file=self.out)

    def note(self, text: str) -> None:
        """Say something worth knowing that is neither a pass nor a problem."""
        print(f"note: {text}", file=self.out)

    def warn(self, text: str) -> None:
        """Print a warning, which does not fail the doctor."""
        self.warnings += 1
        print(text if ": warning: " in text else f"warning: {text}", file=self.out)

    def problem(self, text: str) -> None:
        """Print a problem, which makes the doctor exit 1."""
        self.problems += 1
        print(text, file=self.out)

    def summary(self) -> str:
        """Return the final line."""
        warned = f"{self.warnings} warning{'s' * (self.warnings != 1)}"
        if not self.problems:
            return f"doctor: no problems ({warned})"
        return f"doctor: {self.problems} problem{'s' * (self.problems != 1)} ({warned})"


def run_doctor(out: TextIO | None = None) -> int:
    """Run every check; return 1 if any found a problem, else 0."""
    report = Report(out or sys.stdout)
    try:
        settings = load_settings()
    except SettingsError as exc:
        report.problem(str(exc))
    else:
        report.ok("settings read from the environment and .env")
        _check_settings(report, settings)
        _check_content(report, settings)
        _check_database(report, settings.database_path)
        _check_telegram(report, settings)
    print(report.summary(), file=report.out)
    return 1 if report.problems else 0


def _check_settings(report: Report, settings: Settings) -> None:
    if settings.token is None:
        report.note("TELEGRAM_BOT_TOKEN is not set: `make run` opens the terminal chat")
    if not settings.admin_ids:
        report.warn("ADMIN_IDS is empty: nobody can review opt-ins or stats in Telegram")
    url, secret = settings.webhook_url, settings.webhook_secret
    if url is not None and secret is None:
        report.problem("WEBHOOK_SECRET: not set while WEBHOOK_URL is; `run --webhook` refuses")
    elif secret is not None and url is None:
        report.problem("WEBHOOK_URL: not set while WEBHOOK_SECRET is; `run --webhook` refuses")
    elif url is not None:
        if not url.startswith("https://"):
            report.warn("WEBHOOK_URL is not https://: Telegram delivers only to https addresses")
        report.ok(f"webhook settings: {url} -> {settings.webhook_listen}:{settings.webhook_port}")


def _check_content(report: Report, settings: Settings) -> None:
    try:
        content = load_content(settings.content_dir)
    except ContentError as exc:
        for line in exc.problems:
            report.problem(line)
        return
    for line in content.warnings:
        report.warn(line)
    entries = sum(len(pack.faq) for pack in content.packs.values())
    languages = ", ".join(content.languages)
    report.ok(f"content {settings.content_dir} ({languages}; {entries} knowledge entries)")


def _check_database(report: Report, path: Path) -> None:
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), Path("."))
        if not os.access(folder, os.W_OK):
            report.problem(f"DATABASE_PATH: cannot create {str(path)!r}: {folder} is not writable")
        else:
            report.warn(
                f"DATABASE_PATH: {str(path)!r} does not exist yet; the bot creates it at start "
                "(or run `python -m bot db migrate`)"
            )
        return
    try:
        pending, unknown = database_state(path)
    except sqlite3.Error as exc:
        report.problem(f"DATABASE_PATH: {str(path)!r} cannot be used: {exc}")
        return
    if unknown:
        report.problem(
            f"DATABASE_PATH: {str(path)!r} has migrations this version does not know "
            f"({', '.join(unknown)}): it was used by a newer version of the bot"
        )
    elif pending:
        report.problem(
            f"DATABASE_PATH: {str(path)!r} needs migrations ({', '.join(pending)}): "
            "run `python -m bot db migrate` (the bot also does at start)"
        )
    else:
        report.ok(f"database {path} (schema up to date, writable)")


def _check_telegram(report: Report, settings: Settings) -> None:
    token = settings.token
    if token is None:
        return
    api = settings.telegram_api_url
    try:
        status, body = asyncio.run(_get_me(f"{api}/bot{token}/getMe"))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        reason = redact(str(exc) or type(exc).__name__, [token])
        report.problem(f"TELEGRAM_API_URL: cannot reach {api} for getMe: {reason}")
        return
    if status in (401, 404):
        report.problem(
            f"TELEGRAM_BOT_TOKEN: {api} rejected the token ({status}); copy it again from "
            "@BotFather (or TELEGRAM_API_URL is not a Bot API server)"
        )
        return
    result = body.get("result") if isinstance(body, dict) and body.get("ok") else None
    if status != 200 or not isinstance(result, dict) or not result.get("is_bot"):
        description = body.get("description") if isinstance(body, dict) else None
        reason = redact(str(description or "no Bot API answer"), [token])
        report.problem(f"TELEGRAM_API_URL: {api} answered getMe with {status}: {reason}")
        return
    report.ok(f"Telegram: getMe answered, the bot is @{result.get('username')}")


async def _get_me(url: str) -> tuple[int, object]:
    timeout = aiohttp.ClientTimeout(total=GET_ME_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        try:
            body: object = await response.json(content_type=None)
        except ValueError:
            body = None
        return response.status, body
