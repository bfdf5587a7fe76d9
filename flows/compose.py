"""Composing a broadcast: `/broadcast`, the message after it, the preview and its buttons.

Pure, like the member flows: an event and what the service loaded for it (the organizer,
the broadcast the event is about, how many it would reach) in, an Outcome out. The ids of
new drafts are known only once they are written, so the service follows an outcome that
gave a draft its content with `Drafted`, in the same transaction, for the preview.
"""

from __future__ import annotations

import dataclasses
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
    option_data,
    parse_button,
    parse_option,
)
from flows.content import BroadcastTexts, Content
from flows.models import (
    Achieved,
    Audience,
    Audit,
    Broadcast,
    Button,
    CancelBroadcast,
    Command,
    Composed,
    ComposeEvent,
    ComposeOutcome,
    Conversation,
    CreateDraft,
    DraftCopy,
    Drafted,
    DraftText,
    Effect,
    Plan,
    Press,
    PreviewFailed,
    Reply,
    Role,
    ScheduleBroadcast,
    SetDraftContent,
    SetDraftPlan,
    ShowBroadcast,
    StartBroadcast,
    State,
    Text,
)
from flows.options import MAX_AHEAD, parse_compose
from flows.text import fold
from flows.when import parse_when

__all__ = [
    "RECENT",
    "Context",
    "Needs",
    "achieved_line",
    "broadcast_buttons",
    "describe",
    "handle",
    "may_touch",
    "needs",
    "stop_row",
]

RECENT = 10  # broadcasts shown by /broadcasts
_STARTED = (BroadcastState.SENDING, BroadcastState.DONE)
_CANCELLABLE = (BroadcastState.DRAFT, BroadcastState.SCHEDULED, BroadcastState.SENDING)
_WAITING = (BroadcastState.DRAFT, BroadcastState.SCHEDULED)  # ready, not started


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


_IDLE = Conversation()


def needs(event: ComposeEvent, conversation: Conversation = _IDLE) -> Needs:
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


def handle(event: ComposeEvent, ctx: Context) -> ComposeOutcome:
    """Decide the replies and effects for one organizer event."""
    match event:
        case Command(name="broadcast", arg=arg):
            return _compose(arg, ctx)
        case Command(name="broadcasts"):
            return _list(ctx)
        case Composed(message_id=message_id, text=text):
            return _composed(message_id, text, ctx)
        case Drafted():
            return _preview(ctx)
        case PreviewFailed(error=error):
            return _preview_failed(error, ctx)
        case Press(data=data):
            return _press(data, ctx)
    raise TypeError(f"not a broadcast event: {event!r}")


# -- composing -----------------------------------------------------------------------------


def _compose(arg: str, ctx: Context) -> ComposeOutcome:
    """`/broadcast [OPTIONS] [TEXT]`: a draft of TEXT, or wait for the message to copy."""
    texts, content = ctx.texts, ctx.member.content
    assert ctx.now is not None, "the service gives the broadcast flow its clock"
    parsed = parse_compose(
        arg,
        content.languages,
        now=ctx.now,
        timezone=content.campaign.timezone,
        lang=ctx.member.pack.code,
    )
    match parsed.problem_kind:
        case "language":
            languages = ", ".join(content.languages)
            return _say(ctx, texts.bad_language, language=parsed.problem, languages=languages)
        case "time":
            return _say(ctx, texts.bad_time, when=parsed.problem)
        case "past":
            return _say(ctx, texts.past_time, when=parsed.problem)
        case "option":
            return _say(ctx, texts.bad_option, option=parsed.problem)
    if not parsed.text:
        return ComposeOutcome(
            conversation=Conversation(state=State.COMPOSING_BROADCAST),
            replies=(Reply(text=ctx.member.say(texts.prompt)),),
            effects=(CreateDraft(chat_id=ctx.chat_id, plan=parsed.plan),),
        )
    draft = CreateDraft(chat_id=ctx.chat_id, plan=parsed.plan, content=DraftText(text=parsed.text))
    return ComposeOutcome(conversation=Conversation(), replies=(), effects=(draft,))


def _composed(message_id: int, text: str | None, ctx: Context) -> ComposeOutcome:
    """The message after a bare `/broadcast` becomes the broadcast, copied as it is."""
    if ctx.member.conversation.state is State.SCHEDULING_BROADCAST and not (
        text is not None and engine.is_stop_word(ctx.member.content, text)
    ):
        return _typed_time(text or "", ctx)
    draft = ctx.broadcast
    if text is not None and engine.is_stop_word(ctx.member.content, text):
        # STOP unsubscribes wherever one is (CONTRACTS.md); it also drops the broadcast.
        idle = dataclasses.replace(ctx.member, conversation=Conversation())
        member = engine.handle(Text(text=text), idle)
        cancel: tuple[Effect, ...] = (
            () if draft is None else (CancelBroadcast(broadcast_id=draft.id),)
        )
        return ComposeOutcome(
            conversation=member.conversation,
            replies=(Reply(text=ctx.member.say(ctx.texts.composing_cancelled)), *member.replies),
            effects=(*cancel, *member.effects),
        )
    content = DraftCopy(from_chat_id=ctx.chat_id, message_id=message_id)
    effect: Effect = (
        CreateDraft(chat_id=ctx.chat_id, content=content)
        if draft is None
        else SetDraftContent(broadcast_id=draft.id, content=content)
    )
    return ComposeOutcome(conversation=Conversation(), replies=(), effects=(effect,))


def _preview(ctx: Context) -> ComposeOutcome:
    """Show the new draft as subscribers will see it, then the count and the buttons."""
    draft = ctx.broadcast
    if draft is None or draft.state is not BroadcastState.DRAFT or not draft.has_content:
        return _say(ctx, ctx.texts.not_available)
    confirmation = _confirmation(draft, ctx)
    return confirmation.model_copy(
        update={
            "effects": (Audit(action="broadcast.draft", detail=_detail(draft)),),
            "show": ShowBroadcast(broadcast=draft, preview=True, buttons=_buttons_for(ctx, draft)),
        }
    )


def _confirmation(draft: Broadcast, ctx: Context, *, edit: bool = False) -> ComposeOutcome:
    """The count, the audience in words, the time if any, and the buttons to go on."""
    texts = ctx.texts
    if draft.state is not BroadcastState.DRAFT or not draft.has_content:
        return _say(ctx, texts.not_available)
    audience = _audience(ctx, draft)
    test = _button(texts.buttons.test, ButtonAction.TEST, draft.id)
    cancel = _button(texts.buttons.cancel, ButtonAction.CANCEL, draft.id)
    if ctx.audience and draft.send_at is not None:
        schedule = _button(texts.buttons.schedule, ButtonAction.SCHEDULE, draft.id)
        text = ctx.member.say(
            texts.confirm_scheduled,
            recipients=ctx.audience,
            trusted={"audience": audience, **_when(ctx, draft.send_at)},
        )
        row: tuple[Button, ...] = (schedule, test, cancel)
    elif ctx.audience:
        send = _button(texts.buttons.send, ButtonAction.SEND, draft.id)
        text = ctx.member.say(
            texts.confirm, recipients=ctx.audience, trusted={"audience": audience}
        )
        row = (send, test, cancel)
    else:
        text = ctx.member.say(texts.no_recipients, trusted={"audience": audience})
        row = (test, cancel)
    change = (
        _button(texts.buttons.who, ButtonAction.WHO, draft.id),
        _button(texts.buttons.when, ButtonAction.WHEN, draft.id),
    )
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=text, buttons=(row, change), edit=edit),),
    )


# -- options by buttons ---------------------------------------------------------------------


def broadcast_plan(broadcast: Broadcast) -> Plan:
    """The plan a broadcast was saved with."""
    return Plan(audience=broadcast.audience, send_at=broadcast.send_at, buttons=broadcast.buttons)


def _choices(broadcast: Broadcast, plan: Plan, ctx: Context) -> ComposeOutcome:
    """Who gets it and which buttons it carries, as buttons; the current ones are ticked."""
    texts, choice = ctx.texts, ctx.texts.choices
    if broadcast.state is not BroadcastState.DRAFT:
        return _say(ctx, texts.not_available)
    a = plan.audience

    def option(label: str, key: str, value: str, chosen: bool) -> Button | None:
        data = option_data(broadcast.id, key, value)
        return Button(label=f"✓ {label}" if chosen else label, data=data) if data else None

    def row(*buttons: Button | None) -> tuple[Button, ...]:
        return tuple(b for b in buttons if b is not None)

    content = ctx.member.content
    languages = [option(choice.all_languages, "lang", "*", a.lang is None)] + [
        option(content.pack(code).texts.language_name, "lang", code, a.lang == code)
        for code in content.languages
    ]
    sources = [option(choice.any_source, "source", "*", a.source is None)] + [
        option(name, "source", name, a.source == name)
        for name in dict.fromkeys([*ctx.sources[:4], *([a.source] if a.source else [])])
    ]
    days = [option(choice.any_time, "joined", "*", a.joined_days is None)] + [
        option(choice.last_days.format(days=n), "joined", str(n), a.joined_days == n)
        for n in (7, 30)
    ]
    labels = {"act": choice.act_button, "learn": choice.learn_button}
    rows = (
        row(*languages),
        row(
            option(choice.anyone, "acted", "*", a.acted is None),
            option(choice.not_acted, "acted", "no", a.acted is False),
            option(choice.acted, "acted", "yes", a.acted is True),
        ),
        row(*days),
        row(*sources),
        row(*(option(labels[b], "button", b, b in plan.buttons) for b in labels)),
        (_button(texts.buttons.back, ButtonAction.BACK, broadcast.id),),
    )
    text = ctx.member.say(
        choice.title,
        id=broadcast.id,
        trusted={"audience": describe(ctx.member, texts, a)},
    )
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=text, buttons=tuple(r for r in rows if r), edit=True),),
    )


def _option(option: tuple[int, str, str], ctx: Context) -> ComposeOutcome:
    """One option chosen by button: save it and show the choices again."""
    broadcast_id, key, value = option
    broadcast = ctx.broadcast
    if (
        broadcast is None
        or broadcast.id != broadcast_id
        or broadcast.state is not BroadcastState.DRAFT
        or broadcast.author_id != ctx.user_id
    ):
        return _say(ctx, ctx.texts.not_available)
    plan = broadcast_plan(broadcast)
    audience = plan.audience.model_dump()
    content = ctx.member.content
    unset = value == "*"
    if key == "lang" and (unset or value in content.languages):
        audience["lang"] = None if unset else value
    elif key == "acted" and value in ("*", "yes", "no"):
        audience["acted"] = None if unset else value == "yes"
    elif key == "joined" and (unset or value.isdigit()):
        audience["joined_days"] = None if unset else int(value)
    elif key == "source":
        audience["source"] = None if unset else value
    elif key == "button" and value in ("act", "learn"):
        kept = tuple(b for b in plan.buttons if b != value)
        plan = plan.model_copy(
            update={"buttons": kept if value in plan.buttons else (*kept, value)}
        )
    else:
        return _say(ctx, ctx.texts.not_available)
    plan = plan.model_copy(update={"audience": Audience.model_validate(audience)})
    shown = _choices(broadcast, plan, ctx)
    effect = SetDraftPlan(broadcast_id=broadcast.id, plan=plan)
    audit = Audit(action="broadcast.plan", detail=f"id={broadcast.id} {key}={value}")
    return shown.model_copy(update={"effects": (effect, audit)})


def _ask_time(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Ask when the draft should go out; the next message is read as a time."""
    if broadcast.state is not BroadcastState.DRAFT or broadcast.author_id != ctx.user_id:
        return _say(ctx, ctx.texts.not_available)
    return ComposeOutcome(
        conversation=Conversation(state=State.SCHEDULING_BROADCAST, step=broadcast.id),
        replies=(Reply(text=ctx.member.say(ctx.texts.choices.ask_time, id=broadcast.id)),),
    )


def _typed_time(text: str, ctx: Context) -> ComposeOutcome:
    """The time typed after "When": saved, then the draft is previewed again; "now" clears it."""
    broadcast, texts = ctx.broadcast, ctx.texts
    if broadcast is None or broadcast.state is not BroadcastState.DRAFT:
        return ComposeOutcome(
            conversation=Conversation(), replies=(Reply(text=ctx.member.say(texts.not_available)),)
        )
    assert ctx.now is not None, "the service gives the broadcast flow its clock"
    plan = broadcast_plan(broadcast)
    if fold(text) in {fold(word) for word in texts.choices.now_words}:
        send_at = None
    else:
        content = ctx.member.content
        found = parse_when(text, ctx.member.pack.code, ctx.now, content.campaign.timezone)
        if found is None or not ctx.now < found <= ctx.now + MAX_AHEAD:
            template = texts.bad_time if found is None else texts.past_time
            return _say(ctx, template, when=text)
        send_at = found
    plan = plan.model_copy(update={"send_at": send_at})
    return ComposeOutcome(
        conversation=Conversation(),
        replies=(),
        effects=(SetDraftPlan(broadcast_id=broadcast.id, plan=plan, preview=True),),
    )


def _preview_failed(error: str, ctx: Context) -> ComposeOutcome:
    """Telegram refused the message: it cannot be a broadcast, so the draft is cancelled."""
    draft = ctx.broadcast
    cancel: tuple[Effect, ...] = ()
    if draft is not None and draft.state in _CANCELLABLE:
        cancel = (CancelBroadcast(broadcast_id=draft.id),)
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=ctx.member.say(ctx.texts.preview_failed, error=error)),),
        effects=cancel,
    )


# -- buttons -------------------------------------------------------------------------------


def _press(data: str, ctx: Context) -> ComposeOutcome:
    """Send, Test or Cancel; the data is untrusted and may be stale."""
    if (option := parse_option(data)) is not None:
        return _option(option, ctx)
    button, broadcast = parse_button(data), ctx.broadcast
    if (
        button is None
        or broadcast is None
        or broadcast.id != button[1]
        or not may_touch(ctx.member.profile.role, broadcast.author_id, ctx.user_id)
    ):
        return _say(ctx, ctx.texts.not_available)
    match button[0]:
        case ButtonAction.SEND:
            return _send(broadcast, ctx)
        case ButtonAction.SCHEDULE:
            return _schedule(broadcast, ctx)
        case ButtonAction.TEST:
            return _test(broadcast, ctx)
        case ButtonAction.CANCEL:
            return _cancel(broadcast, ctx)
        case ButtonAction.WHO:
            return _choices(broadcast, broadcast_plan(broadcast), ctx)
        case ButtonAction.WHEN:
            return _ask_time(broadcast, ctx)
        case ButtonAction.BACK:
            return _confirmation(broadcast, ctx, edit=True)


def _send(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Start the broadcast once: only its author's ready draft starts."""
    texts = ctx.texts
    ready = broadcast.state in _WAITING and broadcast.has_content
    if not ready or broadcast.author_id != ctx.user_id:
        template = texts.already_started if broadcast.state in _STARTED else texts.not_available
        return _say(ctx, template, id=broadcast.id)
    replies: tuple[Reply, ...] = ()
    if ctx.pressed is not None:  # the confirmation becomes the status message
        text = ctx.member.say(
            texts.queued,
            id=broadcast.id,
            recipients=ctx.audience,
            trusted={"audience": _audience(ctx, broadcast)},
        )
        replies = (Reply(text=text, buttons=stop_row(texts, broadcast.id), edit=True),)
    lang = broadcast.lang or "all"
    detail = f"id={broadcast.id} recipients={ctx.audience} lang={lang}"
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=replies,
        effects=(
            StartBroadcast(broadcast_id=broadcast.id, status_message_id=ctx.pressed),
            Audit(action="broadcast.start", detail=detail),
        ),
    )


def _schedule(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Confirm the draft to start by itself at its time; the confirmation says when."""
    texts = ctx.texts
    ready = broadcast.state is BroadcastState.DRAFT and broadcast.has_content
    if not ready or broadcast.send_at is None or broadcast.author_id != ctx.user_id:
        template = texts.already_started if broadcast.state in _STARTED else texts.not_available
        return _say(ctx, template, id=broadcast.id)
    text = ctx.member.say(
        texts.scheduled,
        id=broadcast.id,
        trusted={"audience": _audience(ctx, broadcast), **_when(ctx, broadcast.send_at)},
    )
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=text, buttons=_waiting_row(texts, broadcast.id), edit=True),),
        effects=(
            ScheduleBroadcast(broadcast_id=broadcast.id),
            Audit(action="broadcast.schedule", detail=_detail(broadcast)),
        ),
    )


def _test(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Send the draft to the organizer's own chat only."""
    if not broadcast.has_content:
        return _say(ctx, ctx.texts.not_available)
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=ctx.member.say(ctx.texts.test_sent)),),
        effects=(Audit(action="broadcast.test", detail=f"id={broadcast.id}"),),
        show=ShowBroadcast(broadcast=broadcast, buttons=_buttons_for(ctx, broadcast)),
    )


def _cancel(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Cancel a draft, or stop a broadcast that is sending (nothing more goes out)."""
    if broadcast.state not in _CANCELLABLE:
        return _say(ctx, ctx.texts.not_available)
    replies: tuple[Reply, ...] = ()
    if broadcast.state in _WAITING and ctx.pressed is not None:
        text = ctx.member.say(ctx.texts.draft_cancelled, id=broadcast.id)
        replies = (Reply(text=text, edit=True),)
    # A running broadcast: the sender replaces the status message with its summary.
    detail = f"id={broadcast.id} was={broadcast.state}"
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=replies,
        effects=(
            CancelBroadcast(broadcast_id=broadcast.id),
            Audit(action="broadcast.cancel", detail=detail),
        ),
    )


# -- the list ------------------------------------------------------------------------------


def _list(ctx: Context) -> ComposeOutcome:
    """`/broadcasts`: the recent broadcasts with their counts, what each achieved, and
    buttons to send a scheduled one now or cancel it."""
    texts, say = ctx.texts, ctx.member.say
    if not ctx.recent:
        return _say(ctx, texts.list_empty)
    lines = [say(texts.list_title)]
    rows: list[tuple[Button, ...]] = []
    for broadcast, counts in ctx.recent:
        lines.append(
            say(
                texts.list_item,
                id=broadcast.id,
                created=broadcast.created_at.strftime("%Y-%m-%d %H:%M"),
                trusted={
                    "state": getattr(texts.states, broadcast.state.value),
                    "audience": _audience(ctx, broadcast),
                },
                sent=counts.sent,
                blocked=counts.blocked,
                failed=counts.failed,
                pending=counts.remaining,
                unknown=counts.unknown,
            )
        )
        if broadcast.state is BroadcastState.SCHEDULED and broadcast.send_at is not None:
            lines.append(say(texts.list_scheduled, trusted=_when(ctx, broadcast.send_at)))
            rows += _waiting_row(texts, broadcast.id, numbered=True)
        if broadcast.started_at is not None:
            lines.append(achieved_line(ctx.member.say, texts, ctx.achieved.get(broadcast.id)))
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text="\n".join(lines), buttons=tuple(rows)),),
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


def _audience(ctx: Context, broadcast: Broadcast) -> str:
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


def _when(ctx: Context, moment: datetime) -> dict[str, str]:
    """The `when` and `timezone` of a text: weekday, date and time in the campaign's zone."""
    zone = ctx.member.content.campaign.timezone
    local = moment.astimezone(ZoneInfo(zone))
    weekday = ctx.texts.weekdays[local.weekday()]
    return {"when": html.escape(f"{weekday} {local:%Y-%m-%d %H:%M}"), "timezone": zone}


def _detail(broadcast: Broadcast) -> str:
    """The audit log's words for a broadcast: id, kind, audience, time, buttons."""
    a = broadcast.audience
    parts = [f"id={broadcast.id}", f"kind={broadcast.kind}"]
    parts += [f"{k}={v}" for k, v in a.model_dump().items() if v is not None]
    if broadcast.send_at is not None:
        parts.append(f"at={broadcast.send_at:%Y-%m-%dT%H:%M}Z")
    parts += [f"button={b}" for b in broadcast.buttons]
    return " ".join(parts)


def _buttons_for(ctx: Context, broadcast: Broadcast) -> tuple[tuple[Button, ...], ...]:
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


def _waiting_row(
    texts: BroadcastTexts, broadcast_id: int, *, numbered: bool = False
) -> tuple[tuple[Button, ...], ...]:
    """Send now or cancel a scheduled broadcast (numbered where several are listed)."""
    suffix = f" #{broadcast_id}" if numbered else ""
    return (
        (
            _button(texts.buttons.send_now + suffix, ButtonAction.SEND, broadcast_id),
            _button(texts.buttons.cancel + suffix, ButtonAction.CANCEL, broadcast_id),
        ),
    )


def _button(label: str, action: ButtonAction, broadcast_id: int) -> Button:
    return Button(label=label, data=button_data(action, broadcast_id))


def stop_row(texts: BroadcastTexts, broadcast_id: int) -> tuple[tuple[Button, ...], ...]:
    """Return the keyboard with the one button that stops a broadcast being sent."""
    return ((_button(texts.buttons.stop, ButtonAction.CANCEL, broadcast_id),),)


def _say(ctx: Context, template: str, **values: object) -> ComposeOutcome:
    """Fill a staff text and reply with it; the organizer stays where they are."""
    return _say_text(ctx, ctx.member.say(template, None, **values))


def _say_text(ctx: Context, text: str) -> ComposeOutcome:
    return ComposeOutcome(conversation=ctx.member.conversation, replies=(Reply(text=text),))
