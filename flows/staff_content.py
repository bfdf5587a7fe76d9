"""The texts only organizers and admins see (<lang>/staff.yaml): broadcasts and admin views."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from flows.schema import STAFF_COMMANDS, Model, Text, command_menu

__all__ = [
    "AdminTexts",
    "BroadcastButtons",
    "BroadcastChoices",
    "BroadcastStates",
    "BroadcastTexts",
    "FunnelLabels",
    "StaffTexts",
]


class BroadcastButtons(Model):
    """Labels of the broadcast buttons."""

    send: str = Text
    test: str = Text
    cancel: str = Text
    stop: str = Text
    schedule: str = Text
    send_now: str = Text
    who: str = Text
    when: str = Text
    back: str = Text


class BroadcastChoices(Model):
    """Choosing a broadcast's audience, buttons and time by buttons."""

    title: str = Text  # {id}, {audience}
    all_languages: str = Text
    anyone: str = Text
    not_acted: str = Text
    acted: str = Text
    any_time: str = Text
    last_days: str = Text  # {days}
    any_source: str = Text
    act_button: str = Text
    learn_button: str = Text
    ask_time: str = Text  # {id}
    now_words: list[str] = Field(min_length=1)  # typed instead of a time: send when pressed


class BroadcastStates(Model):
    """How a broadcast's state is named in lists."""

    draft: str = Text
    scheduled: str = Text
    sending: str = Text
    done: str = Text
    cancelled: str = Text


class BroadcastTexts(Model):
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
    choices: BroadcastChoices
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


class FunnelLabels(Model):
    """Names of the funnel steps, as admins read them."""

    started: str = Text
    learned: str = Text
    asked: str = Text
    acted: str = Text
    subscribed: str = Text


class AdminTexts(Model):
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


class StaffTexts(Model):
    """<lang>/staff.yaml: texts only organizers and admins see."""

    placeholders: ClassVar[frozenset[str]] = BroadcastTexts.placeholders | AdminTexts.placeholders

    broadcast: BroadcastTexts
    admin: AdminTexts
    # Shown in organizers' and admins' own command menus, next to the public commands.
    commands: dict[str, str] = Field(default_factory=dict)

    @field_validator("commands")
    @classmethod
    def _menu(cls, value: dict[str, str]) -> dict[str, str]:
        return command_menu(value, STAFF_COMMANDS)
