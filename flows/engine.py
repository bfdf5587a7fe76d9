"""The conversation: a pure function of (event, context) to an Outcome."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from flows.content import Content, FaqEntry, LanguagePack, plain
from flows.faq import FaqIndex
from flows.listen import Hearing, Listener
from flows.models import (
    Button,
    Command,
    Conversation,
    Count,
    DeleteUser,
    Effect,
    Event,
    Funnel,
    KeepUnanswered,
    Outcome,
    Press,
    Profile,
    RecordFunnel,
    Reply,
    SetLanguage,
    SetSource,
    State,
    Status,
    Subscribe,
    Text,
    Unsubscribe,
    Unsupported,
)
from flows.sensitive import scrub
from flows.text import fold

__all__ = ["COMMANDS", "Context", "Verdict", "answer", "handle", "is_stop_word"]

MAX_QUESTION = 1000
Rows = tuple[tuple[Button, ...], ...]
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LABEL = 48


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


def handle(event: Event, ctx: Context) -> Outcome:
    """Decide the replies and effects for one event."""
    match event:
        case Command(name=name, arg=arg):
            return _command(name, arg, ctx)
        case Press(data=data):
            return _press(data, ctx)
        case Text(text=text):
            return _text(text, ctx)
        case Unsupported(kind=kind):
            return _unsupported(kind, ctx)
    raise TypeError(f"not an event: {event!r}")


# -- commands ------------------------------------------------------------------------------


def _command(name: str, arg: str, ctx: Context) -> Outcome:
    action = COMMANDS.get(name)
    if action is None:
        return _say(ctx, ctx.pack.texts.unknown_command, _menu_row(ctx))
    return action(ctx, arg)


def _start(ctx: Context, arg: str) -> Outcome:
    effects: list[Effect] = [RecordFunnel(step=Funnel.STARTED)]
    payload = arg.strip()
    if payload and _PAYLOAD.match(payload) and ctx.profile.source is None:
        effects.append(SetSource(source=payload))
    texts = ctx.pack.texts
    replies = [Reply(text=ctx.say(texts.welcome), buttons=_menu_buttons(ctx))]
    return Outcome(conversation=Conversation(), replies=tuple(replies), effects=tuple(effects))


def _menu(ctx: Context, _: str = "") -> Outcome:
    return _say(ctx, ctx.pack.texts.menu, _menu_buttons(ctx))


def _help(ctx: Context, _: str = "") -> Outcome:
    return _say(ctx, ctx.pack.texts.help, _menu_buttons(ctx))


def _learn(ctx: Context, _: str = "", *, step: int = 0, edit: bool = False) -> Outcome:
    steps = ctx.pack.learn
    if not 0 <= step < len(steps):
        return _old_button(ctx)
    buttons = ctx.pack.texts.buttons
    nav: list[Button] = []
    if step > 0:
        nav.append(Button(label=buttons.back, data=f"learn:{step - 1}"))
    if step + 1 < len(steps):
        nav.append(Button(label=buttons.next, data=f"learn:{step + 1}"))
    rows = (
        tuple(nav),
        (Button(label=buttons.act, data="act"), Button(label=buttons.ask, data="ask")),
        (Button(label=buttons.menu, data="menu"),),
    )
    current = steps[step]
    text = f"<b>{current.title}</b> ({step + 1}/{len(steps)})\n\n{current.text}"
    effects: tuple[Effect, ...] = ()
    if step == len(steps) - 1:
        effects = (RecordFunnel(step=Funnel.LEARNED),)
    return Outcome(
        conversation=Conversation(state=State.LEARNING, step=step),
        replies=(Reply(text=ctx.say(text), buttons=tuple(r for r in rows if r), edit=edit),),
        effects=effects,
    )


def _act(ctx: Context, _: str = "") -> Outcome:
    act, buttons = ctx.pack.act, ctx.pack.texts.buttons
    rows = (
        (
            Button(label=buttons.call, data="act:call"),
            Button(label=buttons.email, data="act:email"),
        ),
        (Button(label=buttons.form, url=ctx.content.campaign.values.get("governor_form")),)
        if ctx.content.campaign.values.get("governor_form")
        else (),
        (Button(label=buttons.share, url=_share_url(ctx)),),
        (Button(label=buttons.did_it, data="act:done"),),
        (Button(label=buttons.menu, data="menu"),),
    )
    return Outcome(
        conversation=Conversation(state=State.ACTING),
        replies=(Reply(text=ctx.say(act.intro), buttons=tuple(r for r in rows if r)),),
    )


def _share_url(ctx: Context) -> str:
    message = ctx.content.fill(ctx.pack.act.share_message, bot_link=ctx.bot_link("share"))
    query = urlencode({"url": ctx.bot_link("share"), "text": plain(message)})
    return f"https://t.me/share/url?{query}"


def _act_part(ctx: Context, part: str) -> Outcome:
    act, buttons = ctx.pack.act, ctx.pack.texts.buttons
    if part == "done":
        rows: Rows = (
            (Button(label=buttons.subscribe, data="sub"),),
            (Button(label=buttons.menu, data="menu"),),
        )
        if ctx.profile.status is Status.ACTIVE:
            rows = ((Button(label=buttons.menu, data="menu"),),)
        return Outcome(
            conversation=Conversation(),
            replies=(Reply(text=ctx.say(act.done), buttons=rows),),
            effects=(RecordFunnel(step=Funnel.ACTED),),
        )
    texts = {"call": act.call, "email": act.email, "share": act.share}
    if part not in texts:
        return _old_button(ctx)
    rows = (
        (Button(label=buttons.did_it, data="act:done"), Button(label=buttons.act, data="act")),
    )
    return Outcome(
        conversation=Conversation(state=State.ACTING),
        replies=(Reply(text=ctx.say(texts[part]), buttons=rows),),
    )


def _subscribe(ctx: Context, _: str = "", *, method: str = "command") -> Outcome:
    texts = ctx.pack.texts
    if ctx.profile.status is Status.ACTIVE:
        return _say(ctx, texts.already_subscribed, _menu_row(ctx))
    return Outcome(
        conversation=ctx.conversation,
        replies=(Reply(text=ctx.say(texts.subscribed), buttons=_menu_row(ctx)),),
        effects=(
            Subscribe(
                method=method, version=f"{ctx.content.campaign.consent_version}/{ctx.pack.code}"
            ),
            RecordFunnel(step=Funnel.SUBSCRIBED),
        ),
    )


def _unsubscribe(ctx: Context, _: str = "", *, method: str = "command") -> Outcome:
    texts = ctx.pack.texts
    if ctx.profile.status is not Status.ACTIVE:
        return _say(ctx, texts.not_subscribed, _menu_row(ctx))
    return Outcome(
        conversation=ctx.conversation,
        replies=(Reply(text=ctx.say(texts.unsubscribed)),),
        effects=(Unsubscribe(method=method),),
    )


def _language(ctx: Context, _: str = "") -> Outcome:
    rows = tuple(
        (Button(label=ctx.content.packs[code].texts.language_name, data=f"lang:{code}"),)
        for code in ctx.content.languages
    )
    return _say(ctx, ctx.pack.texts.language_prompt, rows)


def _set_language(ctx: Context, code: str) -> Outcome:
    if code not in ctx.content.packs:
        return _old_button(ctx)
    pack = ctx.content.packs[code]
    profile = ctx.profile.model_copy(update={"lang": code})
    switched = dataclasses.replace(ctx, profile=profile)
    return Outcome(
        conversation=ctx.conversation,
        replies=(
            Reply(
                text=switched.say(pack.texts.language_set, language=pack.texts.language_name),
                buttons=_menu_buttons(switched),
            ),
        ),
        effects=(SetLanguage(lang=code),),
    )


def _privacy(ctx: Context, _: str = "") -> Outcome:
    buttons = ctx.pack.texts.buttons
    rows = (
        (Button(label=buttons.mydata, data="mydata"),),
        (Button(label=buttons.menu, data="menu"),),
    )
    return _say(ctx, ctx.pack.texts.privacy, rows)


def _mydata(ctx: Context, _: str = "") -> Outcome:
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


def _deleteme(ctx: Context, _: str = "") -> Outcome:
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


def _delete(ctx: Context, answer: str) -> Outcome:
    texts = ctx.pack.texts
    if answer == "ask":
        return _deleteme(ctx)
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
    return _old_button(ctx)


def _faq_topics(ctx: Context, _: str = "") -> Outcome:
    rows: Rows = tuple(
        (Button(label=_label(entry), data=f"faq:{entry.id}"),) for entry in ctx.pack.faq
    )
    rows += ((Button(label=ctx.pack.texts.buttons.menu, data="menu"),),)
    return _say(ctx, ctx.pack.texts.faq_topics, rows)


COMMANDS: dict[str, Callable[[Context, str], Outcome]] = {
    "start": _start,
    "menu": _menu,
    "help": _help,
    "learn": _learn,
    "act": _act,
    "faq": _faq_topics,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "language": _language,
    "privacy": _privacy,
    "mydata": _mydata,
    "deleteme": _deleteme,
}


# -- buttons -------------------------------------------------------------------------------


def _press(data: str, ctx: Context) -> Outcome:
    head, _, rest = data.partition(":")
    match head, rest:
        case "menu", "":
            return _menu(ctx)
        case "learn", digits if digits.isascii() and digits.isdigit():
            return _learn(ctx, step=int(digits), edit=True)
        case "act", "":
            return _act(ctx)
        case "act", part:
            return _act_part(ctx, part)
        case "ask", "":
            return _say(ctx, ctx.pack.texts.ask_prompt, _menu_row(ctx))
        case "faq", "":
            return _faq_topics(ctx)
        case "faq", entry_id:
            entry = ctx.faq[ctx.pack.code].get(entry_id)
            return _answer(ctx, entry) if entry else _old_button(ctx)
        case "sub", "":
            return _subscribe(ctx, method="button")
        case "unsub", "":
            return _unsubscribe(ctx, method="button")
        case "lang", "":
            return _language(ctx)
        case "lang", code:
            return _set_language(ctx, code)
        case "privacy", "":
            return _privacy(ctx)
        case "mydata", "":
            return _mydata(ctx)
        case "del", answer:
            return _delete(ctx, answer)
    return _old_button(ctx)


def _old_button(ctx: Context) -> Outcome:
    return Outcome(
        conversation=Conversation(),
        replies=(Reply(text=ctx.say(ctx.pack.texts.old_button), buttons=_menu_buttons(ctx)),),
    )


# -- free text -----------------------------------------------------------------------------

# A referral word ("DACA", "green card") sends a question to legal help unless the knowledge
# file answers it at least this well.
REFERRAL_OVERRIDE = 0.6


@dataclass(frozen=True)
class Verdict:
    """How typed text was answered: an entry, the emergency reply, or a kind of decline."""

    kind: str  # "answer" | "urgent" | "referral" | "intent" | "declined"
    id: str | None = None  # the entry's id; "urgent" for the emergency reply
    score: float = 0.0
    suggestions: tuple[str, ...] = ()


def _text(text: str, ctx: Context) -> Outcome:
    word = fold(text)
    if not any(char.isalnum() for char in text):
        return _say(ctx, ctx.pack.texts.no_words, _menu_row(ctx))
    heard = ctx.listener.hear(text)  # once per message: the matching words are read here only
    if heard.urgent:  # before anything else, however long
        return _urgent(ctx)
    if _one_of(text, _stop_words(ctx.content)):
        return _unsubscribe(ctx, method=f"text:{word}")
    if _one_of(text, _help_words(ctx.content)):
        return _help(ctx)
    if len(text) > MAX_QUESTION:
        return _say(ctx, ctx.pack.texts.too_long, _menu_row(ctx))
    outcome, _ = answer(ctx, text, heard)
    return outcome


def is_stop_word(content: Content, text: str) -> bool:
    """Tell whether a message only says STOP (or the like), in any offered language."""
    return _one_of(text, _stop_words(content))


def answer(ctx: Context, question: str, heard: Hearing | None = None) -> tuple[Outcome, Verdict]:
    """Answer typed text: an emergency at once, small talk, else from the knowledge file,
    else a referral to legal help or an honest decline.

    Personal details are scrubbed from a declined question before it is kept.
    """
    texts = ctx.pack.texts
    heard = heard or ctx.listener.hear(question)
    if heard.urgent:
        return _urgent(ctx), Verdict(kind="urgent", id="urgent", score=1.0)
    if heard.intent is not None:
        return _intent(ctx, heard.intent), Verdict(kind="intent", score=1.0)
    scrubbed = scrub(
        question,
        allow=ctx.content.campaign.values.values(),
        known=ctx.listener.known(ctx.pack.code),
    )
    personal = scrubbed.kinds - {"unknown"}
    notice = (Reply(text=ctx.say(texts.sensitive_notice)),) if personal else ()
    index = ctx.faq[ctx.pack.code]
    # Matching keeps nothing, so it may read the words that were scrubbed from what is kept.
    match = index.match(question)
    effects: tuple[Effect, ...] = (RecordFunnel(step=Funnel.ASKED),)
    if heard.referral and not (match.entry is not None and match.score >= REFERRAL_OVERRIDE):
        outcome = Outcome(
            conversation=Conversation(),
            replies=(*notice, Reply(text=ctx.say(texts.referral), buttons=_menu_row(ctx))),
            effects=(*effects, Count(name="referred")),
        )
        return outcome, Verdict(kind="referral", score=match.score)
    if match.entry is not None:
        outcome = _answer(ctx, match.entry)
        effects += (Count(name="answered"),)
        replies = notice + outcome.replies
        verdict = Verdict(kind="answer", id=match.entry.id, score=match.score)
        return outcome.model_copy(update={"effects": effects, "replies": replies}), verdict
    rows: Rows = tuple(
        (Button(label=_label(entry), data=f"faq:{entry.id}"),)
        for entry in (index.get(i) for i in match.suggestions)
        if entry is not None
    )
    rows += _menu_row(ctx)
    effects += (
        Count(name="declined"),
        KeepUnanswered(question=scrubbed.text, lang=ctx.pack.code),
    )
    outcome = Outcome(
        conversation=Conversation(),
        replies=(*notice, Reply(text=ctx.say(texts.faq_fallback), buttons=rows)),
        effects=effects,
    )
    return outcome, Verdict(kind="declined", score=match.score, suggestions=match.suggestions)


def _urgent(ctx: Context) -> Outcome:
    return Outcome(
        conversation=Conversation(),
        replies=(Reply(text=ctx.say(ctx.pack.texts.urgent), buttons=_menu_row(ctx)),),
        effects=(Count(name="urgent"),),
    )


def _intent(ctx: Context, name: str) -> Outcome:
    texts = ctx.pack.texts
    if name == "help":
        return _help(ctx)
    if name == "greeting":
        return _menu(ctx)
    return _say(ctx, texts.thanks, _menu_row(ctx))


def _one_of(text: str, words: Iterable[str]) -> bool:
    """Tell whether `text` is only one of `words`, any case, accents and punctuation aside."""
    folded = fold(text)
    return bool(folded) and any(folded == fold(word) for word in words)


def _stop_words(content: Content) -> list[str]:
    return [word for pack in content.packs.values() for word in pack.texts.stop_words]


def _help_words(content: Content) -> list[str]:
    return [word for pack in content.packs.values() for word in pack.texts.help_words]


def _answer(ctx: Context, entry: FaqEntry) -> Outcome:
    index = ctx.faq[ctx.pack.code]
    rows: Rows = tuple(
        (Button(label=_label(related), data=f"faq:{related.id}"),)
        for related in (index.get(i) for i in entry.related)
        if related is not None
    )
    rows += _menu_row(ctx)
    footer = ctx.say(ctx.pack.texts.faq_source, cited=entry.source)
    return Outcome(
        conversation=Conversation(),
        replies=(Reply(text=f"{ctx.say(entry.answer)}\n\n{footer}", buttons=rows),),
    )


def _unsupported(kind: str, ctx: Context) -> Outcome:
    texts = ctx.pack.texts
    text = texts.edited_message if kind == "edited" else texts.unsupported_message
    return Outcome(
        conversation=ctx.conversation,
        replies=(Reply(text=ctx.say(text), buttons=_menu_row(ctx)),),
    )


# -- helpers -------------------------------------------------------------------------------


def _say(ctx: Context, text: str, buttons: Rows = ()) -> Outcome:
    return Outcome(
        conversation=Conversation(), replies=(Reply(text=ctx.say(text), buttons=buttons),)
    )


def _menu_row(ctx: Context) -> Rows:
    return ((Button(label=ctx.pack.texts.buttons.menu, data="menu"),),)


def _menu_buttons(ctx: Context) -> Rows:
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


def _label(entry: FaqEntry) -> str:
    question = entry.questions[0]
    return question if len(question) <= _LABEL else question[: _LABEL - 1].rstrip() + "…"
