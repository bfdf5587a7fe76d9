"""Composing a broadcast: `/broadcast`, the message after it, the preview and its buttons.

Pure, like the member flows: an event and what the service loaded for it (the organizer,
the broadcast the event is about, how many it would reach) in, an Outcome out. The ids of
new drafts are known only once they are written, so the service follows an outcome that
gave a draft its content with `Drafted`, in the same transaction, for the preview.
"""

from __future__ import annotations

import dataclasses

from flows import choices as by_buttons
from flows import engine
from flows.broadcast import (
    BroadcastState,
    ButtonAction,
    parse_button,
    parse_option,
)
from flows.models import (
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
    Press,
    PreviewFailed,
    Reply,
    ScheduleBroadcast,
    SetDraftContent,
    ShowBroadcast,
    StartBroadcast,
    State,
    Text,
)
from flows.options import parse_compose
from flows.organizer import (
    CANCELLABLE,
    RECENT,
    STARTED,
    WAITING,
    Context,
    Needs,
    achieved_line,
    audience_words,
    broadcast_buttons,
    buttons_for,
    confirmation,
    describe,
    detail,
    may_touch,
    needs,
    reply_with,
    stop_row,
    waiting_row,
    when_values,
)

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
            return reply_with(
                ctx, texts.bad_language, language=parsed.problem, languages=languages
            )
        case "time":
            return reply_with(ctx, texts.bad_time, when=parsed.problem)
        case "past":
            return reply_with(ctx, texts.past_time, when=parsed.problem)
        case "option":
            return reply_with(ctx, texts.bad_option, option=parsed.problem)
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
        return by_buttons.typed_time(text or "", ctx)
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
        return reply_with(ctx, ctx.texts.not_available)
    confirm = confirmation(draft, ctx)
    return confirm.model_copy(
        update={
            "effects": (Audit(action="broadcast.draft", detail=detail(draft)),),
            "show": ShowBroadcast(broadcast=draft, preview=True, buttons=buttons_for(ctx, draft)),
        }
    )


def _preview_failed(error: str, ctx: Context) -> ComposeOutcome:
    """Telegram refused the message: it cannot be a broadcast, so the draft is cancelled."""
    draft = ctx.broadcast
    cancel: tuple[Effect, ...] = ()
    if draft is not None and draft.state in CANCELLABLE:
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
        return by_buttons.choose(option, ctx)
    button, broadcast = parse_button(data), ctx.broadcast
    if (
        button is None
        or broadcast is None
        or broadcast.id != button[1]
        or not may_touch(ctx.member.profile.role, broadcast.author_id, ctx.user_id)
    ):
        return reply_with(ctx, ctx.texts.not_available)
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
            return by_buttons.choices(broadcast, by_buttons.broadcast_plan(broadcast), ctx)
        case ButtonAction.WHEN:
            return by_buttons.ask_time(broadcast, ctx)
        case ButtonAction.BACK:
            return confirmation(broadcast, ctx, edit=True)


def _send(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Start the broadcast once: only its author's ready draft starts."""
    texts = ctx.texts
    ready = broadcast.state in WAITING and broadcast.has_content
    if not ready or broadcast.author_id != ctx.user_id:
        template = texts.already_started if broadcast.state in STARTED else texts.not_available
        return reply_with(ctx, template, id=broadcast.id)
    replies: tuple[Reply, ...] = ()
    if ctx.pressed is not None:  # the confirmation becomes the status message
        text = ctx.member.say(
            texts.queued,
            id=broadcast.id,
            recipients=ctx.audience,
            trusted={"audience": audience_words(ctx, broadcast)},
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
        template = texts.already_started if broadcast.state in STARTED else texts.not_available
        return reply_with(ctx, template, id=broadcast.id)
    text = ctx.member.say(
        texts.scheduled,
        id=broadcast.id,
        trusted={
            "audience": audience_words(ctx, broadcast),
            **when_values(ctx, broadcast.send_at),
        },
    )
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=text, buttons=waiting_row(texts, broadcast.id), edit=True),),
        effects=(
            ScheduleBroadcast(broadcast_id=broadcast.id),
            Audit(action="broadcast.schedule", detail=detail(broadcast)),
        ),
    )


def _test(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Send the draft to the organizer's own chat only."""
    if not broadcast.has_content:
        return reply_with(ctx, ctx.texts.not_available)
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=ctx.member.say(ctx.texts.test_sent)),),
        effects=(Audit(action="broadcast.test", detail=f"id={broadcast.id}"),),
        show=ShowBroadcast(broadcast=broadcast, buttons=buttons_for(ctx, broadcast)),
    )


def _cancel(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Cancel a draft, or stop a broadcast that is sending (nothing more goes out)."""
    if broadcast.state not in CANCELLABLE:
        return reply_with(ctx, ctx.texts.not_available)
    replies: tuple[Reply, ...] = ()
    if broadcast.state in WAITING and ctx.pressed is not None:
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
        return reply_with(ctx, texts.list_empty)
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
                    "audience": audience_words(ctx, broadcast),
                },
                sent=counts.sent,
                blocked=counts.blocked,
                failed=counts.failed,
                pending=counts.remaining,
                unknown=counts.unknown,
            )
        )
        if broadcast.state is BroadcastState.SCHEDULED and broadcast.send_at is not None:
            lines.append(say(texts.list_scheduled, trusted=when_values(ctx, broadcast.send_at)))
            rows += waiting_row(texts, broadcast.id, numbered=True)
        if broadcast.started_at is not None:
            lines.append(achieved_line(ctx.member.say, texts, ctx.achieved.get(broadcast.id)))
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text="\n".join(lines), buttons=tuple(rows)),),
    )
