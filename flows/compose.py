"""Composing a broadcast: `/broadcast`, the message after it, the preview and its buttons.

Pure, like the member flows: an event and what the service loaded for it (the organizer,
the broadcast the event is about, how many it would reach) in, an Outcome out. The ids of
new drafts are known only once they are written, so the service follows an outcome that
gave a draft its content with `Drafted`, in the same transaction, for the preview.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flows import engine
from flows.broadcast import (
    BroadcastState,
    ButtonAction,
    Counts,
    button_data,
    parse_button,
    parse_compose,
)
from flows.content import BroadcastTexts
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
    Role,
    SetDraftContent,
    ShowBroadcast,
    StartBroadcast,
    State,
    Text,
)

__all__ = ["RECENT", "Context", "Needs", "handle", "may_touch", "needs", "stop_row"]

RECENT = 10  # broadcasts shown by /broadcasts
_STARTED = (BroadcastState.SENDING, BroadcastState.DONE)
_CANCELLABLE = (BroadcastState.DRAFT, BroadcastState.SENDING)


@dataclass(frozen=True)
class Needs:
    """What the service loads for an event, besides the organizer."""

    broadcast_id: int | None = None  # the broadcast a button or the service names
    open_draft: bool = False  # the organizer's draft still waiting for its message
    recent: bool = False  # the latest broadcasts, with their counts


@dataclass(frozen=True)
class Context:
    """Everything the broadcast flow may consult besides the event."""

    member: engine.Context  # the organizer, as the member flows see them
    chat_id: int  # the organizer's chat, where replies and previews go
    broadcast: Broadcast | None = None  # the one the event is about (see `needs`)
    audience: int = 0  # active subscribers it would reach, when it is a draft
    recent: tuple[tuple[Broadcast, Counts], ...] = ()
    pressed: int | None = None  # the message whose button was pressed, when it is known

    @property
    def texts(self) -> BroadcastTexts:
        return self.member.pack.staff.broadcast

    @property
    def user_id(self) -> int:
        return self.member.profile.user_id


def needs(event: ComposeEvent) -> Needs:
    """Say what must be loaded from storage before `handle` sees this event."""
    match event:
        case Press(data=data):
            button = parse_button(data)
            return Needs(broadcast_id=button[1] if button else None)
        case Drafted(broadcast_id=broadcast_id) | PreviewFailed(broadcast_id=broadcast_id):
            return Needs(broadcast_id=broadcast_id)
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
    """`/broadcast [lang=xx] [TEXT]`: a draft of TEXT, or wait for the message to copy."""
    texts, languages = ctx.texts, ctx.member.content.languages
    parsed = parse_compose(arg, languages)
    if parsed.bad_lang is not None:
        return _say(
            ctx, texts.bad_language, language=parsed.bad_lang, languages=", ".join(languages)
        )
    if not parsed.text:
        return ComposeOutcome(
            conversation=Conversation(state=State.COMPOSING_BROADCAST),
            replies=(Reply(text=ctx.member.say(texts.prompt)),),
            effects=(CreateDraft(chat_id=ctx.chat_id, lang=parsed.lang),),
        )
    draft = CreateDraft(chat_id=ctx.chat_id, lang=parsed.lang, content=DraftText(text=parsed.text))
    return ComposeOutcome(conversation=Conversation(), replies=(), effects=(draft,))


def _composed(message_id: int, text: str | None, ctx: Context) -> ComposeOutcome:
    """The message after a bare `/broadcast` becomes the broadcast, copied as it is."""
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
        CreateDraft(chat_id=ctx.chat_id, lang=None, content=content)
        if draft is None
        else SetDraftContent(broadcast_id=draft.id, content=content)
    )
    return ComposeOutcome(conversation=Conversation(), replies=(), effects=(effect,))


def _preview(ctx: Context) -> ComposeOutcome:
    """Show the new draft as subscribers will see it, then the count and the buttons."""
    draft, texts = ctx.broadcast, ctx.texts
    if draft is None or draft.state is not BroadcastState.DRAFT or not draft.has_content:
        return _say(ctx, texts.not_available)
    audience = _audience(ctx, draft)
    test = _button(texts.buttons.test, ButtonAction.TEST, draft.id)
    cancel = _button(texts.buttons.cancel, ButtonAction.CANCEL, draft.id)
    if ctx.audience:
        send = _button(texts.buttons.send, ButtonAction.SEND, draft.id)
        text = ctx.member.say(
            texts.confirm, recipients=ctx.audience, trusted={"audience": audience}
        )
        row: tuple[Button, ...] = (send, test, cancel)
    else:
        text = ctx.member.say(texts.no_recipients, trusted={"audience": audience})
        row = (test, cancel)
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=text, buttons=(row,)),),
        effects=(Audit(action="broadcast.draft", detail=f"id={draft.id} kind={draft.kind}"),),
        show=ShowBroadcast(broadcast=draft, preview=True),
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
        case ButtonAction.TEST:
            return _test(broadcast, ctx)
        case ButtonAction.CANCEL:
            return _cancel(broadcast, ctx)


def _send(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Start the broadcast once: only its author's ready draft starts."""
    texts = ctx.texts
    ready = broadcast.state is BroadcastState.DRAFT and broadcast.has_content
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


def _test(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Send the draft to the organizer's own chat only."""
    if not broadcast.has_content:
        return _say(ctx, ctx.texts.not_available)
    return ComposeOutcome(
        conversation=ctx.member.conversation,
        replies=(Reply(text=ctx.member.say(ctx.texts.test_sent)),),
        effects=(Audit(action="broadcast.test", detail=f"id={broadcast.id}"),),
        show=ShowBroadcast(broadcast=broadcast),
    )


def _cancel(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Cancel a draft, or stop a broadcast that is sending (nothing more goes out)."""
    if broadcast.state not in _CANCELLABLE:
        return _say(ctx, ctx.texts.not_available)
    replies: tuple[Reply, ...] = ()
    if broadcast.state is BroadcastState.DRAFT and ctx.pressed is not None:
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
    """`/broadcasts`: the recent broadcasts with their counts."""
    texts, say = ctx.texts, ctx.member.say
    if not ctx.recent:
        return _say(ctx, texts.list_empty)
    lines = [say(texts.list_title)]
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
    return _say_text(ctx, "\n".join(lines))


# -- helpers -------------------------------------------------------------------------------


def _audience(ctx: Context, broadcast: Broadcast) -> str:
    if broadcast.lang is None:
        return ctx.member.say(ctx.texts.audience_all)
    name = ctx.member.content.pack(broadcast.lang).texts.language_name
    return ctx.member.say(ctx.texts.audience_lang, trusted={"language": name})


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
