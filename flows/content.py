"""The campaign as content: the models a content folder is validated into (no I/O here).

`storage/content.py` reads the folder; see its docstring for the layout.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from flows.schema import (
    ID,
    INTENTS,
    MAX_MESSAGE,
    PUBLIC_COMMANDS,
    RUNTIME_PLACEHOLDERS,
    STAFF_COMMANDS,
    ContentError,
    Model,
    Text,
    command_menu,
)
from flows.staff_content import (
    AdminTexts,
    BroadcastButtons,
    BroadcastStates,
    BroadcastTexts,
    FunnelLabels,
    StaffTexts,
)
from flows.text import fold

__all__ = [
    "INTENTS",
    "MAX_MESSAGE",
    "PUBLIC_COMMANDS",
    "RUNTIME_PLACEHOLDERS",
    "STAFF_COMMANDS",
    "ActContent",
    "AdminTexts",
    "BroadcastButtons",
    "BroadcastStates",
    "BroadcastTexts",
    "Campaign",
    "Contact",
    "Content",
    "ContentError",
    "FaqEntry",
    "FunnelLabels",
    "LanguagePack",
    "LearnStep",
    "Matching",
    "StaffTexts",
    "Texts",
    "UrgentWords",
    "Words",
    "plain",
]


class Contact(Model):
    """A phone number, address or link people are sent to; unverified until an organizer checks."""

    value: str = Field(min_length=1)
    verified: date | None = Field(default=None, description="the day an organizer checked it")

    @field_validator("verified", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value in ("", None) else value


class Campaign(Model):
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


class Buttons(Model):
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


class Texts(Model):
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
        return command_menu(value, PUBLIC_COMMANDS)


class LearnStep(Model):
    """One message of the guided explanation."""

    id: str = Field(pattern=ID)
    title: str = Text
    text: str = Text


class Learn(Model):
    steps: list[LearnStep] = Field(min_length=1)


class ActContent(Model):
    """<lang>/act.yaml: the thank-the-governor action."""

    intro: str = Text
    call: str = Text
    email: str = Text
    form: str = Text
    share: str = Text
    share_message: str = Text
    done: str = Text


class FaqEntry(Model):
    """One entry of the knowledge file."""

    id: str = Field(pattern=ID)
    questions: list[str] = Field(min_length=1)
    answer: str = Text
    source: str = Field(min_length=1)
    related: list[str] = Field(default_factory=list)


class UrgentWords(Model):
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


_SOUND_REPLACEMENT = re.compile(r"(?:[a-z0-9]|\\[1-9])*")


class Matching(Model):
    """How one language's questions are read before matching (see flows/faq.py)."""

    spelling: dict[str, str] = Field(default_factory=dict)
    # How a word sounds, for the classifier: regular expressions and what they become, in
    # order ("ll": "y" reads "yame" and "llame" alike).
    sounds: dict[str, str] = Field(default_factory=dict)
    small_talk: str = ""
    stop_words: str = ""
    aspect_verbs: str = ""

    @field_validator("sounds")
    @classmethod
    def _sounds(cls, value: dict[str, str]) -> dict[str, str]:
        # Words are matched folded (lower case, no accents), so a rule must be written so too.
        for pattern, replacement in value.items():
            try:
                compiled = re.compile(pattern)
                compiled.sub(replacement, "x")
            except (re.error, IndexError) as error:
                raise ValueError(f"sound {pattern!r}: {error}") from None
            if compiled.search(""):
                raise ValueError(
                    f"sound {pattern!r} matches an empty string: it would change every word"
                )
            if not pattern.isascii():
                raise ValueError(f"sound {pattern!r}: words are matched without accents")
            if not _SOUND_REPLACEMENT.fullmatch(replacement):
                raise ValueError(
                    f"sound {pattern!r}: {replacement!r} may hold only a-z, 0-9 and \\1 to \\9"
                )
        return value

    @property
    def stop(self) -> frozenset[str]:
        """Return the stop words as a set."""
        return frozenset(self.stop_words.split())


class Words(Model):
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


class NotCovered(Model):
    """Examples of questions no entry answers, so the matcher learns to decline them."""

    referral: list[str] = Field(default_factory=list)  # immigration questions for a lawyer
    unrelated: list[str] = Field(default_factory=list)  # anything else


class Faq(Model):
    synonyms: dict[str, str] = Field(default_factory=dict)
    entries: list[FaqEntry] = Field(min_length=1)
    not_covered: NotCovered = Field(default_factory=NotCovered)


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
    not_covered: NotCovered = field(default_factory=NotCovered)


@dataclass(frozen=True, eq=False)
class Content:
    """A loaded, validated campaign."""

    campaign: Campaign
    packs: dict[str, LanguagePack]
    warnings: tuple[str, ...] = ()

    @property
    def languages(self) -> list[str]:
        return self.campaign.languages

    @cached_property
    def stop_words(self) -> frozenset[str]:
        """Every offered language's stop words, folded (a message that is only one stops)."""
        return frozenset(fold(w) for pack in self.packs.values() for w in pack.texts.stop_words)

    @cached_property
    def help_words(self) -> frozenset[str]:
        """Every offered language's help words, folded."""
        return frozenset(fold(w) for pack in self.packs.values() for w in pack.texts.help_words)

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


_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Strip our HTML from a text, for places that cannot show it."""
    return html.unescape(_TAG.sub("", text))
