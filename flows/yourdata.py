"""What the bot keeps about a person: the privacy text, /mydata, and /deleteme."""

from __future__ import annotations

import html

from flows.context import Context, old_button, say
from flows.models import Button, Conversation, DeleteUser, Outcome, Reply, State, Status

__all__ = ["delete", "deleteme", "mydata", "privacy"]


def privacy(ctx: Context, _: str = "") -> Outcome:
    buttons = ctx.pack.texts.buttons
    rows = (
        (Button(label=buttons.mydata, data="mydata"),),
        (Button(label=buttons.menu, data="menu"),),
    )
    return say(ctx, ctx.pack.texts.privacy, rows)


def mydata(ctx: Context, _: str = "") -> Outcome:
    texts, p = ctx.pack.texts, ctx.profile
    status = {
        Status.NONE: texts.status_none,
        Status.ACTIVE: texts.status_active,
        Status.UNSUBSCRIBED: texts.status_unsubscribed,
        Status.BLOCKED: texts.status_blocked,
    }[p.status]

    def method(name: str | None) -> str:
        if name and name.startswith("text:"):
            return texts.change_methods.get("text", name).replace("{word}", name[5:].upper())
        return texts.change_methods.get(name or "", name or "-")

    consent = changed = "-"
    if p.consent_at:
        consent = ctx.say(
            texts.mydata_consent,
            date=f"{p.consent_at:%Y-%m-%d %H:%M}",
            method=method(p.consent_method),
            version=p.consent_version or "-",
        )
    if p.changed_at and p.status is not Status.ACTIVE:
        changed = ctx.say(
            texts.mydata_changed,
            date=f"{p.changed_at:%Y-%m-%d %H:%M}",
            method=method(p.change_method),
        )
    steps = ", ".join(
        f"{html.escape(texts.funnel_steps.get(step.value, step.value))} {at:%Y-%m-%d}"
        for step, at in p.steps
    )
    names = " ".join(part for part in (p.first_name, p.username and f"@{p.username}") if part)
    text = ctx.say(
        texts.mydata,
        user_id=p.user_id,
        language=ctx.pack.texts.language_name,
        first_seen=f"{p.first_seen:%Y-%m-%d}",
        last_seen=f"{p.last_seen:%Y-%m-%d %H:%M}" if p.last_seen else "-",
        came_from=p.source or "-",
        trusted={
            "status": ctx.say(status),
            "consent": consent,
            "changed": changed,
            "steps": steps or "-",
        },
        names=names or "-",
        updates_sent=p.broadcasts,
    )
    rows = (
        (Button(label=ctx.pack.texts.buttons.delete_confirm, data="del:ask"),),
        (Button(label=ctx.pack.texts.buttons.menu, data="menu"),),
    )
    return Outcome(conversation=ctx.conversation, replies=(Reply(text=text, buttons=rows),))


def deleteme(ctx: Context, _: str = "") -> Outcome:
    buttons = ctx.pack.texts.buttons
    rows = (
        (
            Button(label=buttons.delete_confirm, data="del:yes"),
            Button(label=buttons.delete_cancel, data="del:no"),
        ),
    )
    return Outcome(
        conversation=Conversation(state=State.CONFIRMING_DELETE),
        replies=(Reply(text=ctx.say(ctx.pack.texts.delete_prompt), buttons=rows),),
    )


def delete(ctx: Context, answer: str) -> Outcome:
    texts = ctx.pack.texts
    if answer == "ask":
        return deleteme(ctx)
    if answer == "yes" and ctx.conversation.state is State.CONFIRMING_DELETE:
        return Outcome(
            conversation=Conversation(),
            replies=(Reply(text=ctx.say(texts.deleted), edit=True),),
            effects=(DeleteUser(),),
        )
    if answer in {"yes", "no"}:
        return Outcome(
            conversation=Conversation(),
            replies=(Reply(text=ctx.say(texts.delete_cancelled), edit=True),),
        )
    return old_button(ctx)
