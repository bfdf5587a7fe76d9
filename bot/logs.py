"""Logging that never shows the bot token, nor (unless asked) anything about people.

python-telegram-bot dumps every update at DEBUG (what people type, their names and ids),
aiosqlite logs every statement with its parameters, httpx logs request URLs that hold the
token. Unless LOG_PRIVATE_DATA is on, records below WARNING from those libraries are
dropped at any level, and our own log lines never name a person.
"""

from __future__ import annotations

import logging
import re
import sys
from types import TracebackType

__all__ = ["THIRD_PARTY", "RedactingFormatter", "redact", "setup_logging"]

logger = logging.getLogger(__name__)

# Bot tokens look like 123456789:AA...; catch them even when we were not told the token.
_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")
# Libraries whose DEBUG and INFO records may carry what people type, names, ids or the token.
THIRD_PARTY = ("telegram", "aiosqlite", "httpx", "httpcore", "aiohttp", "asyncio")


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Return `text` with each secret, and anything shaped like a bot token, replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[token]")
    return _TOKEN_SHAPE.sub("[token]", text)


class RedactingFormatter(logging.Formatter):
    """Format records, then remove the token (and anything shaped like one) from the text."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


class _PrivateDataFilter(logging.Filter):
    """Drop the chatty records of libraries that log updates, statements and URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not any(
            record.name == name or record.name.startswith(f"{name}.") for name in THIRD_PARTY
        )


def setup_logging(level: str, token: str | None, *, private_data: bool = False) -> None:
    """Log to stderr at `level`, with the token redacted and private data kept out."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", [token or ""])
    )
    if not private_data:
        handler.addFilter(_PrivateDataFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # An uncaught exception goes through the same formatter, so its traceback is redacted too.
    sys.excepthook = _log_uncaught
    # httpx logs every request URL at INFO, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    if private_data:
        logger.warning(
            "LOG_PRIVATE_DATA is on: logs may hold what people type, their names and ids. "
            "Turn it off after debugging and delete these logs."
        )


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    logging.getLogger("bot").critical("uncaught error", exc_info=(kind, error, trace))
