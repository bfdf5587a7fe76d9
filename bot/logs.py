"""Logging that never shows the bot token."""

from __future__ import annotations

import logging
import re
import sys
from types import TracebackType

__all__ = ["RedactingFormatter", "setup_logging"]

# Bot tokens look like 123456789:AA...; catch them even when we were not told the token.
_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")


class RedactingFormatter(logging.Formatter):
    """Format records, then remove the token (and anything shaped like one) from the text."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "[token]")
        return _TOKEN_SHAPE.sub("[token]", text)


def setup_logging(level: str, token: str | None) -> None:
    """Log to stderr at `level`, with the token redacted and httpx's URL logs silenced."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", [token or ""])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # An uncaught exception goes through the same formatter, so its traceback is redacted too.
    sys.excepthook = _log_uncaught
    # httpx logs every request URL at INFO, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    logging.getLogger("bot").critical("uncaught error", exc_info=(kind, error, trace))
