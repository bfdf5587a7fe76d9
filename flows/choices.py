"""Choosing a draft's audience, buttons and time by buttons, and the time typed after "When"."""

from __future__ import annotations

from flows.broadcast import (
    BroadcastState,
    ButtonAction,
    option_data,
)
from flows.models import (
    Audience,
    Audit,
    Broadcast,
    Button,
    ComposeOutcome,
    Conversation,
    Plan,
    Reply,
    SetDraftPlan,
    State,
)
from flows.options import MAX_AHEAD
from flows.organizer import (
    Context,
    button,
    describe,
    reply_with,
)
from flows.text import fold
from flows.when import parse_when

__all__ = ["ask_time", "broadcast_plan", "choices", "choose", "typed_time"]


def broadcast_plan(broadcast: Broadcast) -> Plan:
    """The plan a broadcast was saved with."""
    return Plan(audience=broadcast.audience, send_at=broadcast.send_at, buttons=broadcast.buttons)


def choices(broadcast: Broadcast, plan: Plan, ctx: Context) -> ComposeOutcome:
    """Who gets it and which buttons it carries, as buttons; the current ones are ticked."""
    texts, choice = ctx.texts, ctx.texts.choices
    if broadcast.state is not BroadcastState.DRAFT:
        return reply_with(ctx, texts.not_available)
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
        (button(texts.buttons.back, ButtonAction.BACK, broadcast.id),),
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


def choose(option: tuple[int, str, str], ctx: Context) -> ComposeOutcome:
    """One option chosen by button: save it and show the choices again."""
    broadcast_id, key, value = option
    broadcast = ctx.broadcast
    if (
        broadcast is None
        or broadcast.id != broadcast_id
        or broadcast.state is not BroadcastState.DRAFT
        or broadcast.author_id != ctx.user_id
    ):
        return reply_with(ctx, ctx.texts.not_available)
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
        return reply_with(ctx, ctx.texts.not_available)
    plan = plan.model_copy(update={"audience": Audience.model_validate(audience)})
    shown = choices(broadcast, plan, ctx)
    effect = SetDraftPlan(broadcast_id=broadcast.id, plan=plan)
    audit = Audit(action="broadcast.plan", detail=f"id={broadcast.id} {key}={value}")
    return shown.model_copy(update={"effects": (effect, audit)})


def ask_time(broadcast: Broadcast, ctx: Context) -> ComposeOutcome:
    """Ask when the draft should go out; the next message is read as a time."""
    if broadcast.state is not BroadcastState.DRAFT or broadcast.author_id != ctx.user_id:
        return reply_with(ctx, ctx.texts.not_available)
    return ComposeOutcome(
        conversation=Conversation(state=State.SCHEDULING_BROADCAST, step=broadcast.id),
        replies=(Reply(text=ctx.member.say(ctx.texts.choices.ask_time, id=broadcast.id)),),
    )


def typed_time(text: str, ctx: Context) -> ComposeOutcome:
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
            return reply_with(ctx, template, when=text)
        send_at = found
    plan = plan.model_copy(update={"send_at": send_at})
    return ComposeOutcome(
        conversation=Conversation(),
        replies=(),
        effects=(SetDraftPlan(broadcast_id=broadcast.id, plan=plan, preview=True),),
    )
