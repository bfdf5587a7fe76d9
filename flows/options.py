"""The options an organizer may type before a broadcast: audience, time and buttons.

`/broadcast lang=es source=flyer-dorchester acted=no joined=30d at="tomorrow 9am" button=act
TEXT`: each option narrows who gets it (they combine with "and"), says when it goes out, or
adds a button under it. Pure: the time is read against a `now` the caller gives.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.models import Audience, Plan
from flows.when import parse_when

__all__ = ["BROADCAST_BUTTONS", "MAX_AHEAD", "MAX_BUTTONS", "Compose", "parse_compose"]


@dataclass(frozen=True)
class Compose:
    """A parsed `/broadcast [OPTIONS] [TEXT]`: the plan, the text, or what was not understood."""

    plan: Plan
    text: str
    problem: str | None = None  # the option as typed, e.g. `acted=maybe`
    problem_kind: str = ""  # "option", "language", "time", "past"


# The text arrives as HTML (the organizer's formatting is kept): a typed quote is `&quot;`.
_OPTION = re.compile(
    r"^(lang|source|acted|joined|at|button)="
    r'(?:"([^"]*)"|&quot;(.*?)&quot;|“([^”]*)”|(\S+))(?:\s+|$)',
    re.IGNORECASE,
)
_YES = frozenset({"yes", "y", "si", "sí", "sim", "true", "1"})
_NO = frozenset({"no", "n", "nao", "não", "false", "0"})
_SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_JOINED = re.compile(r"^([1-9][0-9]{0,3})\s*d?$", re.IGNORECASE)
BROADCAST_BUTTONS = ("act", "learn")  # or a link
MAX_BUTTONS = 3
MAX_AHEAD = timedelta(days=90)  # the furthest a broadcast may be scheduled


def parse_compose(
    arg: str,
    languages: Sequence[str],
    *,
    now: datetime,
    timezone: str,
    lang: str,
) -> Compose:
    """Split leading options (`lang=es source=flyer acted=no joined=30d at="tomorrow 9am"
    button=act`) from the broadcast text; `lang` is the organizer's, for reading times."""
    text = arg.strip()
    audience: dict[str, object] = {}
    send_at: datetime | None = None
    buttons: list[str] = []
    while (match := _OPTION.match(text)) is not None:
        key = match.group(1).lower()
        value = html.unescape(next(v for v in match.group(2, 3, 4, 5) if v is not None)).strip()
        typed = match.group(0).strip()
        text = text[match.end() :]
        problem = Compose(Plan(), text, typed, "option")
        if key == "lang":
            if value.lower() not in languages:
                return dataclasses.replace(problem, problem=value, problem_kind="language")
            audience["lang"] = value.lower()
        elif key == "source":
            if not _SOURCE.match(value):
                return problem
            audience["source"] = value
        elif key == "acted":
            if value.lower() not in _YES | _NO:
                return problem
            audience["acted"] = value.lower() in _YES
        elif key == "joined":
            days = _JOINED.match(value)
            if days is None:
                return problem
            audience["joined_days"] = int(days.group(1))
        elif key == "at":
            send_at = parse_when(value, lang, now, timezone)
            if send_at is None:
                return dataclasses.replace(problem, problem=value, problem_kind="time")
            if not now < send_at <= now + MAX_AHEAD:
                return dataclasses.replace(problem, problem=value, problem_kind="past")
        else:  # button
            link = value.startswith("https://") and len(value) <= 512
            if not (value.lower() in BROADCAST_BUTTONS or link) or len(buttons) >= MAX_BUTTONS:
                return problem
            buttons.append(value if link else value.lower())
    plan = Plan(
        audience=Audience.model_validate(audience), send_at=send_at, buttons=tuple(buttons)
    )
    return Compose(plan, text.strip())
