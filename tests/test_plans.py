"""The right people at the right time: audiences, scheduling, buttons, what each achieved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.service import Outreach
from flows import engine
from flows.content import Content
from flows.listen import Listener
from flows.models import (
    Audience,
    Command,
    Composed,
    ComposeOutcome,
    Conversation,
    Funnel,
    Plan,
    Press,
    Profile,
    State,
    Status,
    Tap,
)
from flows.options import parse_compose
from storage import Database, open_database
from tests.botkit import TOKEN, buttons, query, running
from tests.conftest import Clock
from tests.fake_telegram import FakeTelegram
from tests.test_broadcast import ORG, delivered, sender_for, wait_done
from tests.test_broadcast_rules import ORGANIZER

ZONE = "America/New_York"
# 8 pm in Boston on the evening before the hearing (01:00 UTC the next day).
EVENING = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
TEN_AM = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 10:00 in Boston (EST)


# -- options typed before the text -----------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "lang", "audience", "send_at", "buttons", "text"),
    [
        (
            "source=flyer-dorchester acted=no button=act Hearing tomorrow",
            "en",
            Audience(source="flyer-dorchester", acted=False),
            None,
            ("act",),
            "Hearing tomorrow",
        ),
        ("lang=es joined=30d Hola", "en", Audience(lang="es", joined_days=30), None, (), "Hola"),
        (
            "acted=yes joined=7 Thanks!",
            "en",
            Audience(acted=True, joined_days=7),
            None,
            (),
            "Thanks!",
        ),
        ('at="tomorrow 10am" Hearing', "en", Audience(), TEN_AM, (), "Hearing"),
        ("at=“tomorrow at 10” Hearing", "en", Audience(), TEN_AM, (), "Hearing"),
        ('at="mañana a las 10" Audiencia', "es", Audience(), TEN_AM, (), "Audiencia"),
        ('at="amanhã às 10h" Audiência', "pt", Audience(), TEN_AM, (), "Audiência"),
        ('at="2026-12-03 10:00" x', "en", Audience(), TEN_AM, (), "x"),
        ("at=&quot;tomorrow 10am&quot; x", "en", Audience(), TEN_AM, (), "x"),  # as HTML
        ('at="in 2 hours" x', "en", Audience(), EVENING + timedelta(hours=2), (), "x"),
        ('at="daqui a 2 horas" x', "pt", Audience(), EVENING + timedelta(hours=2), (), "x"),
        (
            "button=learn button=https://example.org/hearing x",
            "en",
            Audience(),
            None,
            ("learn", "https://example.org/hearing"),
            "x",
        ),
    ],
)
def test_options_before_the_text_make_the_plan(
    arg: str,
    lang: str,
    audience: Audience,
    send_at: datetime | None,
    buttons: tuple[str, ...],
    text: str,
) -> None:
    parsed = parse_compose(arg, ["en", "es", "pt"], now=EVENING, timezone=ZONE, lang=lang)
    assert parsed.problem is None
    assert parsed.plan == Plan(audience=audience, send_at=send_at, buttons=buttons)
    assert parsed.text == text


@pytest.mark.parametrize(
    ("arg", "kind"),
    [
        ("acted=maybe hi", "option"),
        ("joined=soon hi", "option"),
        ("source=no spaces allowed", None),  # `source=no` is a source; the rest is text
        ("button=http://insecure.example hi", "option"),
        ("button=act button=learn button=act button=act hi", "option"),
        ("lang=fr hi", "language"),
        ('at="banana" hi', "time"),
        ('at="yesterday 9am" hi', "past"),
        ('at="2027-06-01 10:00" hi', "past"),  # beyond 90 days
    ],
)
def test_options_that_cannot_be_read_are_refused(arg: str, kind: str | None) -> None:
    parsed = parse_compose(arg, ["en", "es", "pt"], now=EVENING, timezone=ZONE, lang="en")
    assert (parsed.problem_kind or None) == kind


# -- audiences in storage --------------------------------------------------------------------


async def seed_people(db: Database, now: datetime) -> None:
    """Ten subscribers: 2-6 from the Dorchester flyer (3 and 4 acted), 7-8 Spanish, 9 old."""
    for user in range(2, 12):
        await db.users.ensure(user, lang="es" if user in (7, 8) else "en", now=now)
        if user <= 6:
            await db.users.set_source(user, "flyer-dorchester")
        joined = now - timedelta(days=60 if user == 9 else 1)
        await db.subscriptions.subscribe(user, method="test", consent_version="v", now=joined)
        if user in (3, 4, 10):
            await db.funnel.record(user, Funnel.ACTED, now - timedelta(hours=1))
    await db.subscriptions.set_status(11, Status.UNSUBSCRIBED, method="test", now=now)
    await db.commit()


@pytest.mark.parametrize(
    ("audience", "count"),
    [
        (Audience(), 9),
        (Audience(lang="es"), 2),
        (Audience(source="flyer-dorchester"), 5),
        (Audience(source="flyer-dorchester", acted=False), 3),
        (Audience(acted=True), 3),
        (Audience(joined_days=30), 8),
        (Audience(lang="es", source="flyer-dorchester"), 0),
    ],
)
async def test_an_audience_is_counted_and_filled_alike(
    db: Database, audience: Audience, count: int
) -> None:
    now = EVENING
    await seed_people(db, now)
    assert await db.outbox.audience(audience, now) == count
    draft = await db.outbox.create_draft(ORG, ORG, Plan(audience=audience), now)
    await db.outbox.set_text(draft, "Hearing")
    assert await db.outbox.start(draft, ORG, now) == count


async def test_a_large_outbox_is_filled_in_chunks_as_of_the_start(db: Database) -> None:
    now = EVENING
    for user in range(1, 13):
        await db.users.ensure(user, lang="en", now=now)
        await db.subscriptions.subscribe(user, method="t", consent_version="v", now=now)
    draft = await db.outbox.create_draft(ORG, ORG, Plan(), now)
    await db.outbox.set_text(draft, "Hearing")
    assert await db.outbox.start(draft, ORG, now, first=5) == 5
    assert await db.outbox.next_due(draft) == 0.0  # more to come: not finished
    later = now + timedelta(minutes=1)
    await db.subscriptions.set_status(8, Status.UNSUBSCRIBED, method="t", now=later)
    await db.users.ensure(20, lang="en", now=later)  # joined after the start
    await db.subscriptions.subscribe(20, method="t", consent_version="v", now=later)
    assert await db.outbox.fill(draft, 5) == 5
    assert await db.outbox.fill(draft, 5) == 1
    assert await db.outbox.fill(draft, 5) == 0
    rows = await db.connection.execute_fetchall(
        "SELECT user_id FROM broadcast_recipients ORDER BY user_id"
    )
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]


# -- scheduling ------------------------------------------------------------------------------


async def test_a_scheduled_broadcast_starts_once_at_its_time_across_restarts(
    fake: FakeTelegram, make_settings: Callable[..., Settings], content: Content
) -> None:
    settings = make_settings(telegram_bot_token=TOKEN, telegram_api_url=fake.url)
    nine = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)  # 9:00 in Boston
    clock = Clock(nine - timedelta(minutes=1))
    db = await open_database(settings.database_path)
    try:
        await seed_people(db, clock.now)
        draft = await db.outbox.create_draft(ORG, ORG, Plan(send_at=nine), clock.now)
        await db.outbox.set_text(draft, "Hearing at 10")
        assert await db.outbox.schedule(draft, ORG)
        await db.commit()
    finally:
        await db.close()
    subscribers = range(2, 11)
    # 8:59: started, then restarted; nothing goes out.
    for _ in range(2):
        async with sender_for(settings, content, clock=clock):
            pass
        assert await query(settings.database_path, "SELECT state FROM broadcasts") == [("draft",)]
    assert not any(delivered(fake, user) for user in subscribers)
    # 9:00: it starts, and a restart after it does not start it again.
    clock.now = nine
    async with sender_for(settings, content, clock=clock):
        await wait_done(settings.database_path, draft)
    clock.now = nine + timedelta(minutes=1)
    async with sender_for(settings, content, clock=clock):
        pass
    assert all(delivered(fake, user) == 1 for user in subscribers)
    rows = await query(settings.database_path, "SELECT state, scheduled FROM broadcasts")
    assert rows == [("done", 0)]


# -- buttons and taps -------------------------------------------------------------------------


def member(content: Content) -> engine.Context:
    who = Profile(user_id=42, lang="en", first_seen=EVENING)
    return engine.Context(content, who, Conversation(), {}, Listener(content))


def test_a_broadcast_button_opens_its_flow_and_is_counted(content: Content) -> None:
    ctx = member(content)
    tapped = engine.handle(Press(data="bb:12:act"), ctx)
    plain = engine.handle(Command(name="act"), ctx)
    assert [r.text for r in tapped.replies] == [r.text for r in plain.replies]
    assert Tap(broadcast_id=12, button="act") in tapped.effects
    learn = engine.handle(Press(data="bb:12:learn"), ctx)
    assert Tap(broadcast_id=12, button="learn") in learn.effects
    forged = engine.handle(Press(data="bb:12:delete-everything"), ctx)
    assert not any(isinstance(e, Tap) for e in forged.effects)


def test_a_link_back_to_the_bot_counts_the_broadcast_not_a_source(content: Content) -> None:
    outcome = engine.handle(Command(name="start", arg="bb7"), member(content))
    assert Tap(broadcast_id=7, button="link") in outcome.effects
    assert not any(type(e).__name__ == "SetSource" for e in outcome.effects)


async def test_what_a_broadcast_achieved_is_counted_for_a_week(db: Database) -> None:
    now = EVENING
    await seed_people(db, now - timedelta(days=1))
    draft = await db.outbox.create_draft(ORG, ORG, Plan(buttons=("act",)), now)
    await db.outbox.set_text(draft, "Hearing")
    await db.outbox.start(draft, ORG, now)
    await db.connection.execute("UPDATE broadcast_recipients SET state = 'sent'")
    await db.outbox.tap(draft, "act")
    await db.outbox.tap(draft, "act")
    await db.outbox.tap(999, "act")  # no such broadcast: nothing counted, nothing fails
    await db.funnel.record(5, Funnel.ACTED, now + timedelta(days=2))  # within the week
    await db.funnel.record(6, Funnel.ACTED, now + timedelta(days=8))  # too late to count
    await db.subscriptions.set_status(
        2, Status.UNSUBSCRIBED, method="t", now=now + timedelta(hours=3)
    )
    found = await db.outbox.get(draft)
    assert found is not None
    achieved = await db.outbox.achieved(found)
    assert (achieved.taps, achieved.acted, achieved.unsubscribed) == ({"act": 2}, 1, 1)


# -- the whole evening, from Telegram --------------------------------------------------------


async def test_an_organizer_schedules_a_reminder_to_the_flyer_people_who_have_not_acted(
    fake: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        telegram_bot_token=TOKEN, telegram_api_url=fake.url, organizer_ids=str(ORG)
    )
    clock = Clock(EVENING)
    db = await open_database(settings.database_path)
    try:
        await seed_people(db, clock.now)
    finally:
        await db.close()
    text = "Hearing tomorrow at 10, State House, room B-1"
    options = 'source=flyer-dorchester acted=no button=act at="tomorrow 10am"'
    async with running(settings, clock=clock) as app:
        fake.send_command(ORG, "broadcast", f"{options} {text}")
        confirm = await fake.wait_for_message(ORG, "Schedule it for")
        assert "Thu 2026-12-03 10:00" in confirm["text"] and "<b>3</b>" in confirm["text"]
        assert "who came from" in confirm["text"] and "not acted" in confirm["text"]
        labels = buttons(confirm)
        fake.press_button(ORG, confirm["message_id"], labels["🗓 Schedule"])
        await fake.wait_for_message(ORG, "is scheduled for")
        assert not any(delivered(fake, user) for user in (2, 5, 6))
        # The next morning at ten.
        clock.now = TEN_AM
        app.bot_data.running.sender.wake()
        await fake.wait_for(lambda: all(delivered(fake, user) for user in (2, 5, 6)))
        assert not any(delivered(fake, user) for user in (3, 4, 7, 8, 9, 10, 11))
        summary = await fake.wait_for_message(ORG, "finished in")
        assert "acted within 7 days: 0" in summary["text"]  # so far: nobody yet
        reminder = fake.deliveries[5][0]
        assert reminder["text"] == text
        tap = buttons(reminder)["📞 Thank the governor"]
        fake.press_button(5, reminder["message_id"], tap)
        act = await fake.wait_for_message(5, "governor")
        fake.press_button(5, act["message_id"], buttons(act)["✅ I did it!"])
        await fake.wait_for(lambda: len(fake.messages(5)) >= 3)
        # A week on, the organizer looks at what it achieved.
        clock.now = TEN_AM + timedelta(days=7)
        fake.send_command(ORG, "broadcasts")
        listing = await fake.wait_for_message(ORG, "Recent broadcasts")
    assert "Take action 1" in listing["text"]
    assert "acted within 7 days: 1" in listing["text"]


# -- options by buttons -----------------------------------------------------------------------


def _data(outcome: ComposeOutcome) -> list[str]:
    return [b.data or "" for reply in outcome.replies for row in reply.buttons for b in row]


async def test_who_gets_it_and_its_buttons_can_be_chosen_by_buttons(
    outreach: Outreach, db: Database, clock: Clock
) -> None:
    await seed_people(db, clock.now)
    compose = outreach.compose
    await compose(ORGANIZER, Command(name="broadcast", arg="Hearing tomorrow"), chat_id=2002)
    choices = await compose(ORGANIZER, Press(data="bc:who:1"), chat_id=2002, pressed=7)
    assert choices.replies[0].edit and "bo:1:acted=no" in _data(choices)
    assert "bo:1:source=flyer-dorchester" in _data(choices)  # the sources people came from
    for data in ("bo:1:source=flyer-dorchester", "bo:1:acted=no", "bo:1:button=act"):
        choices = await compose(ORGANIZER, Press(data=data), chat_id=2002, pressed=7)
    labels = [b.label for row in choices.replies[0].buttons for b in row]
    assert "✓ Not acted yet" in labels and "✓ flyer-dorchester" in labels
    back = await compose(ORGANIZER, Press(data="bc:back:1"), chat_id=2002, pressed=7)
    assert back.replies[0].edit and "<b>3</b> subscribers" in back.replies[0].text
    found = await db.outbox.get(1)
    assert found is not None and found.audience == Audience(source="flyer-dorchester", acted=False)
    assert found.buttons == ("act",)
    for forged in ("bo:1:lang=zz", "bo:1:acted=maybe", "bo:2:acted=no"):
        refused = await compose(ORGANIZER, Press(data=forged), chat_id=2002, pressed=7)
        assert "no longer waiting" in refused.replies[0].text


async def test_when_it_goes_out_can_be_typed_after_a_button(
    outreach: Outreach, db: Database, clock: Clock
) -> None:
    await seed_people(db, clock.now)
    compose = outreach.compose
    await compose(ORGANIZER, Command(name="broadcast", arg="Hearing tomorrow"), chat_id=2002)
    asked = await compose(ORGANIZER, Press(data="bc:when:1"), chat_id=2002, pressed=7)
    assert asked.conversation.state is State.SCHEDULING_BROADCAST
    unread = await compose(ORGANIZER, Composed(message_id=8, text="whenever"), chat_id=2002)
    assert "could not read" in unread.replies[0].text
    preview = await compose(ORGANIZER, Composed(message_id=9, text="tomorrow 9am"), chat_id=2002)
    assert preview.show is not None  # shown again, with the time to confirm
    assert "Schedule it for" in preview.replies[-1].text
    assert "bc:schedule:1" in _data(preview)
    assert preview.conversation.state is State.IDLE
    found = await db.outbox.get(1)
    assert found is not None and found.send_at is not None and found.send_at > clock.now
