"""What admins see: the opt-in list page by page, the campaign's numbers, declined questions,
the audit log, and the export's cells. Pure: no Telegram, no database, no clock.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from flows.content import AdminTexts, Content, plain
from flows.models import COMMAND_LINE_ACTOR, ERASED_ACTOR, Button, Funnel, Reply, Status

__all__ = [
    "CHART_DAYS",
    "CSV_COLUMNS",
    "PAGE_BUTTON",
    "PAGE_SIZE",
    "AdminView",
    "AuditLine",
    "Chart",
    "DeclinedQuestion",
    "OptIn",
    "OptInPage",
    "Stats",
    "clamp_page",
    "csv_cells",
    "json_record",
    "neutralize",
    "page_count",
    "parse_page",
    "percent",
]

PAGE_SIZE = 20
CHART_DAYS = 30  # the /stats picture's new opt-ins per day
CSV_COLUMNS = (
    "user_id",
    "first_name",
    "username",
    "consent_at",
    "consent_method",
    "consent_version",
    "source",
    "language",
    "status",
    "status_changed_at",
)
# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = frozenset("=+-@\t\r")
_MESSAGE_BUDGET = 4096  # Telegram's limit, in UTF-16 code units after parsing the HTML
_SHORT = 16  # how much of a name, method or text version a list line shows; the export has all
PAGE_BUTTON = "optins"
_LISTED = (Status.ACTIVE, Status.UNSUBSCRIBED, Status.BLOCKED)


class OptIn(NamedTuple):
    """One row of the opt-in list; moments are ISO 8601 UTC text, as stored."""

    user_id: int
    first_name: str | None
    username: str | None
    consent_at: str
    consent_method: str
    consent_version: str
    source: str | None
    language: str
    status: Status
    changed_at: str


@dataclass(frozen=True)
class OptInPage:
    """One page of the list, newest first, with the totals by status."""

    rows: tuple[OptIn, ...]
    number: int
    pages: int
    totals: Mapping[Status, int]
    beyond: bool = False

    @property
    def total(self) -> int:
        return sum(self.totals.values())


@dataclass(frozen=True)
class Stats:
    """The campaign's numbers at one moment."""

    statuses: Mapping[Status, int]
    new_7: int
    new_30: int
    funnel_all: Mapping[Funnel, int]
    funnel_7: Mapping[Funnel, int]
    questions_all: Mapping[str, int]
    questions_7: Mapping[str, int]
    # New opt-ins on each of the last CHART_DAYS days (UTC), oldest first, zero days included.
    new_per_day: tuple[tuple[date, int], ...] = ()


@dataclass(frozen=True)
class Chart:
    """The /stats picture as numbers and plain-text labels, ready to draw."""

    title: str
    days_title: str
    days: tuple[tuple[str, int], ...]
    funnel_title: str
    funnel: tuple[tuple[str, int], ...]
    people: str


class DeclinedQuestion(Protocol):
    """A question the bot declined, as storage counts it (nothing about who asked)."""

    @property
    def question(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def times(self) -> int: ...
    @property
    def last_asked(self) -> str: ...


class AuditLine(Protocol):
    """One entry of the audit log."""

    @property
    def at(self) -> datetime: ...
    @property
    def actor_id(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def detail(self) -> str: ...


# -- paging and numbers --------------------------------------------------------------------


def parse_page(arg: str) -> int | None:
    """Read `/optins [PAGE]`: no argument is page 1; anything but a positive number is None."""
    text = arg.strip()
    if not text:
        return 1
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        return None
    return int(text)


def page_count(total: int, size: int = PAGE_SIZE) -> int:
    """Return how many pages `total` rows fill (an empty list is one empty page)."""
    return max(1, math.ceil(total / size))


def clamp_page(requested: int, total: int, size: int = PAGE_SIZE) -> int:
    """Return the page to show: the requested one, or the last when it is beyond the end."""
    return min(max(1, requested), page_count(total, size))


def percent(part: int, whole: int) -> str | None:
    """Return `part` as a percentage of `whole` ("62.5%"), or None when `whole` is zero."""
    if whole <= 0:
        return None
    return f"{100 * part / whole:.1f}%"


# -- export cells --------------------------------------------------------------------------


def neutralize(cell: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with a quote, so it stays text."""
    return "'" + cell if cell[:1] in _FORMULA_START else cell


def csv_cells(row: OptIn, *, names: bool) -> list[str]:
    """Return a row's CSV cells in CSV_COLUMNS order, neutralized; names only if shown."""
    cells = (
        str(row.user_id),
        (row.first_name or "") if names else "",
        (row.username or "") if names else "",
        row.consent_at,
        row.consent_method,
        row.consent_version,
        row.source or "",
        row.language,
        row.status.value,
        row.changed_at,
    )
    return [neutralize(cell) for cell in cells]


def json_record(row: OptIn, *, names: bool) -> dict[str, Any]:
    """Return a row as a JSON object keyed by CSV_COLUMNS; names only if shown."""
    return {
        "user_id": row.user_id,
        "first_name": row.first_name if names else None,
        "username": row.username if names else None,
        "consent_at": row.consent_at,
        "consent_method": row.consent_method,
        "consent_version": row.consent_version,
        "source": row.source,
        "language": row.language,
        "status": row.status.value,
        "status_changed_at": row.changed_at,
    }


# -- replies -------------------------------------------------------------------------------


def _short(text: str, limit: int = _SHORT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _minute(moment: str) -> str:
    """Show a stored ISO moment as `YYYY-MM-DD HH:MM`."""
    return f"{moment[:10]} {moment[11:16]}"


def _by_status(counts: Mapping[Status, int]) -> dict[str, int]:
    return {status.value: counts.get(status, 0) for status in _LISTED}


def _visible(text: str) -> int:
    """Count what Telegram counts of our HTML: UTF-16 code units of the text shown."""
    return len(plain(text).encode("utf-16-le")) // 2


def _fit(head: str, lines: Sequence[str], tail: str = "") -> str:
    """Join a message, leaving out the last lines when it would be too long for Telegram."""
    kept: list[str] = []
    size = _visible(head) + _visible(tail) + 2
    for line in lines:
        size += _visible(line) + 1
        if size > _MESSAGE_BUDGET:
            kept.append("…")
            break
        kept.append(line)
    return "\n".join(part for part in (head, "\n".join(kept), tail) if part)


class AdminView:
    """Render what admins see from the texts in `<lang>/staff.yaml`, section `admin`."""

    def __init__(self, content: Content, lang: str | None) -> None:
        self.content = content
        self.texts: AdminTexts = content.pack(lang).staff.admin

    def say(self, text: str, **values: object) -> str:
        """Fill a text with run-time values, escaped."""
        return self.fill(text, values)

    def fill(
        self, text: str, values: Mapping[str, object], raw: Mapping[str, str] | None = None
    ) -> str:
        """Fill a text; `values` are escaped, `raw` ones are already our HTML."""
        return self.content.say(text, values, raw)

    def status(self, status: Status) -> str:
        """Return the admin label of a subscription status."""
        t = self.texts
        labels = {
            Status.ACTIVE: t.status_active,
            Status.UNSUBSCRIBED: t.status_unsubscribed,
            Status.BLOCKED: t.status_blocked,
        }
        return labels.get(status, status.value)

    def bad_page(self) -> Reply:
        """Answer `/optins` with something that is not a page number."""
        return Reply(text=self.say(self.texts.optins_bad_page))

    def optins(self, page: OptInPage, *, names: bool, edit: bool = False) -> Reply:
        """Show one page of the opt-in list with its totals and previous/next buttons."""
        t = self.texts
        if page.total == 0:
            return Reply(text=self.say(t.optins_empty), edit=edit)
        head = self.say(t.optins_title, page=page.number, pages=page.pages)
        totals = self.fill(t.optins_totals, {"total": page.total, **_by_status(page.totals)})
        note = self.say(t.optins_beyond, pages=page.pages) if page.beyond else ""
        top = "\n".join(part for part in (note, head, totals) if part) + "\n"
        text = _fit(top, [self._optin_line(row, names=names) for row in page.rows])
        return Reply(text=text, buttons=self._page_buttons(page), edit=edit)

    def _optin_line(self, row: OptIn, *, names: bool) -> str:
        shown = [row.first_name, f"@{row.username}" if row.username else None] if names else []
        who = " ".join(_short(n) for n in shown if n)
        return self.say(
            self.texts.optins_row,
            user_id=row.user_id,
            names=f" {who}" if who else "",
            status=self.status(row.status),
            consent_at=_minute(row.consent_at),
            method=_short(row.consent_method),
            version=_short(row.consent_version),
            source=_short(row.source, 24) if row.source else self.texts.no_source,
            language=row.language,
        )

    def _page_buttons(self, page: OptInPage) -> tuple[tuple[Button, ...], ...]:
        row: list[Button] = []
        if page.number > 1:
            data = f"{PAGE_BUTTON}:{page.number - 1}"
            row.append(Button(label=self.texts.button_previous, data=data))
        if page.number < page.pages:
            data = f"{PAGE_BUTTON}:{page.number + 1}"
            row.append(Button(label=self.texts.button_next, data=data))
        return (tuple(row),) if row else ()

    def export_caption(self, rows: int, date: str) -> str:
        """Caption the exported document."""
        return self.say(self.texts.export_caption, rows=rows, date=date)

    def stats(self, stats: Stats) -> Reply:
        """Show subscriber counts, new opt-ins, the funnel and question counts."""
        t = self.texts
        values = {
            **_by_status(stats.statuses),
            "new_7": stats.new_7,
            "new_30": stats.new_30,
            "answered": stats.questions_all.get("answered", 0),
            "declined": stats.questions_all.get("declined", 0),
            "answered_7": stats.questions_7.get("answered", 0),
            "declined_7": stats.questions_7.get("declined", 0),
        }
        funnels = {
            "funnel_all": self._funnel(stats.funnel_all),
            "funnel_7": self._funnel(stats.funnel_7),
        }
        return Reply(text=self.fill(t.stats, values, raw=funnels))

    def _funnel(self, counts: Mapping[Funnel, int]) -> str:
        t = self.texts
        labels = t.steps.model_dump()
        lines = []
        previous: Funnel | None = None
        for step in Funnel:
            count = counts.get(step, 0)
            if previous is None:
                lines.append(self.say(t.funnel_first, step=labels[step.value], count=count))
            else:
                rate = percent(count, counts.get(previous, 0)) or t.no_percent
                lines.append(
                    self.say(t.funnel_next, step=labels[step.value], count=count, percent=rate)
                )
            previous = step
        return "\n".join(lines)

    def chart(self, stats: Stats, today: date) -> Chart:
        """Describe the /stats picture: new opt-ins per day and the all-time funnel."""
        t = self.texts
        labels = t.steps.model_dump()
        days = tuple(
            (self._plain(t.chart_day, month=f"{d.month:02d}", day=f"{d.day:02d}"), count)
            for d, count in stats.new_per_day
        )
        return Chart(
            title=self._plain(t.chart_title, date=today.isoformat()),
            days_title=self._plain(t.chart_new, days=len(days)),
            days=days,
            funnel_title=self._plain(t.chart_funnel),
            funnel=tuple((plain(labels[s.value]), stats.funnel_all.get(s, 0)) for s in Funnel),
            people=self._plain(t.chart_people),
        )

    def chart_caption(self) -> str:
        """Caption the /stats picture."""
        return self.say(self.texts.chart_caption)

    def _plain(self, text: str, **values: object) -> str:
        """Fill a text for a place that shows no HTML (the chart)."""
        return plain(self.content.fill(text, **{k: str(v) for k, v in values.items()}))

    def reloaded(self, content: Content) -> Reply:
        """Say what a /reload loaded: the languages and the size of the knowledge file."""
        entries = sum(len(pack.faq) for pack in content.packs.values())
        languages = ", ".join(content.languages)
        return Reply(text=self.say(self.texts.reload_done, languages=languages, entries=entries))

    def reload_refused(self, problems: Sequence[str]) -> Reply:
        """List why a /reload was refused, one `file:line: reason` a line."""
        head = self.say(self.texts.reload_refused, count=len(problems))
        return Reply(text=_fit(head, [html.escape(problem) for problem in problems]))

    def unanswered(self, questions: Sequence[DeclinedQuestion], days: int) -> Reply:
        """List the questions declined most often, most asked first."""
        t = self.texts
        if not questions:
            return Reply(text=self.say(t.unanswered_empty, days=days))
        lines = [
            self.say(
                t.unanswered_row,
                times=q.times,
                question=_short(q.question, 160),
                language=q.lang,
                last_asked=q.last_asked[:10],
            )
            for q in questions
        ]
        return Reply(text=_fit(self.say(t.unanswered_title, days=days), lines))

    def audit(self, entries: Sequence[AuditLine]) -> Reply:
        """List the latest protected actions, newest first."""
        t = self.texts
        if not entries:
            return Reply(text=self.say(t.audit_empty))
        lines = [
            self.say(
                t.audit_row,
                at=entry.at.strftime("%Y-%m-%d %H:%M:%S"),
                actor={COMMAND_LINE_ACTOR: t.audit_command_line, ERASED_ACTOR: t.audit_erased}.get(
                    entry.actor_id, entry.actor_id
                ),
                action=_short(entry.action, 40),
                detail=_short(entry.detail, 60),
            )
            for entry in entries
        ]
        return Reply(text=_fit(self.say(t.audit_title), lines))
