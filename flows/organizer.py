"""What the broadcast flows share: the organizer's context, what to load for an event, and
how a broadcast is shown to them (its audience in words, its time, its buttons, the
confirmation)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flows import engine
from flows.broadcast import (
    BroadcastState,
    ButtonAction,
    Counts,
    button_data,
    parse_button,
    parse_option,
)
from flows.content import BroadcastTexts, Content
from flows.models import (
    Achieved,
    Audience,
    Broadcast,
    Button,
    Command,
    Composed,
    ComposeEvent,
    ComposeOutcome,
    Conversation,
    Drafted,
    Press,
    PreviewFailed,
    Reply,
    Role,
    State,
)

__all__ = [
    "CANCELLABLE",
    "RECENT",
    "STARTED",
    "WAITING",
    "Context",
    "Needs",
    "achieved_line",
    "audience_words",
    "broadcast_buttons",
    "button",
    "buttons_for",
    "confirmation",
    "describe",
    "detail",
    "may_touch",
    "needs",
    "reply_text",
    "reply_with",
    "stop_row",
    "waiting_row",
    "when_values",
]

RECENT = 10  # broadcasts shown by /broadcasts
STARTED = (BroadcastState.SENDING, BroadcastState.DONE)
CANCELLABLE = (BroadcastState.DRAFT, BroadcastState.SCHEDULED, BroadcastState.SENDING)
WAITING = (BroadcastState.DRAFT, BroadcastState.SCHEDULED)  # ready, not started


@dataclass(frozen=True)
class Needs:
    """What the service loads for an event, besides the organizer."""

    broadcast_id: int | None = None  # the broadcast a button or the service names
    open_draft: bool = False  # the organizer's draft still waiting for its message
    recent: bool = False  # the latest broadcasts, with their counts
    sources: bool = False  # the deep-link sources subscribers came from, most common first


@dataclass(frozen=True)
class Context:
    """Everything the broadcast flow may consult besides the event."""

    member: engine.Context  # the organizer, as the member flows see them
    chat_id: int  # the organizer's chat, where replies and previews go
    broadcast: Broadcast | None = None  # the one the event is about (see `needs`)
    audience: int = 0  # active subscribers it would reach, when it is a draft
    recent: tuple[tuple[Broadcast, Counts], ...] = ()
    achieved: dict[int, Achieved] = field(default_factory=dict)  # for the recent ones
    pressed: int | None = None  # the message whose button was pressed, when it is known
    now: datetime | None = None  # the service's clock, for times typed in words
    sources: tuple[str, ...] = ()  # see Needs.sources

    @property
    def texts(self) -> BroadcastTexts:
        return self.member.pack.staff.broadcast

    @property
    def user_id(self) -> int:
        return self.member.profile.user_id


IDLE = Conversation()


def needs(event: ComposeEvent, conversation: Conversation = IDLE) -> Needs:
    """Say what must be loaded from storage before `handle` sees this event."""
    match event:
        case Press(data=data) if (option := parse_option(data)) is not None:
            return Needs(broadcast_id=option[0], sources=True)
        case Press(data=data):
            button = parse_button(data)
            who = button is not None and button[0] is ButtonAction.WHO
            return Needs(broadcast_id=button[1] if button else None, sources=who)
        case Drafted(broadcast_id=broadcast_id) | PreviewFailed(broadcast_id=broadcast_id):
            return Needs(broadcast_id=broadcast_id)
        case Composed() if conversation.state is State.SCHEDULING_BROADCAST:
            return Needs(broadcast_id=conversation.step)
        case Composed():
            return Needs(open_draft=True)
        case Command(name="broadcasts"):
            return Needs(recent=True)
    return Needs()


def may_touch(role: Role, author_id: int | None, user_id: int) -> bool:
    """Only the author acts on a broadcast; an admin may also test or stop anyone's."""
    return author_id == user_id or role is Role.ADMIN


def confirmation(draft: Broadcast, ctx: Context, *, edit: bool = False) -> ComposeOutcome:
    """The count, the audience in words, the time if any, and the buttons to go on."""
    texts = ctx.texts
    if draft.state is not BroadcastState.DRAFT or not draft.has_content:
        return reply_with(ctx, texts.not_available)
    audience = audience_words(ctx, draft)
    test = button(texts.buttons.test, ButtonAction.TEST, draft.id)
    cancel = button(texts.buttons.cancel, ButtonAction.CANCEL, draft.id)
    if ctx.audience and draft.send_at is not None:
        schedule = button(texts.buttons.schedule, ButtonAction.SCHEDULE, draft.id)
        text = ctx.member.say(
            texts.confirm_scheduled,
            recipients=ctx.audience,
            trusted={"audience": audience, **when_values(ctx, draft.send_at)},
        )
        row: tuple[Button, ...] = (schedule, test, cancel)
    elif ctx.audience:
        send = button(texts.buttons.send, ButtonAction.SEND, draft.id)
        text = ctx.member.say(
            texts.confirm, recipients=ctx.audience, trusted={"audience": audience}
        )
        row = (send, test, cancel)
    else:
        text = ctx.member.say(texts.no_recipients, trusted={"audience": audience})
        row = (test, cancel)
    change = (
        button(texts.buttons.who, ButtonAction.WHO, draft.id),
        button(texts.buttons.when, ButtonAction.WHEN, draft.id),
    )
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=text, buttons=(row, change), edit=edit),),
    )


def achieved_line(say: Callable[..., str], texts: BroadcastTexts, done: Achieved | None) -> str:
    """One line: taps per button, and how many acted or unsubscribed within a week."""
    done = done or Achieved()
    names = texts.button_names
    taps = ", ".join(f"{names.get(b, b)} {n}" for b, n in sorted(done.taps.items()))
    return say(
        texts.achieved,
        trusted={"taps": html.escape(taps) or texts.taps_none},
        acted=done.acted,
        unsubscribed=done.unsubscribed,
    )


# -- helpers -------------------------------------------------------------------------------


def audience_words(ctx: Context, broadcast: Broadcast) -> str:
    """Say in words who the broadcast reaches (the conditions combine with "and")."""
    return describe(ctx.member, ctx.texts, broadcast.audience)


def describe(member: engine.Context, texts: BroadcastTexts, audience: Audience) -> str:
    """Say an audience in the organizer's words, e.g. "language: Spanish, who have not acted"."""
    say = member.say
    if audience.lang is None:
        parts = [say(texts.audience_all)]
    else:
        name = member.content.pack(audience.lang).texts.language_name
        parts = [say(texts.audience_lang, trusted={"language": name})]
    if audience.source is not None:
        parts.append(say(texts.audience_source, source=audience.source))
    if audience.acted is not None:
        parts.append(say(texts.audience_acted if audience.acted else texts.audience_not_acted))
    if audience.joined_days is not None:
        parts.append(say(texts.audience_joined, days=audience.joined_days))
    return ", ".join(parts)


def when_values(ctx: Context, moment: datetime) -> dict[str, str]:
    """The `when` and `timezone` of a text: weekday, date and time in the campaign's zone."""
    zone = ctx.member.content.campaign.timezone
    local = moment.astimezone(ZoneInfo(zone))
    weekday = ctx.texts.weekdays[local.weekday()]
    return {"when": html.escape(f"{weekday} {local:%Y-%m-%d %H:%M}"), "timezone": zone}


def detail(broadcast: Broadcast) -> str:
    """The audit log's words for a broadcast: id, kind, audience, time, buttons."""
    a = broadcast.audience
    parts = [f"id={broadcast.id}", f"kind={broadcast.kind}"]
    parts += [f"{k}={v}" for k, v in a.model_dump().items() if v is not None]
    if broadcast.send_at is not None:
        parts.append(f"at={broadcast.send_at:%Y-%m-%dT%H:%M}Z")
    parts += [f"button={b}" for b in broadcast.buttons]
    return " ".join(parts)


def buttons_for(ctx: Context, broadcast: Broadcast) -> tuple[tuple[Button, ...], ...]:
    member = ctx.member
    return broadcast_buttons(member.content, member.pack.code, broadcast, member.bot_username)


def broadcast_buttons(
    content: Content, lang: str | None, broadcast: Broadcast, bot_username: str | None
) -> tuple[tuple[Button, ...], ...]:
    """The buttons under a broadcast, labelled in `lang`: "act" and "learn" open those flows
    in the bot and count the tap; a link back to the bot carries the broadcast's id in its
    deep link (counted as "link"); any other link is just a link."""
    labels = content.pack(lang).texts.buttons
    rows: list[tuple[Button, ...]] = []
    for kind in broadcast.buttons:
        if kind in ("act", "learn"):
            label = labels.act if kind == "act" else labels.learn
            rows.append((Button(label=label, data=f"bb:{broadcast.id}:{kind}"),))
            continue
        url = kind
        bot = content.bot_link(bot_username)
        if url.split("?", 1)[0].rstrip("/").lower() == bot.lower():
            url = content.bot_link(bot_username, f"bb{broadcast.id}")
        rows.append((Button(label=labels.link, url=url),))
    return tuple(rows)


def waiting_row(
    texts: BroadcastTexts, broadcast_id: int, *, numbered: bool = False
) -> tuple[tuple[Button, ...], ...]:
    """Send now or cancel a scheduled broadcast (numbered where several are listed)."""
    suffix = f" #{broadcast_id}" if numbered else ""
    return (
        (
            button(texts.buttons.send_now + suffix, ButtonAction.SEND, broadcast_id),
            button(texts.buttons.cancel + suffix, ButtonAction.CANCEL, broadcast_id),
        ),
    )


def button(label: str, action: ButtonAction, broadcast_id: int) -> Button:
    return Button(label=label, data=button_data(action, broadcast_id))


def stop_row(texts: BroadcastTexts, broadcast_id: int) -> tuple[tuple[Button, ...], ...]:
    """Return the keyboard with the one button that stops a broadcast being sent."""
    return ((button(texts.buttons.stop, ButtonAction.CANCEL, broadcast_id),),)


def reply_with(ctx: Context, template: str, **values: object) -> ComposeOutcome:
    """Fill a staff text and reply with it; the organizer stays where they are."""
    return reply_text(ctx, ctx.member.say(template, None, **values))


def reply_text(ctx: Context, text: str) -> ComposeOutcome:
    return ComposeOutcome(conversation=ctx.member.conversation, replies=(Reply(text=text),))
