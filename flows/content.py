"""The campaign as content: the models a content folder is validated into (no I/O here).

`storage/content.py` reads the folder; see its docstring for the layout.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ActContent",
    "AdminTexts",
    "Campaign",
    "Contact",
    "Content",
    "ContentError",
    "FaqEntry",
    "FunnelLabels",
    "LanguagePack",
    "LearnStep",
    "Matching",
    "Texts",
    "UrgentWords",
    "Words",
    "plain",
]

MAX_MESSAGE = 4096
# Filled in by the bot at run time in any text; the few texts with values of their own
# (a user's data, a language's name) declare them in their model's `runtime`.
RUNTIME_PLACEHOLDERS = frozenset({"bot_link"})
# The public commands: their descriptions in texts.yaml fill Telegram's command menu.
PUBLIC_COMMANDS = (
    "start",
    "menu",
    "learn",
    "faq",
    "act",
    "subscribe",
    "unsubscribe",
    "language",
    "privacy",
    "mydata",
    "deleteme",
    "help",
)
# Organizers' and admins' commands, for their menus: the role each needs.
STAFF_COMMANDS = {
    "broadcast": "organizer",
    "broadcasts": "organizer",
    "optins": "admin",
    "export": "admin",
    "stats": "admin",
    "unanswered": "admin",
    "audit": "admin",
    "reload": "admin",
}
# Things people say to the bot itself, each answered with a text of texts.yaml.
INTENTS = ("thanks", "greeting", "help")
_COMMAND_DESCRIPTION = 256
_TAG = re.compile(r"<[^>]+>")
_ID = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class ContentError(Exception):
    """The content folder is invalid; `problems` holds `file:line: reason` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Text = Field(min_length=1, max_length=MAX_MESSAGE)


def _command_menu(value: dict[str, str], allowed: Iterable[str]) -> dict[str, str]:
    """Check a command menu as Telegram will: known names, descriptions of 1-256 characters."""
    names = list(allowed)
    problems = [
        f"{name!r} is not one of {', '.join(names)}" for name in value if name not in names
    ]
    problems += [
        f"the description of {name!r} must be 1 to {_COMMAND_DESCRIPTION} characters"
        for name, description in value.items()
        if not 1 <= len(description) <= _COMMAND_DESCRIPTION
    ]
    if problems:
        raise ValueError("; ".join(problems))
    return value


class Contact(_Model):
    """A phone number, address or link people are sent to; unverified until an organizer checks."""

    value: str = Field(min_length=1)
    verified: date | None = Field(default=None, description="the day an organizer checked it")

    @field_validator("verified", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value in ("", None) else value


class Campaign(_Model):
    """campaign.yaml: what is the same in every language."""

    name: str = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    default_language: str
    consent_version: str = Field(min_length=1)
    bot_username: str = Field(min_length=1, description="fallback for {bot_link} offline")
    links: dict[str, str] = Field(default_factory=dict)
    contacts: dict[str, Contact] = Field(default_factory=dict)
    # Where the campaign happens: times organizers type ("tomorrow 9am") are read here.
    timezone: str = "America/New_York"

    @property
    def values(self) -> dict[str, str]:
        """Return every placeholder the campaign fills: its links and its contacts."""
        return {**self.links, **{name: c.value for name, c in self.contacts.items()}}

    def unverified(self) -> list[str]:
        """Return the names of the contacts no organizer has confirmed yet."""
        return [name for name, contact in self.contacts.items() if contact.verified is None]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. America/New_York)") from None
        return value

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not re.fullmatch(r"[a-z]{2}", code):
                raise ValueError(f"language code {code!r} must be two lowercase letters")
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value


class Buttons(_Model):
    """Labels of the buttons the bot shows."""

    learn: str = Text
    act: str = Text
    faq: str = Text
    subscribe: str = Text
    unsubscribe: str = Text
    menu: str = Text
    next: str = Text
    back: str = Text
    ask: str = Text
    call: str = Text
    email: str = Text
    form: str = Text
    share: str = Text
    did_it: str = Text
    language: str = Text
    privacy: str = Text
    mydata: str = Text
    delete_confirm: str = Text
    delete_cancel: str = Text
    link: str = Text  # under a broadcast, a link the organizer added


class Texts(_Model):
    """<lang>/texts.yaml: the bot's own words."""

    runtime: ClassVar[dict[str, frozenset[str]]] = {
        "language_set": frozenset({"language"}),
        "privacy": frozenset({"question_days", "inactive_days"}),
        "faq_fallback": frozenset({"question_days"}),
        "faq_source": frozenset({"cited"}),
        "mydata": frozenset(
            {
                "user_id",
                "language",
                "first_seen",
                "last_seen",
                "came_from",
                "names",
                "status",
                "consent",
                "changed",
                "steps",
                "updates_sent",
            }
        ),
        "mydata_consent": frozenset({"date", "method", "version"}),
        "mydata_changed": frozenset({"date", "method"}),
        "change_methods": frozenset({"word"}),
    }

    language_name: str = Text
    welcome: str = Text
    menu: str = Text
    help: str = Text
    unknown_command: str = Text
    old_button: str = Text
    unsupported_message: str = Text
    no_words: str = Text
    edited_message: str = Text
    group_chat: str = Text
    too_long: str = Text
    error: str = Text
    flood: str = Text
    ask_prompt: str = Text
    faq_fallback: str = Text
    faq_source: str = Text
    faq_topics: str = Text
    urgent: str = Text
    referral: str = Text
    thanks: str = Text
    sensitive_notice: str = Text
    subscribed: str = Text
    already_subscribed: str = Text
    unsubscribed: str = Text
    not_subscribed: str = Text
    language_prompt: str = Text
    language_set: str = Text
    privacy: str = Text
    mydata: str = Text
    mydata_consent: str = Text
    mydata_changed: str = Text
    change_methods: dict[str, str] = Field(default_factory=dict)
    funnel_steps: dict[str, str] = Field(default_factory=dict)
    delete_prompt: str = Text
    deleted: str = Text
    delete_cancelled: str = Text
    status_active: str = Text
    status_unsubscribed: str = Text
    status_blocked: str = Text
    status_none: str = Text
    stop_words: list[str] = Field(min_length=1)
    help_words: list[str] = Field(min_length=1)
    buttons: Buttons
    commands: dict[str, str] = Field(description="command -> menu description")

    @field_validator("commands")
    @classmethod
    def _menu(cls, value: dict[str, str]) -> dict[str, str]:
        return _command_menu(value, PUBLIC_COMMANDS)


class LearnStep(_Model):
    """One message of the guided explanation."""

    id: str = Field(pattern=_ID)
    title: str = Text
    text: str = Text


class Learn(_Model):
    steps: list[LearnStep] = Field(min_length=1)


class ActContent(_Model):
    """<lang>/act.yaml: the thank-the-governor action."""

    intro: str = Text
    call: str = Text
    email: str = Text
    form: str = Text
    share: str = Text
    share_message: str = Text
    done: str = Text


class FaqEntry(_Model):
    """One entry of the knowledge file."""

    id: str = Field(pattern=_ID)
    questions: list[str] = Field(min_length=1)
    answer: str = Text
    source: str = Field(min_length=1)
    related: list[str] = Field(default_factory=list)


class UrgentWords(_Model):
    """What an emergency sounds like in one language (see flows/listen.py)."""

    alarms: list[str] = Field(default_factory=list)
    actors: list[str] = Field(min_length=1)
    actions: list[str] = Field(min_length=1)
    taken: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    they: list[str] = Field(default_factory=list)
    now: list[str] = Field(default_factory=list)
    recent: list[str] = Field(default_factory=list)
    distress: list[str] = Field(default_factory=list)
    calm: list[str] = Field(default_factory=list)


class Matching(_Model):
    """How one language's questions are read before matching (see flows/faq.py)."""

    spelling: dict[str, str] = Field(default_factory=dict)
    small_talk: str = ""
    stop_words: str = ""
    aspect_verbs: str = ""

    @property
    def stop(self) -> frozenset[str]:
        """Return the stop words as a set."""
        return frozenset(self.stop_words.split())


class Words(_Model):
    """<lang>/words.yaml: what the bot listens for besides questions."""

    urgent: UrgentWords
    referral: list[str] = Field(default_factory=list)
    intents: dict[str, list[str]] = Field(default_factory=dict)
    # Everyday words a declined question may keep besides the campaign's own (see scrub).
    common_words: str = ""
    matching: Matching = Field(default_factory=Matching)

    @field_validator("intents")
    @classmethod
    def _intents(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(INTENTS))
        if unknown:
            raise ValueError(f"unknown intents {unknown}; known: {', '.join(INTENTS)}")
        return value


class Faq(_Model):
    synonyms: dict[str, str] = Field(default_factory=dict)
    entries: list[FaqEntry] = Field(min_length=1)


class BroadcastButtons(_Model):
    """Labels of the broadcast buttons."""

    send: str = Text
    test: str = Text
    cancel: str = Text
    stop: str = Text
    schedule: str = Text
    send_now: str = Text


class BroadcastStates(_Model):
    """How a broadcast's state is named in lists."""

    draft: str = Text
    scheduled: str = Text
    sending: str = Text
    done: str = Text
    cancelled: str = Text


class BroadcastTexts(_Model):
    """What organizers see when they broadcast (section `broadcast` of staff.yaml)."""

    placeholders: ClassVar[frozenset[str]] = frozenset(
        {
            "id",
            "recipients",
            "audience",
            "language",
            "languages",
            "error",
            "sent",
            "blocked",
            "failed",
            "unknown",
            "pending",
            "remaining",
            "rate",
            "eta",
            "elapsed",
            "state",
            "created",
            "option",
            "when",
            "timezone",
            "source",
            "days",
            "taps",
            "acted",
            "unsubscribed",
        }
    )

    prompt: str = Text
    bad_language: str = Text
    composing_cancelled: str = Text
    confirm: str = Text
    no_recipients: str = Text
    audience_all: str = Text
    audience_lang: str = Text
    audience_source: str = Text
    audience_acted: str = Text
    audience_not_acted: str = Text
    audience_joined: str = Text
    bad_option: str = Text
    bad_time: str = Text
    past_time: str = Text
    confirm_scheduled: str = Text
    scheduled: str = Text
    list_scheduled: str = Text
    achieved: str = Text
    taps_none: str = Text
    button_names: dict[str, str] = Field(default_factory=dict)  # act, learn, link
    weekdays: list[str] = Field(min_length=7, max_length=7)
    preview_failed: str = Text
    test_sent: str = Text
    draft_cancelled: str = Text
    already_started: str = Text
    not_available: str = Text
    queued: str = Text
    progress: str = Text
    finished: str = Text
    stopped: str = Text
    list_title: str = Text
    list_item: str = Text
    list_empty: str = Text
    states: BroadcastStates
    buttons: BroadcastButtons


class FunnelLabels(_Model):
    """Names of the funnel steps, as admins read them."""

    started: str = Text
    learned: str = Text
    asked: str = Text
    acted: str = Text
    subscribed: str = Text


class AdminTexts(_Model):
    """What admins see when they review the campaign (section `admin` of staff.yaml)."""

    placeholders: ClassVar[frozenset[str]] = frozenset(
        {
            "page",
            "pages",
            "total",
            "active",
            "unsubscribed",
            "blocked",
            "user_id",
            "names",
            "status",
            "consent_at",
            "method",
            "version",
            "source",
            "language",
            "rows",
            "date",
            "new_7",
            "new_30",
            "funnel_all",
            "funnel_7",
            "answered",
            "declined",
            "answered_7",
            "declined_7",
            "step",
            "count",
            "percent",
            "days",
            "times",
            "question",
            "last_asked",
            "at",
            "actor",
            "action",
            "detail",
            "month",
            "day",
            "languages",
            "entries",
        }
    )

    optins_title: str = Text
    optins_totals: str = Text
    optins_row: str = Text
    optins_empty: str = Text
    optins_beyond: str = Text
    optins_bad_page: str = Text
    no_source: str = Text
    status_active: str = Text
    status_unsubscribed: str = Text
    status_blocked: str = Text
    button_previous: str = Field(min_length=1, max_length=64)
    button_next: str = Field(min_length=1, max_length=64)
    export_caption: str = Field(min_length=1, max_length=1024)
    stats: str = Text
    steps: FunnelLabels
    funnel_first: str = Text
    funnel_next: str = Text
    no_percent: str = Text
    unanswered_title: str = Text
    unanswered_row: str = Text
    unanswered_empty: str = Text
    audit_title: str = Text
    audit_row: str = Text
    audit_empty: str = Text
    audit_command_line: str = Text
    audit_erased: str = Text
    # The /stats picture: plain text (no HTML), drawn in the chart.
    chart_title: str = Text
    chart_new: str = Text
    chart_day: str = Text
    chart_people: str = Text
    chart_funnel: str = Text
    chart_caption: str = Field(min_length=1, max_length=1024)
    reload_done: str = Text
    reload_refused: str = Text


class StaffTexts(_Model):
    """<lang>/staff.yaml: texts only organizers and admins see."""

    placeholders: ClassVar[frozenset[str]] = BroadcastTexts.placeholders | AdminTexts.placeholders

    broadcast: BroadcastTexts
    admin: AdminTexts
    # Shown in organizers' and admins' own command menus, next to the public commands.
    commands: dict[str, str] = Field(default_factory=dict)

    @field_validator("commands")
    @classmethod
    def _menu(cls, value: dict[str, str]) -> dict[str, str]:
        return _command_menu(value, STAFF_COMMANDS)


@dataclass(frozen=True)
class LanguagePack:
    """Everything the bot says in one language."""

    code: str
    texts: Texts
    learn: tuple[LearnStep, ...]
    act: ActContent
    faq: tuple[FaqEntry, ...]
    synonyms: dict[str, str]
    staff: StaffTexts
    words: Words


@dataclass(frozen=True, eq=False)
class Content:
    """A loaded, validated campaign."""

    campaign: Campaign
    packs: dict[str, LanguagePack]
    warnings: tuple[str, ...] = ()

    @property
    def languages(self) -> list[str]:
        return self.campaign.languages

    def pack(self, lang: str | None) -> LanguagePack:
        """Return the pack for `lang`, or the campaign's default language."""
        return self.packs.get(lang or "", self.packs[self.campaign.default_language])

    def say(
        self,
        text: str,
        values: Mapping[str, object],
        trusted: Mapping[str, str] | None = None,
        **runtime: str,
    ) -> str:
        """Fill a text: `values` (what people or the database gave) are escaped as HTML,
        `trusted` ones and `runtime` ones are our own text."""
        escaped = {key: html.escape(str(value)) for key, value in values.items()}
        return self.fill(text, **runtime, **escaped, **(trusted or {}))

    def fill(self, text: str, **runtime: str) -> str:
        """Replace `{placeholders}` with campaign links and run-time values."""
        values = {**self.campaign.values, "bot_link": self.bot_link(), **runtime}
        return text.format_map(values)

    def bot_link(self, username: str | None = None, payload: str | None = None) -> str:
        """Return the t.me link to the bot, optionally with a deep-link payload."""
        link = f"https://t.me/{username or self.campaign.bot_username}"
        return f"{link}?start={payload}" if payload else link


def plain(text: str) -> str:
    """Strip our HTML from a text, for places that cannot show it."""
    return html.unescape(_TAG.sub("", text))
