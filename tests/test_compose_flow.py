"""The pure broadcast flow, table-driven against the shipped campaign."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from flows import engine
from flows.broadcast import BroadcastKind, BroadcastState, Counts
from flows.compose import Context, Needs, handle, may_touch, needs
from flows.content import BroadcastTexts, Content
from flows.listen import Listener
from flows.models import (
    Audience,
    Audit,
    Broadcast,
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
    Plan,
    Press,
    PreviewFailed,
    Profile,
    Role,
    SetDraftContent,
    StartBroadcast,
    State,
    Status,
    Unsubscribe,
)

ORG, OTHER_ORG, ADMIN = 2002, 2003, 1001
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
COMPOSING = Conversation(state=State.COMPOSING_BROADCAST)

DRAFT = "draft"
EMPTY = "empty draft"
SENDING = "sending"
DONE = "done"
CANCELLED = "cancelled"
ORPHAN = "draft of an erased organizer"


def broadcast(which: str, broadcast_id: int = 1, lang: str | None = None) -> Broadcast:
    """A broadcast by ORG, as storage would return it."""
    state = {
        DRAFT: BroadcastState.DRAFT,
        EMPTY: BroadcastState.DRAFT,
        SENDING: BroadcastState.SENDING,
        DONE: BroadcastState.DONE,
        CANCELLED: BroadcastState.CANCELLED,
        ORPHAN: BroadcastState.DRAFT,
    }[which]
    content = which != EMPTY
    return Broadcast(
        id=broadcast_id,
        author_id=None if which == ORPHAN else ORG,
        chat_id=None if which == ORPHAN else ORG,
        state=state,
        kind=BroadcastKind.TEXT if content else None,
        text="Rally at noon" if content else None,
        from_chat_id=None,
        message_id=None,
        lang=lang,
        created_at=NOW,
        started_at=None,
        finished_at=None,
        status_message_id=None,
    )


SPANISH = Plan(audience=Audience(lang="es"))


def run(
    content: Content,
    event: ComposeEvent,
    *,
    user: int = ORG,
    role: Role = Role.ORGANIZER,
    status: Status = Status.NONE,
    conversation: Conversation = COMPOSING,
    **loaded: Any,
) -> ComposeOutcome:
    """Run the flow as the service would, with `loaded` as what it read from storage."""
    profile = Profile(user_id=user, lang="en", first_seen=NOW, status=status, role=role)
    member = engine.Context(content, profile, conversation, {}, Listener(content))
    loaded.setdefault("now", NOW)
    return handle(event, Context(member=member, chat_id=user, **loaded))


def texts(content: Content) -> BroadcastTexts:
    return content.pack("en").staff.broadcast


def said(content: Content, name: str, **values: object) -> str:
    """A broadcast text of the shipped campaign, filled as the flow fills it."""
    filled = {key: str(value) for key, value in values.items()}
    return content.fill(getattr(texts(content), name), **filled)


def everyone(content: Content) -> str:
    return said(content, "audience_all")


def labels(outcome: ComposeOutcome) -> list[tuple[str | None, str | None]]:
    return [(b.label, b.data) for reply in outcome.replies for row in reply.buttons for b in row]


# -- composing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "reply", "effects", "state"),
    [
        ("", "prompt", [CreateDraft(chat_id=ORG)], State.COMPOSING_BROADCAST),
        (
            "lang=es",
            "prompt",
            [CreateDraft(chat_id=ORG, plan=Plan(audience=Audience(lang="es")))],
            State.COMPOSING_BROADCAST,
        ),
        (
            "Rally at <b>noon</b>",
            None,
            [CreateDraft(chat_id=ORG, content=DraftText(text="Rally at <b>noon</b>"))],
            State.IDLE,
        ),
        (
            "lang=es\nHola a todos",
            None,
            [
                CreateDraft(
                    chat_id=ORG,
                    plan=Plan(audience=Audience(lang="es")),
                    content=DraftText(text="Hola a todos"),
                )
            ],
            State.IDLE,
        ),
        # An unknown language creates nothing and leaves the organizer where they were.
        ("lang=zz hello", "bad_language", [], State.COMPOSING_BROADCAST),
    ],
)
def test_broadcast_command(
    content: Content, arg: str, reply: str | None, effects: list[object], state: State
) -> None:
    outcome = run(content, Command(name="broadcast", arg=arg))
    assert list(outcome.effects) == effects
    assert outcome.conversation.state is state
    assert outcome.show is None
    if reply is None:
        assert outcome.replies == ()  # the preview follows, once the draft has its id
        return
    values = {"language": "zz", "languages": "en, es, pt"} if reply == "bad_language" else {}
    assert [r.text for r in outcome.replies] == [said(content, reply, **values)]


COPY = DraftCopy(from_chat_id=ORG, message_id=55)


@pytest.mark.parametrize(
    ("text", "open_draft", "status", "effects", "replies"),
    [
        (None, 3, Status.NONE, [SetDraftContent(broadcast_id=3, content=COPY)], []),
        ("Rally!", 3, Status.NONE, [SetDraftContent(broadcast_id=3, content=COPY)], []),
        # The draft is gone (erased, or never made): the message still becomes one, for all.
        (None, None, Status.NONE, [CreateDraft(chat_id=ORG, content=COPY)], []),
        # STOP drops the broadcast and, as everywhere, unsubscribes.
        (
            "stop",
            3,
            Status.ACTIVE,
            [CancelBroadcast(broadcast_id=3), Unsubscribe(method="text:stop")],
            ["composing_cancelled", "unsubscribed"],
        ),
        ("STOP", None, Status.NONE, [], ["composing_cancelled", "not_subscribed"]),
    ],
)
def test_the_message_after_a_bare_broadcast(
    content: Content,
    text: str | None,
    open_draft: int | None,
    status: Status,
    effects: list[object],
    replies: list[str],
) -> None:
    draft = None if open_draft is None else broadcast(EMPTY, open_draft)
    outcome = run(content, Composed(message_id=55, text=text), status=status, broadcast=draft)
    assert list(outcome.effects) == effects
    assert outcome.conversation == Conversation()
    member = content.pack("en").texts
    wanted = [
        said(content, name)
        if name == "composing_cancelled"
        else content.fill(getattr(member, name))
        for name in replies
    ]
    assert [r.text for r in outcome.replies] == wanted


# -- the preview ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "lang", "reply", "buttons"),
    [
        (30, None, "confirm", ["send", "test", "cancel"]),
        (0, None, "no_recipients", ["test", "cancel"]),
        (6, "es", "confirm", ["send", "test", "cancel"]),
    ],
)
def test_a_new_draft_is_previewed_with_its_count_and_buttons(
    content: Content, audience: int, lang: str | None, reply: str, buttons: list[str]
) -> None:
    draft = broadcast(DRAFT, 4, lang=lang)
    outcome = run(
        content,
        Drafted(broadcast_id=4),
        conversation=Conversation(),
        broadcast=draft,
        audience=audience,
    )
    assert outcome.show is not None and outcome.show.preview
    assert outcome.show.broadcast == draft
    where = everyone(content)
    if lang is not None:
        where = content.fill(texts(content).audience_lang, language="Español")
    assert [r.text for r in outcome.replies] == [
        said(content, reply, recipients=audience, audience=where)
    ]
    names = texts(content).buttons
    assert labels(outcome) == [(getattr(names, b), f"bc:{b}:4") for b in [*buttons, "who", "when"]]
    detail = "id=4 kind=text" + (f" lang={lang}" if lang else "")
    assert list(outcome.effects) == [Audit(action="broadcast.draft", detail=detail)]
    assert outcome.conversation == Conversation()


@pytest.mark.parametrize("which", [SENDING, CANCELLED, EMPTY])
def test_only_a_ready_draft_is_previewed(content: Content, which: str) -> None:
    outcome = run(content, Drafted(broadcast_id=1), broadcast=broadcast(which), audience=3)
    assert outcome.show is None and outcome.effects == ()
    assert [r.text for r in outcome.replies] == [said(content, "not_available")]


def test_a_refused_preview_cancels_the_draft(content: Content) -> None:
    error = "Bad Request: can't parse <entities>"
    outcome = run(
        content, PreviewFailed(broadcast_id=4, error=error), broadcast=broadcast(DRAFT, 4)
    )
    assert list(outcome.effects) == [CancelBroadcast(broadcast_id=4)]
    escaped = "Bad Request: can&#x27;t parse &lt;entities&gt;"
    assert [r.text for r in outcome.replies] == [said(content, "preview_failed", error=escaped)]


# -- the buttons ---------------------------------------------------------------------------

START = [
    StartBroadcast(broadcast_id=1, status_message_id=77),
    Audit(action="broadcast.start", detail="id=1 recipients=30 lang=all"),
]
CANCEL_DRAFT = [
    CancelBroadcast(broadcast_id=1),
    Audit(action="broadcast.cancel", detail="id=1 was=draft"),
]
STOP_SENDING = [
    CancelBroadcast(broadcast_id=1),
    Audit(action="broadcast.cancel", detail="id=1 was=sending"),
]
TEST = [Audit(action="broadcast.test", detail="id=1")]


@pytest.mark.parametrize(
    ("data", "user", "role", "which", "reply", "effects"),
    [
        # Send: only the author's ready draft starts, once.
        ("bc:send:1", ORG, Role.ORGANIZER, DRAFT, "queued", START),
        ("bc:send:1", ORG, Role.ORGANIZER, SENDING, "already_started", []),
        ("bc:send:1", ORG, Role.ORGANIZER, DONE, "already_started", []),
        ("bc:send:1", ORG, Role.ORGANIZER, CANCELLED, "not_available", []),
        ("bc:send:1", ORG, Role.ORGANIZER, EMPTY, "not_available", []),
        ("bc:send:1", ADMIN, Role.ADMIN, DRAFT, "not_available", []),
        ("bc:send:1", OTHER_ORG, Role.ORGANIZER, DRAFT, "not_available", []),
        ("bc:send:1", ADMIN, Role.ADMIN, ORPHAN, "not_available", []),
        # Test: the author, or an admin, sees it in their own chat.
        ("bc:test:1", ORG, Role.ORGANIZER, DRAFT, "test_sent", TEST),
        ("bc:test:1", ADMIN, Role.ADMIN, DRAFT, "test_sent", TEST),
        ("bc:test:1", ORG, Role.ORGANIZER, CANCELLED, "test_sent", TEST),
        ("bc:test:1", ORG, Role.ORGANIZER, EMPTY, "not_available", []),
        ("bc:test:1", OTHER_ORG, Role.ORGANIZER, DRAFT, "not_available", []),
        # Cancel a draft, or stop a running broadcast (an admin may stop anyone's).
        ("bc:cancel:1", ORG, Role.ORGANIZER, DRAFT, "draft_cancelled", CANCEL_DRAFT),
        ("bc:cancel:1", ORG, Role.ORGANIZER, SENDING, None, STOP_SENDING),
        ("bc:cancel:1", ADMIN, Role.ADMIN, SENDING, None, STOP_SENDING),
        ("bc:cancel:1", ADMIN, Role.ADMIN, ORPHAN, "draft_cancelled", CANCEL_DRAFT),
        ("bc:cancel:1", OTHER_ORG, Role.ORGANIZER, SENDING, "not_available", []),
        ("bc:cancel:1", ORG, Role.ORGANIZER, DONE, "not_available", []),
        ("bc:cancel:1", ORG, Role.ORGANIZER, CANCELLED, "not_available", []),
        # Forged, stale or foreign data.
        ("bc:send:1:x", ORG, Role.ORGANIZER, DRAFT, "not_available", []),
        ("bc:launch:1", ORG, Role.ORGANIZER, DRAFT, "not_available", []),
        ("bc:send:2", ORG, Role.ORGANIZER, DRAFT, "not_available", []),  # not the one loaded
        ("bc:send:9", ORG, Role.ORGANIZER, None, "not_available", []),  # no such broadcast
    ],
)
def test_buttons(
    content: Content,
    data: str,
    user: int,
    role: Role,
    which: str | None,
    reply: str | None,
    effects: list[object],
) -> None:
    loaded = None if which is None else broadcast(which)
    outcome = run(
        content, Press(data=data), user=user, role=role, broadcast=loaded, audience=30, pressed=77
    )
    assert list(outcome.effects) == effects
    assert outcome.conversation == COMPOSING  # a button never moves the organizer
    values = {"id": 1, "recipients": 30, "audience": everyone(content)}
    assert [r.text for r in outcome.replies] == ([said(content, reply, **values)] if reply else [])
    if reply == "test_sent":
        assert outcome.show is not None and outcome.show.broadcast == loaded
        assert not outcome.show.preview  # a failed test is an error, not a cancellation
    else:
        assert outcome.show is None
    if reply in ("queued", "draft_cancelled"):
        assert outcome.replies[0].edit  # the confirmation becomes the status message
    if reply == "queued":
        assert labels(outcome) == [(texts(content).buttons.stop, "bc:cancel:1")]


def test_without_the_pressed_message_send_starts_without_a_status_message(
    content: Content,
) -> None:
    outcome = run(content, Press(data="bc:send:1"), broadcast=broadcast(DRAFT), audience=30)
    assert outcome.replies == ()
    assert outcome.effects[0] == StartBroadcast(broadcast_id=1, status_message_id=None)


def test_a_language_broadcast_is_started_for_that_language(content: Content) -> None:
    draft = broadcast(DRAFT, lang="es")
    outcome = run(content, Press(data="bc:send:1"), broadcast=draft, audience=6, pressed=77)
    assert Audit(action="broadcast.start", detail="id=1 recipients=6 lang=es") in outcome.effects
    assert "(language: Español)" in outcome.replies[0].text


# -- the list ------------------------------------------------------------------------------


def test_the_list_of_recent_broadcasts(content: Content) -> None:
    assert [r.text for r in run(content, Command(name="broadcasts")).replies] == [
        said(content, "list_empty")
    ]
    recent = (
        (broadcast(DONE, 2, lang="es"), Counts(sent=6, blocked=1)),
        (broadcast(SENDING, 1), Counts(pending=3, sending=1, sent=2, unknown=1)),
    )
    [reply] = run(content, Command(name="broadcasts"), recent=recent).replies
    title, first, _, second, _ = reply.text.split("\n")
    assert title == said(content, "list_title")
    assert first == "#2 · 2026-11-28 12:00 · done · language: Español"
    assert second == "#1 · 2026-11-28 12:00 · sending · all languages"
    assert "sent 6 / blocked 1 / failed 0 / pending 0 / unknown 0" in reply.text
    assert "sent 2 / blocked 0 / failed 0 / pending 4 / unknown 1" in reply.text


# -- the rules the service and the router rely on ------------------------------------------


@pytest.mark.parametrize(
    ("event", "wanted"),
    [
        (Press(data="bc:test:12"), Needs(broadcast_id=12)),
        (Press(data="bc:test:x"), Needs()),
        (Drafted(broadcast_id=5), Needs(broadcast_id=5)),
        (PreviewFailed(broadcast_id=5, error="no"), Needs(broadcast_id=5)),
        (Composed(message_id=1), Needs(open_draft=True)),
        (Command(name="broadcasts"), Needs(recent=True)),
        (Command(name="broadcast", arg="hi"), Needs()),
    ],
)
def test_what_the_service_loads(event: ComposeEvent, wanted: Needs) -> None:
    assert needs(event) == wanted


@pytest.mark.parametrize(
    ("role", "author", "user", "allowed"),
    [
        (Role.ORGANIZER, ORG, ORG, True),
        (Role.ORGANIZER, ORG, OTHER_ORG, False),
        (Role.ORGANIZER, None, ORG, False),
        (Role.ADMIN, ORG, ADMIN, True),
        (Role.ADMIN, None, ADMIN, True),
    ],
)
def test_who_may_touch_a_broadcast(
    role: Role, author: int | None, user: int, allowed: bool
) -> None:
    assert may_touch(role, author, user) is allowed
