"""Times typed in words ("tomorrow 9am", "jueves 18:00", "amanhã às 9h"), in a time zone.

The reading is dateparser's (a well-kept library for dates in many languages); this module
only smooths a few ways people in this campaign write hours that it reads badly ("a las
10", "às 9h", "10h30", "daqui a 2 horas", "de la tarde"), and asks it for future times in
the campaign's zone, counted from a `now` the caller gives (so tests control the clock).
Day-first dates (3/12) in Spanish and Portuguese, month-first in English.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = ["parse_when"]

_DATE_ORDER = {"en": "MDY", "es": "DMY", "pt": "DMY"}
_REWRITES = (
    (re.compile(r"\b(\d{1,2})h(\d{2})?\b"), lambda m: f"{m[1]}:{m[2] or '00'}"),
    (re.compile(r"\b(?:a las|a la|às|as|at)\s+(\d{1,2})(?=\s|$)"), lambda m: f" {m[1]}:00"),
    (re.compile(r"\b(\d{1,2})(?::00)?\s+(?:de la|da)\s+(?:tarde|noche|noite)\b"), r"\1pm"),
    (re.compile(r"\b(\d{1,2})(?::00)?\s+(?:de la|da)\s+(?:mañana|manha|manhã)\b"), r"\1am"),
    (re.compile(r"\bdaqui a\b"), "em"),
    (re.compile(r"\bdentro de\b"), "en"),
)


def parse_when(text: str, lang: str, now: datetime, timezone: str) -> datetime | None:
    """Read a time from `text` as the organizer meant it; return it in UTC, or None."""
    import dateparser  # a second to import: only when someone schedules

    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone).replace(tzinfo=None)
    written = " ".join(text.lower().split())
    for pattern, replacement in _REWRITES:
        written = pattern.sub(replacement, written)
    found = dateparser.parse(
        written,
        languages=list(dict.fromkeys([lang, "en"])),
        settings={
            "PREFER_DATES_FROM": "future",
            "TIMEZONE": timezone,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "RELATIVE_BASE": local_now,
            "DATE_ORDER": _DATE_ORDER.get(lang, "MDY"),
        },
    )
    if found is None:
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=zone)
    return found.astimezone(UTC)
