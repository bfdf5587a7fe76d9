"""The conversation: a pure function of (event, context) to an Outcome."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from flows import yourdata
from flows.content import Content, FaqEntry, plain
from flows.context import Context, Rows, label, menu_buttons, menu_row, old_button, say
from flows.faq import match_in_any
from flows.listen import Hearing
from flows.models import (
    Button,
    Command,
    Conversation,
    Count,
    Effect,
    Event,
    Funnel,
    KeepUnanswered,
    Outcome,
    Press,
    RecordFunnel,
    Reply,
    SetLanguage,
    SetSource,
    State,
    Status,
    Subscribe,
    Tap,
    Text,
    Unsubscribe,
    Unsupported,
)
from flows.sensitive import scrub
from flows.text import fold

__all__ = ["COMMANDS", "Context", "Verdict", "answer", "handle", "is_stop_word"]

MAX_QUESTION = 1000
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A broadcast's button (`bb:12:act`) or its link back to the bot (`/start bb12`).
_BROADCAST_BUTTON = re.compile(r"([1-9][0-9]{0,17}):(act|learn)")
_FROM_BROADCAST = re.compile(r"bb([1-9][0-9]{0,17})")


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
        return say(ctx, ctx.pack.texts.unknown_command, menu_row(ctx))
    return action(ctx, arg)


def _start(ctx: Context, arg: str) -> Outcome:
    effects: list[Effect] = [RecordFunnel(step=Funnel.STARTED)]
    payload = arg.strip()
    tapped = _FROM_BROADCAST.fullmatch(payload)
    if tapped:  # a broadcast's link back to the bot: counted, not a source
        effects.append(Tap(broadcast_id=int(tapped.group(1)), button="link"))
    elif payload and _PAYLOAD.match(payload) and ctx.profile.source is None:
        effects.append(SetSource(source=payload))
    texts = ctx.pack.texts
    replies = [Reply(text=ctx.say(texts.welcome), buttons=menu_buttons(ctx))]
    return Outcome(conversation=Conversation(), replies=tuple(replies), effects=tuple(effects))


def _menu(ctx: Context, _: str = "") -> Outcome:
    return say(ctx, ctx.pack.texts.menu, menu_buttons(ctx))


def _help(ctx: Context, _: str = "") -> Outcome:
    return say(ctx, ctx.pack.texts.help, menu_buttons(ctx))


def _learn(ctx: Context, _: str = "", *, step: int = 0, edit: bool = False) -> Outcome:
    steps = ctx.pack.learn
    if not 0 <= step < len(steps):
        return old_button(ctx)
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
        return old_button(ctx)
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
        return say(ctx, texts.already_subscribed, menu_row(ctx))
    return Outcome(
        conversation=ctx.conversation,
        replies=(Reply(text=ctx.say(texts.subscribed), buttons=menu_row(ctx)),),
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
        return say(ctx, texts.not_subscribed, menu_row(ctx))
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
    return say(ctx, ctx.pack.texts.language_prompt, rows)


def _set_language(ctx: Context, code: str) -> Outcome:
    if code not in ctx.content.packs:
        return old_button(ctx)
    pack = ctx.content.packs[code]
    profile = ctx.profile.model_copy(update={"lang": code})
    switched = dataclasses.replace(ctx, profile=profile)
    return Outcome(
        conversation=ctx.conversation,
        replies=(
            Reply(
                text=switched.say(pack.texts.language_set, language=pack.texts.language_name),
                buttons=menu_buttons(switched),
            ),
        ),
        effects=(SetLanguage(lang=code),),
    )


def _faq_topics(ctx: Context, _: str = "") -> Outcome:
    rows: Rows = tuple(
        (Button(label=label(entry), data=f"faq:{entry.id}"),) for entry in ctx.pack.faq
    )
    rows += ((Button(label=ctx.pack.texts.buttons.menu, data="menu"),),)
    return say(ctx, ctx.pack.texts.faq_topics, rows)


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
    "privacy": yourdata.privacy,
    "mydata": yourdata.mydata,
    "deleteme": yourdata.deleteme,
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
            return say(ctx, ctx.pack.texts.ask_prompt, menu_row(ctx))
        case "faq", "":
            return _faq_topics(ctx)
        case "faq", entry_id:
            entry = ctx.faq[ctx.pack.code].get(entry_id)
            return _answer(ctx, entry) if entry else old_button(ctx)
        case "sub", "":
            return _subscribe(ctx, method="button")
        case "unsub", "":
            return _unsubscribe(ctx, method="button")
        case "lang", "":
            return _language(ctx)
        case "lang", code:
            return _set_language(ctx, code)
        case "privacy", "":
            return yourdata.privacy(ctx)
        case "mydata", "":
            return yourdata.mydata(ctx)
        case "del", answer:
            return yourdata.delete(ctx, answer)
        case "bb", button if tapped := _BROADCAST_BUTTON.fullmatch(button):
            target = _act(ctx) if tapped.group(2) == "act" else _learn(ctx)
            tap = Tap(broadcast_id=int(tapped.group(1)), button=tapped.group(2))
            return target.model_copy(update={"effects": (*target.effects, tap)})
    return old_button(ctx)


# -- free text -----------------------------------------------------------------------------


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
        return say(ctx, ctx.pack.texts.no_words, menu_row(ctx))
    heard = ctx.listener.hear(text)  # once per message: the matching words are read here only
    if heard.urgent:  # before anything else, however long
        return _urgent(ctx, text)
    if _one_of(text, ctx.content.stop_words):
        return _unsubscribe(ctx, method=f"text:{word}")
    if _one_of(text, ctx.content.help_words):
        return _help(ctx)
    if len(text) > MAX_QUESTION:
        return say(ctx, ctx.pack.texts.too_long, menu_row(ctx))
    outcome, _ = answer(ctx, text, heard)
    return outcome


def is_stop_word(content: Content, text: str) -> bool:
    """Tell whether a message only says STOP (or the like), in any offered language."""
    return _one_of(text, content.stop_words)


def answer(ctx: Context, question: str, heard: Hearing | None = None) -> tuple[Outcome, Verdict]:
    """Answer typed text: an emergency at once, small talk, else from the knowledge file,
    else a referral to legal help or an honest decline.

    Personal details are scrubbed from a declined question before it is kept.
    """
    texts = ctx.pack.texts
    heard = heard or ctx.listener.hear(question)
    if heard.urgent:
        return _urgent(ctx, question), Verdict(kind="urgent", id="urgent", score=1.0)
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
    match = match_in_any(ctx.faq, ctx.pack.code, question)
    effects: tuple[Effect, ...] = (RecordFunnel(step=Funnel.ASKED),)
    # A word for a lawyer ("DACA", "green card") sends a question to legal help, unless the
    # knowledge file answers it decisively; so does a question like the file's referral examples.
    if match.referral or (heard.referral and not match.decisive):
        outcome = Outcome(
            conversation=Conversation(),
            replies=(*notice, Reply(text=ctx.say(texts.referral), buttons=menu_row(ctx))),
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
        (Button(label=label(entry), data=f"faq:{entry.id}"),)
        for entry in (index.get(i) for i in match.suggestions)
        if entry is not None
    )
    rows += menu_row(ctx)
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


def _urgent(ctx: Context, text: str) -> Outcome:
    """The hotline first; a message that only names the enforcers ("ICE", "la migra") may
    also be a question about the word, so it gets a button to the entry about it."""
    rows = menu_row(ctx)
    if ctx.listener.names_actor(text):
        # Matching only reads: nothing of an emergency is kept.
        entry = ctx.faq[ctx.pack.code].match(text).entry
        if entry is not None:
            rows = ((Button(label=label(entry), data=f"faq:{entry.id}"),), *rows)
    return Outcome(
        conversation=Conversation(),
        replies=(Reply(text=ctx.say(ctx.pack.texts.urgent), buttons=rows),),
        effects=(Count(name="urgent"),),
    )


def _intent(ctx: Context, name: str) -> Outcome:
    texts = ctx.pack.texts
    if name == "help":
        return _help(ctx)
    if name == "greeting":
        return _menu(ctx)
    return say(ctx, texts.thanks, menu_row(ctx))


def _one_of(text: str, words: frozenset[str]) -> bool:
    """Tell whether `text` is only one of `words` (folded), any case, accents and punctuation
    aside."""
    folded = fold(text)
    return bool(folded) and folded in words


def _answer(ctx: Context, entry: FaqEntry) -> Outcome:
    index = ctx.faq[ctx.pack.code]
    rows: Rows = tuple(
        (Button(label=label(related), data=f"faq:{related.id}"),)
        for related in (index.get(i) for i in entry.related)
        if related is not None
    )
    rows += menu_row(ctx)
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
        replies=(Reply(text=ctx.say(text), buttons=menu_row(ctx)),),
    )
