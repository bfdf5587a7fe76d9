"""The pure conversation flows, table-driven against the shipped campaign."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.content import Content, Texts, load_content
from flows.engine import Context, handle
from flows.faq import FaqIndex
from flows.models import (
    Command,
    Conversation,
    Count,
    DeleteUser,
    Event,
    Funnel,
    KeepUnanswered,
    Outcome,
    Press,
    Profile,
    RecordFunnel,
    SetSource,
    State,
    Status,
    Subscribe,
    Text,
    Unsubscribe,
    Unsupported,
)
from tests.conftest import CONTENT_DIR

VERSION = f"{load_content(CONTENT_DIR).campaign.consent_version}/en"


@pytest.fixture(scope="module")
def indexes(content: Content) -> dict[str, FaqIndex]:
    return {code: FaqIndex.from_pack(pack) for code, pack in content.packs.items()}


def run(
    content: Content,
    indexes: dict[str, FaqIndex],
    event: Event,
    *,
    status: Status = Status.NONE,
    source: str | None = None,
    conversation: Conversation | None = None,
) -> Outcome:
    profile = Profile(
        user_id=7,
        lang="en",
        first_seen=datetime(2026, 11, 1, tzinfo=UTC),
        status=status,
        source=source,
    )
    ctx = Context(content, profile, conversation or Conversation(), indexes)
    return handle(event, ctx)


def texts(content: Content) -> Texts:
    return content.pack("en").texts


@pytest.mark.parametrize(
    ("event", "status", "expected_text", "expected_effects"),
    [
        (Command(name="start"), Status.NONE, "welcome", [RecordFunnel(step=Funnel.STARTED)]),
        (
            Command(name="start", arg="flyer-dorchester"),
            Status.NONE,
            "welcome",
            [RecordFunnel(step=Funnel.STARTED), SetSource(source="flyer-dorchester")],
        ),
        # A payload Telegram would not allow (spaces, symbols) is not recorded.
        (
            Command(name="start", arg="<script> x"),
            Status.NONE,
            "welcome",
            [RecordFunnel(step=Funnel.STARTED)],
        ),
        (Command(name="help"), Status.NONE, "help", []),
        (Command(name="menu"), Status.NONE, "menu", []),
        (Command(name="frobnicate"), Status.NONE, "unknown_command", []),
        (Command(name="optins"), Status.NONE, "unknown_command", []),
        (
            Command(name="subscribe"),
            Status.NONE,
            "subscribed",
            [Subscribe(method="command", version=VERSION), RecordFunnel(step=Funnel.SUBSCRIBED)],
        ),
        (
            Command(name="subscribe"),
            Status.UNSUBSCRIBED,
            "subscribed",
            [Subscribe(method="command", version=VERSION), RecordFunnel(step=Funnel.SUBSCRIBED)],
        ),
        (Command(name="subscribe"), Status.ACTIVE, "already_subscribed", []),
        (
            Press(data="sub"),
            Status.NONE,
            "subscribed",
            [Subscribe(method="button", version=VERSION), RecordFunnel(step=Funnel.SUBSCRIBED)],
        ),
        (
            Command(name="unsubscribe"),
            Status.ACTIVE,
            "unsubscribed",
            [Unsubscribe(method="command")],
        ),
        (Command(name="unsubscribe"), Status.NONE, "not_subscribed", []),
        (Text(text="STOP"), Status.ACTIVE, "unsubscribed", [Unsubscribe(method="text:stop")]),
        (Text(text="  stop! "), Status.ACTIVE, "unsubscribed", [Unsubscribe(method="text:stop")]),
        (Text(text="Cancel"), Status.ACTIVE, "unsubscribed", [Unsubscribe(method="text:cancel")]),
        (Text(text="unsubscribe"), Status.NONE, "not_subscribed", []),
        (Text(text="help"), Status.ACTIVE, "help", []),
        (Press(data="no-such-button"), Status.NONE, "old_button", []),
        (Press(data="learn:99"), Status.NONE, "old_button", []),
        (Press(data="faq:no-such-entry"), Status.NONE, "old_button", []),
        (Press(data="lang:xx"), Status.NONE, "old_button", []),
        (Press(data="act:nonsense"), Status.NONE, "old_button", []),
        (Unsupported(kind="sticker"), Status.NONE, "unsupported_message", []),
        (Unsupported(kind="edited"), Status.NONE, "edited_message", []),
        (Text(text="x" * 2000), Status.NONE, "too_long", []),
        (
            Text(text="ICE is at my door. " + "please help " * 200),
            Status.NONE,
            "urgent",
            [Count(name="urgent")],
        ),
        (Press(data="learn:²"), Status.NONE, "old_button", []),
        (Text(text="🙂🙂"), Status.NONE, "no_words", []),
    ],
)
def test_replies_and_effects(
    content: Content,
    indexes: dict[str, FaqIndex],
    event: Event,
    status: Status,
    expected_text: str,
    expected_effects: list[object],
) -> None:
    outcome = run(content, indexes, event, status=status)
    wanted = content.fill(getattr(texts(content), expected_text))
    assert outcome.replies[0].text == wanted
    assert list(outcome.effects) == expected_effects


def test_first_source_is_kept(content: Content, indexes: dict[str, FaqIndex]) -> None:
    outcome = run(content, indexes, Command(name="start", arg="poster"), source="flyer")
    assert not any(isinstance(e, SetSource) for e in outcome.effects)


def test_learn_walks_forward_and_back_and_counts_the_end(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    steps = content.pack("en").learn
    first = run(content, indexes, Command(name="learn"))
    assert steps[0].title in first.replies[0].text
    datas = [b.data for row in first.replies[0].buttons for b in row]
    assert "learn:1" in datas and "act" in datas and "ask" in datas
    assert not any(d and d.startswith("learn:") and d != "learn:1" for d in datas)
    for i in range(1, len(steps)):
        outcome = run(content, indexes, Press(data=f"learn:{i}"))
        assert outcome.conversation == Conversation(state=State.LEARNING, step=i)
        assert outcome.replies[0].edit
        assert steps[i].title in outcome.replies[0].text
        datas = [b.data for row in outcome.replies[0].buttons for b in row]
        assert f"learn:{i - 1}" in datas
        finished = RecordFunnel(step=Funnel.LEARNED) in outcome.effects
        assert finished == (i == len(steps) - 1)


def test_act_offers_every_way_and_confirms(content: Content, indexes: dict[str, FaqIndex]) -> None:
    links = content.campaign.values
    outcome = run(content, indexes, Command(name="act"))
    buttons = [b for row in outcome.replies[0].buttons for b in row]
    assert {b.data for b in buttons} >= {"act:call", "act:email", "act:done"}
    urls = [b.url for b in buttons if b.url]
    assert links["governor_form"] in urls
    assert any(u.startswith("https://t.me/share/url?") for u in urls)
    call = run(content, indexes, Press(data="act:call"))
    assert links["governor_phone"] in call.replies[0].text
    done = run(content, indexes, Press(data="act:done"))
    assert RecordFunnel(step=Funnel.ACTED) in done.effects
    assert any(b.data == "sub" for row in done.replies[0].buttons for b in row)


def test_delete_needs_confirmation(content: Content, indexes: dict[str, FaqIndex]) -> None:
    asked = run(content, indexes, Command(name="deleteme"))
    assert asked.conversation.state is State.CONFIRMING_DELETE
    assert not asked.effects
    confirming = Conversation(state=State.CONFIRMING_DELETE)
    yes = run(content, indexes, Press(data="del:yes"), conversation=confirming)
    assert yes.effects == (DeleteUser(),)
    # A "yes" pressed on an old prompt, outside the confirmation, erases nothing.
    stale = run(content, indexes, Press(data="del:yes"))
    assert DeleteUser() not in stale.effects
    no = run(content, indexes, Press(data="del:no"), conversation=confirming)
    assert not no.effects


def test_mydata_shows_what_is_stored(content: Content, indexes: dict[str, FaqIndex]) -> None:
    outcome = run(content, indexes, Command(name="mydata"), status=Status.ACTIVE, source="flyer")
    text = outcome.replies[0].text
    assert "7" in text and "flyer" in text and texts(content).status_active in text


def test_free_text_answers_from_the_knowledge_file(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    outcome = run(
        content, indexes, Text(text="What is the difference between arrested and convicted?")
    )
    entry = indexes["en"].get("arrest-not-conviction")
    assert entry is not None
    assert content.fill(entry.answer) in outcome.replies[0].text
    assert RecordFunnel(step=Funnel.ASKED) in outcome.effects


def test_gibberish_is_declined_honestly(content: Content, indexes: dict[str, FaqIndex]) -> None:
    outcome = run(content, indexes, Text(text="qwzx vbnm plok"))
    assert outcome.replies[0].text == content.fill(texts(content).faq_fallback)


def test_urgent_words_of_every_language_get_the_hotline_at_once(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    for code, pack in content.packs.items():
        for phrase in pack.texts.urgent_words:
            outcome = run(content, indexes, Text(text=f"Please help, {phrase.upper()}!!"))
            assert outcome.replies[0].text == content.fill(content.pack("en").texts.urgent), (
                code,
                phrase,
            )
            assert not any(isinstance(e, KeepUnanswered) for e in outcome.effects)
    calm = run(content, indexes, Text(text="what did the coalition do to win?"))
    assert calm.replies[0].text != content.fill(texts(content).urgent)


@pytest.mark.parametrize(
    "question",
    [
        "my A-number is A123-456-789 will they find me",
        "my ssn is 123-45-6789 is that in the database",
        "I live at 45 Blue Hill Ave apt 3, will police send my prints",
        "I am undocumented, is the bot safe",
    ],
)
def test_personal_details_are_never_kept(
    content: Content, indexes: dict[str, FaqIndex], question: str
) -> None:
    outcome = run(content, indexes, Text(text=question))
    assert outcome.replies[0].text == content.fill(texts(content).sensitive_notice)
    kept = " ".join(e.question for e in outcome.effects if isinstance(e, KeepUnanswered))
    for secret in ("123-456-789", "123-45-6789", "45 Blue Hill", "undocumented"):
        assert secret not in kept


def test_declined_questions_are_kept_without_who_asked(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    outcome = run(content, indexes, Text(text="will it rain in boston tomorrow"))
    assert KeepUnanswered(question="will it rain in boston tomorrow", lang="en") in outcome.effects
    assert Count(name="declined") in outcome.effects
    answered = run(content, indexes, Text(text="What is S-Comm?"))
    assert Count(name="answered") in answered.effects
