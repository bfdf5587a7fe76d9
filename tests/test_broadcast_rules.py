"""Broadcast rules without I/O: pacing, retry decisions, parsing; the outbox's SQL; and
composing through the service, against a real database."""

from __future__ import annotations

import math
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import aiosqlite
import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.delivery import classify
from bot.limits import retry_after_seconds
from bot.service import Outreach, Who
from flows.broadcast import (
    ButtonAction,
    Counts,
    Failure,
    Pacer,
    RateMeter,
    RecipientState,
    RetryPolicy,
    button_data,
    clock_text,
    decide,
    parse_button,
)
from flows.models import (
    Audience,
    Command,
    Composed,
    Plan,
    Press,
    PreviewFailed,
    State,
    Status,
)
from flows.options import parse_compose
from storage import Database, open_database
from storage.migrations import migrate
from storage.outbox import Result
from tests.botkit import old_database

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, base=1.0, cap=60.0)


# -- pacing ---------------------------------------------------------------------------------


def simulate(pacer: Pacer, seconds: float, step: float = 0.0005) -> list[float]:
    """Send whenever the pacer allows, on a clock that ticks by `step`."""
    sent, now = [], 0.0
    while now < seconds:
        if pacer.wait(now) <= 0:
            pacer.take(now)
            sent.append(now)
        else:
            now += step
    return sent


@pytest.mark.parametrize("rate", [1, 25, 29, 480, 1000])
def test_the_pacer_never_exceeds_its_rate_in_any_second(rate: float) -> None:
    sent = simulate(Pacer(rate), 5.0)
    assert len(sent) >= rate * 5 * 0.99
    worst = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent if start <= 4.0)
    assert worst <= math.floor(rate * 1.02) + 1


def _jittery(pacer: Pacer, seconds: float, late: float) -> int:
    """Count sends when every timer wakes up to `late` seconds after it was asked to."""
    rng, now, sent = random.Random(1), 0.0, 0
    while now < seconds:
        wait = pacer.wait(now)
        if wait > 0:
            now += wait + rng.uniform(0, late)
            continue
        pacer.take(now)
        sent += 1
    return sent


def test_timer_lateness_within_the_slack_does_not_lower_the_rate() -> None:
    assert _jittery(Pacer(200, slack=0.02), 10, late=0.004) >= 200 * 10 * 0.995
    assert _jittery(Pacer(200, slack=0.0), 10, late=0.004) < 200 * 10 * 0.8  # why there is slack


def test_a_pause_holds_every_send() -> None:
    pacer = Pacer(1000)
    pacer.pause(3.0)
    assert pacer.wait(1.0) == pytest.approx(2.0)
    pacer.pause(2.0)  # a shorter pause never shortens the current one
    assert pacer.wait(2.5) == pytest.approx(0.5)
    assert pacer.wait(3.0) == 0


def test_the_pacer_needs_a_rate() -> None:
    with pytest.raises(ValueError):
        Pacer(0)


# -- decisions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "attempts", "state", "tried", "delay", "block"),
    [
        (Failure.RATE_LIMITED, 0, RecipientState.PENDING, 0, 7.0, False),
        (Failure.RATE_LIMITED, 2, RecipientState.PENDING, 2, 7.0, False),
        (Failure.GONE, 0, RecipientState.BLOCKED, 1, 0.0, True),
        (Failure.AMBIGUOUS, 0, RecipientState.UNKNOWN, 1, 0.0, False),
        (Failure.REJECTED, 0, RecipientState.FAILED, 1, 0.0, False),
        (Failure.TRANSIENT, 0, RecipientState.PENDING, 1, 1.0, False),
        (Failure.TRANSIENT, 1, RecipientState.PENDING, 2, 2.0, False),
        (Failure.TRANSIENT, 2, RecipientState.FAILED, 3, 0.0, False),
        (Failure.MIGRATED, 0, RecipientState.PENDING, 1, 0.0, False),
        (Failure.MIGRATED, 2, RecipientState.FAILED, 3, 0.0, False),
    ],
)
def test_what_becomes_of_a_row_after_a_failure(
    failure: Failure,
    attempts: int,
    state: RecipientState,
    tried: int,
    delay: float,
    block: bool,
) -> None:
    decision = decide(failure, attempts, POLICY, retry_after=7.0)
    assert (decision.state, decision.attempts, decision.delay) == (state, tried, delay)
    assert decision.block_subscriber is block


def test_backoff_doubles_up_to_a_cap() -> None:
    policy = RetryPolicy(max_attempts=20, base=0.5, cap=10.0)
    assert [policy.backoff(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]


def _caused(exc: TelegramError, cause: BaseException) -> TelegramError:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (RetryAfter(3), Failure.RATE_LIMITED),
        (ChatMigrated(-100123), Failure.MIGRATED),
        (Forbidden("Forbidden: bot was blocked by the user"), Failure.GONE),
        (Forbidden("Forbidden: user is deactivated"), Failure.GONE),
        (BadRequest("Bad Request: chat not found"), Failure.GONE),
        (BadRequest("Bad Request: can't parse entities"), Failure.REJECTED),
        (NetworkError("Internal Server Error (500)"), Failure.TRANSIENT),
        (NetworkError("Bad Gateway (502)"), Failure.TRANSIENT),
        (TimedOut(), Failure.AMBIGUOUS),
        (TelegramError("odd"), Failure.REJECTED),
        (RuntimeError("a bug"), Failure.AMBIGUOUS),
    ],
)
def test_errors_are_classified(error: BaseException, failure: Failure) -> None:
    assert classify(error) is failure


def test_network_errors_are_classified_by_whether_the_request_left() -> None:
    assert classify(_caused(TimedOut(), httpx.ConnectTimeout("x"))) is Failure.TRANSIENT
    assert classify(_caused(TimedOut(), httpx.PoolTimeout("x"))) is Failure.TRANSIENT
    assert classify(_caused(TimedOut(), httpx.ReadTimeout("x"))) is Failure.AMBIGUOUS
    refused = aiohttp.ClientConnectorError(None, OSError(111, "refused"))  # type: ignore[arg-type]
    assert classify(_caused(NetworkError("x"), refused)) is Failure.TRANSIENT
    dropped = aiohttp.ServerDisconnectedError()
    assert classify(_caused(NetworkError("x"), dropped)) is Failure.AMBIGUOUS
    assert classify(_caused(TimedOut(), aiohttp.SocketTimeoutError())) is Failure.AMBIGUOUS


def test_retry_after_is_read_as_seconds_in_either_form(monkeypatch: pytest.MonkeyPatch) -> None:
    assert retry_after_seconds(RetryAfter(4)) == 4.0
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    assert retry_after_seconds(RetryAfter(timedelta(seconds=2.5))) == 2.5


# -- parsing and formatting -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "lang", "text", "bad"),
    [
        ("", None, "", None),
        ("Rally at noon", None, "Rally at noon", None),
        ("lang=es Hola a todos", "es", "Hola a todos", None),
        ("lang=ES\nHola\ny más", "es", "Hola\ny más", None),
        ("lang=es", "es", "", None),
        ("lang=zz hello", None, "hello", "zz"),
        ("language=es hi", None, "language=es hi", None),
        ("  <b>Bold</b> news ", None, "<b>Bold</b> news", None),
    ],
)
def test_parse_compose(arg: str, lang: str | None, text: str, bad: str | None) -> None:
    parsed = parse_compose(arg, ["en", "es"], now=NOW, timezone="America/New_York", lang="en")
    assert (parsed.plan.audience.lang, parsed.text, parsed.problem) == (lang, text, bad)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("bc:send:12", (ButtonAction.SEND, 12)),
        ("bc:test:1", (ButtonAction.TEST, 1)),
        ("bc:cancel:999999", (ButtonAction.CANCEL, 999999)),
        ("bc:send:0", None),
        ("bc:send:-1", None),
        ("bc:send:01", None),
        ("bc:launch:1", None),
        ("bc:send:1:extra", None),
        ("bc:send:" + "9" * 40, None),
        ("bc:send:1\n", None),
        ("bc:send:١", None),  # a non-ASCII digit
        ("", None),
    ],
)
def test_parse_button_accepts_only_our_own_data(
    data: str, expected: tuple[ButtonAction, int] | None
) -> None:
    assert parse_button(data) == expected


def test_button_data_fits_and_round_trips() -> None:
    data = button_data(ButtonAction.CANCEL, 10**17)
    assert len(data.encode()) <= 64
    assert parse_button(data) == (ButtonAction.CANCEL, 10**17)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "?"), (math.inf, "?"), (0, "0:00"), (59.6, "1:00"), (754, "12:34"), (3725, "1:02:05")],
)
def test_clock_text(seconds: float | None, text: str) -> None:
    assert clock_text(seconds) == text


def test_counts_and_rate() -> None:
    counts = Counts.of({"pending": 5, "sent": 3, "bogus": 9})
    assert (counts.total, counts.done, counts.remaining) == (8, 3, 5)
    moved = counts.moved(RecipientState.PENDING, RecipientState.SENDING)
    assert (moved.pending, moved.sending, moved.remaining) == (4, 1, 5)
    meter = RateMeter(window=10)
    assert meter.rate() == 0
    for second in range(30):
        meter.add(float(second), second * 25)
    assert meter.rate() == pytest.approx(25.0)


# -- the outbox -----------------------------------------------------------------------------


ENGLISH = Plan(audience=Audience(lang="en"))


async def _subscribers(db: Database, ids: range, lang: str = "en") -> None:
    for user_id in ids:
        await db.users.ensure(user_id, lang=lang, now=NOW)
        await db.subscriptions.subscribe(user_id, method="test", consent_version="v", now=NOW)
    await db.commit()


async def test_a_draft_starts_once_with_a_snapshot_of_the_audience(db: Database) -> None:
    await _subscribers(db, range(1, 11))
    await _subscribers(db, range(11, 14), lang="es")
    await db.subscriptions.set_status(1, Status.UNSUBSCRIBED, method="test", now=NOW)
    empty = await db.outbox.create_draft(99, 99, Plan(), NOW)
    assert await db.outbox.start(empty, 99, NOW) is None  # no content yet
    draft = await db.outbox.create_draft(99, 99, ENGLISH, NOW)
    await db.outbox.set_text(draft, "hi")
    assert await db.outbox.audience(ENGLISH.audience, NOW) == 9
    assert await db.outbox.audience(Audience(), NOW) == 12
    assert await db.outbox.start(draft, 42, NOW) is None  # not the author
    assert await db.outbox.start(draft, 99, NOW) == 9
    assert await db.outbox.start(draft, 99, NOW) is None  # pressing Send again
    await db.commit()
    await _subscribers(db, range(20, 25))  # joining later does not join this broadcast
    assert (await db.outbox.counts(draft)).pending == 9
    [(found, counts)] = await db.outbox.recent()
    assert found.id == draft and found.state == "sending" and counts.pending == 9


async def test_claim_record_release_and_recover(db: Database) -> None:
    await _subscribers(db, range(1, 11))
    draft = await db.outbox.create_draft(99, 99, Plan(), NOW)
    await db.outbox.set_text(draft, "hi")
    await db.outbox.start(draft, 99, NOW)
    first = await db.outbox.claim(draft, 4, now=100.0)
    assert [r.user_id for r in first] == [1, 2, 3, 4]
    await db.outbox.record(
        draft,
        [
            Result(1, 1, RecipientState.SENT, 1),
            Result(2, 2, RecipientState.PENDING, 1, next_at=200.0),
            Result(3, 3, RecipientState.BLOCKED, 1),
        ],
    )
    await db.outbox.record(draft, [Result(1, 1, RecipientState.FAILED, 2)])  # no longer sending
    await db.outbox.release(draft, [4])
    await db.commit()
    counts = await db.outbox.counts(draft)
    assert (counts.sent, counts.blocked, counts.pending, counts.sending) == (1, 1, 8, 0)
    assert [r.user_id for r in await db.outbox.claim(draft, 3, now=100.0)] == [4, 5, 6]
    assert await db.outbox.next_due(draft) == 0.0
    assert 2 not in [r.user_id for r in await db.outbox.claim(draft, 10, now=150.0)]
    assert await db.outbox.next_due(draft) == 200.0
    assert await db.outbox.recover() == 3 + 4  # claimed, never answered
    await db.commit()
    counts = await db.outbox.counts(draft)
    assert (counts.unknown, counts.pending) == (7, 1)
    assert await db.outbox.cancel(draft, NOW)
    assert await db.outbox.claim(draft, 10, now=1e12) == []  # a cancelled broadcast sends nothing
    assert await db.outbox.finish(draft, NOW) == "cancelled"


async def test_erasing_an_organizer_or_a_subscriber_leaves_no_row_naming_them(
    db: Database,
) -> None:
    await _subscribers(db, range(1, 4))
    draft = await db.outbox.create_draft(1, 1, Plan(), NOW)
    await db.outbox.set_copy(draft, 1, 55)
    await db.outbox.start(draft, 1, NOW)
    await db.outbox.create_draft(1, 1, Plan(), NOW)  # an unfinished draft
    await db.outbox.finish(draft, NOW)
    await db.users.delete(2)
    await db.outbox.forget(1)
    await db.commit()
    async with db.connection.execute(
        "SELECT author_id, chat_id, from_chat_id, message_id, state FROM broadcasts"
    ) as cursor:
        assert [tuple(r) async for r in cursor] == [(None, None, None, None, "done")]
    async with db.connection.execute("SELECT user_id FROM broadcast_recipients") as cursor:
        assert [r[0] async for r in cursor] == [1, 3]


async def test_blocked_subscribers_are_marked_once(db: Database) -> None:
    await _subscribers(db, range(1, 4))
    await db.subscriptions.set_status(3, Status.UNSUBSCRIBED, method="stop", now=NOW)
    await db.subscriptions.mark_blocked([1, 3], method="broadcast", now=NOW)
    await db.commit()
    assert (await db.users.profile(1)).status is Status.BLOCKED  # type: ignore[union-attr]
    assert (await db.users.profile(3)).status is Status.UNSUBSCRIBED  # type: ignore[union-attr]


async def test_a_database_from_before_broadcasts_gets_the_outbox(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    await old_database(path, before="m004_broadcasts")
    db = await open_database(path)
    try:
        assert await migrate(db.connection) == []
        async with db.connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'broadcast%'"
        ) as cursor:
            found = sorted([r[0] async for r in cursor])
            assert found == ["broadcast_recipients", "broadcast_taps", "broadcasts"]
    finally:
        await db.close()


# -- composing through the service ---------------------------------------------------------

ORGANIZER = Who(user_id=2002, language_code="en")


async def _broadcasts(db: Database) -> list[tuple[object, ...]]:
    async with db.connection.execute(
        "SELECT id, state, kind, text, lang, status_message_id FROM broadcasts ORDER BY id"
    ) as cursor:
        return [tuple(row) async for row in cursor]


async def _audit(db: Database) -> list[tuple[str, str]]:
    async with db.connection.execute("SELECT action, detail FROM audit_log ORDER BY id") as c:
        return [(row[0], row[1]) async for row in c]


async def test_a_draft_is_written_and_previewed_in_one_transaction(
    outreach: Outreach, db: Database
) -> None:
    await _subscribers(db, range(1, 4))
    outcome = await outreach.compose(
        ORGANIZER, Command(name="broadcast", arg="Rally &lt;now&gt;"), chat_id=2002
    )
    assert not db.connection.in_transaction  # committed: the sender may write again
    assert outcome.show is not None and outcome.show.preview
    assert outcome.show.broadcast.text == "Rally &lt;now&gt;"
    [confirm] = outcome.replies
    assert "<b>3</b> subscribers" in confirm.text
    assert [b.data for row in confirm.buttons for b in row] == [
        "bc:send:1",
        "bc:test:1",
        "bc:cancel:1",
        "bc:who:1",
        "bc:when:1",
    ]
    assert await _broadcasts(db) == [(1, "draft", "text", "Rally &lt;now&gt;", None, None)]
    assert await _audit(db) == [("broadcast.draft", "id=1 kind=text")]


async def test_send_starts_once_with_the_count_it_showed(outreach: Outreach, db: Database) -> None:
    await _subscribers(db, range(1, 4))
    await outreach.compose(ORGANIZER, Command(name="broadcast", arg="hi"), chat_id=2002)
    send = Press(data="bc:send:1")
    first = await outreach.compose(ORGANIZER, send, chat_id=2002, pressed=9)
    again = await outreach.compose(ORGANIZER, send, chat_id=2002, pressed=9)
    assert "to 3 subscribers" in first.replies[0].text and first.replies[0].edit
    assert "already on its way" in again.replies[0].text and not again.effects
    assert (await db.outbox.counts(1)).pending == 3
    assert await _broadcasts(db) == [(1, "sending", "text", "hi", None, 9)]
    assert ("broadcast.start", "id=1 recipients=3 lang=all") in await _audit(db)


async def test_a_refused_preview_cancels_its_draft(outreach: Outreach, db: Database) -> None:
    await outreach.compose(ORGANIZER, Command(name="broadcast", arg="hi"), chat_id=2002)
    failed = PreviewFailed(broadcast_id=1, error="Bad Request: message is too long")
    outcome = await outreach.compose(ORGANIZER, failed, chat_id=2002)
    assert "message is too long" in outcome.replies[0].text
    assert [row[1] for row in await _broadcasts(db)] == ["cancelled"]


async def test_stop_while_composing_drops_the_draft_and_unsubscribes(
    outreach: Outreach, db: Database
) -> None:
    await outreach.handle(ORGANIZER, Command(name="subscribe"))
    await outreach.compose(ORGANIZER, Command(name="broadcast"), chat_id=2002)
    composing = await db.users.conversation(2002)
    assert composing.state is State.COMPOSING_BROADCAST
    outcome = await outreach.compose(ORGANIZER, Composed(message_id=5, text="Stop"), chat_id=2002)
    assert len(outcome.replies) == 2
    assert (await db.users.profile(2002)).status is Status.UNSUBSCRIBED  # type: ignore[union-attr]
    assert (await db.users.conversation(2002)).state is State.IDLE
    assert [row[1] for row in await _broadcasts(db)] == ["cancelled"]


async def test_the_message_after_a_bare_broadcast_fills_the_open_draft(
    outreach: Outreach, db: Database
) -> None:
    await outreach.compose(ORGANIZER, Command(name="broadcast", arg="lang=es"), chat_id=2002)
    outcome = await outreach.compose(ORGANIZER, Composed(message_id=5), chat_id=2002)
    assert outcome.show is not None and outcome.show.broadcast.message_id == 5
    assert await _broadcasts(db) == [(1, "draft", "copy", None, "es", None)]
    assert ("broadcast.draft", "id=1 kind=copy lang=es") in await _audit(db)


async def test_hold_keeps_other_writers_out_until_the_commit(db: Database) -> None:
    assert db.path is not None
    async with aiosqlite.connect(db.path, timeout=0.1) as other:
        await db.outbox.hold()
        await db.outbox.hold()  # already holding: nothing more to take
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await other.execute(
                "INSERT INTO audit_log (at, actor_id, action, detail) VALUES ('now', 1, 'x', '')"
            )
        await db.commit()
        await other.execute(
            "INSERT INTO audit_log (at, actor_id, action, detail) VALUES ('now', 1, 'x', '')"
        )
        await other.commit()
