"""What every conversation flow consults, and the replies they share (menus, labels)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.content import Content, FaqEntry, LanguagePack
from flows.faq import FaqIndex
from flows.listen import Listener
from flows.models import Button, Conversation, Outcome, Profile, Reply, Status

__all__ = ["Context", "Rows", "label", "menu_buttons", "menu_row", "old_button", "say"]

Rows = tuple[tuple[Button, ...], ...]
LABEL = 48  # characters of a question shown on a button


@dataclass(frozen=True)
class Context:
    """Everything a flow may consult besides the event."""

    content: Content
    profile: Profile
    conversation: Conversation
    faq: Mapping[str, FaqIndex]
    listener: Listener
    bot_username: str | None = None
    question_days: int = 90  # QUESTION_RETENTION_DAYS and INACTIVE_USER_DAYS, for the texts
    inactive_days: int = 90

    @property
    def pack(self) -> LanguagePack:
        return self.content.pack(self.profile.lang)

    def say(self, text: str, trusted: Mapping[str, str] | None = None, **values: object) -> str:
        """Fill a content text; run-time values are escaped, content (`trusted`) is HTML."""
        return self.content.say(
            text,
            values,
            trusted,
            bot_link=self.bot_link(),
            question_days=str(self.question_days),
            inactive_days=str(self.inactive_days),
        )

    def bot_link(self, payload: str | None = None) -> str:
        return self.content.bot_link(self.bot_username, payload)


def say(ctx: Context, text: str, buttons: Rows = ()) -> Outcome:
    """One reply with a content text, filled, and buttons; the conversation starts over."""
    return Outcome(
        conversation=Conversation(), replies=(Reply(text=ctx.say(text), buttons=buttons),)
    )


def menu_row(ctx: Context) -> Rows:
    """The single "Menu" button under most replies."""
    return ((Button(label=ctx.pack.texts.buttons.menu, data="menu"),),)


def menu_buttons(ctx: Context) -> Rows:
    """The main menu: learn, act, questions, subscription, privacy, and language."""
    b = ctx.pack.texts.buttons
    subscription = (
        Button(label=b.unsubscribe, data="unsub")
        if ctx.profile.status is Status.ACTIVE
        else Button(label=b.subscribe, data="sub")
    )
    rows: list[tuple[Button, ...]] = [
        (Button(label=b.learn, data="learn:0"),),
        (Button(label=b.act, data="act"),),
        (Button(label=b.faq, data="faq"), Button(label=b.ask, data="ask")),
        (subscription, Button(label=b.privacy, data="privacy")),
    ]
    if len(ctx.content.languages) > 1:
        rows.append((Button(label=b.language, data="lang"),))
    return tuple(rows)


def label(entry: FaqEntry) -> str:
    """An entry's first question, cut to fit on a button."""
    question = entry.questions[0]
    return question if len(question) <= LABEL else question[: LABEL - 1].rstrip() + "…"


def old_button(ctx: Context) -> Outcome:
    """The answer to a button from an old message, or data nobody sent."""
    return Outcome(
        conversation=Conversation(),
        replies=(Reply(text=ctx.say(ctx.pack.texts.old_button), buttons=menu_buttons(ctx)),),
    )
