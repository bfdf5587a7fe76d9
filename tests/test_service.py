"""The brain with its memory: flows run against a real database."""

from __future__ import annotations

from bot.service import Outreach, Who
from flows.models import Command, Text
from tests.conftest import Clock

ANA = Who(user_id=77, language_code="fr-FR", first_name="Ana", username="ana_b")


async def _rows(outreach: Outreach, sql: str) -> list[tuple[object, ...]]:
    async with outreach.db.connection.execute(sql) as cursor:
        return [tuple(row) async for row in cursor]


async def test_names_are_not_kept_unless_the_campaign_chooses(outreach: Outreach) -> None:
    await outreach.handle(ANA, Command(name="start"))
    assert await _rows(outreach, "SELECT first_name, username FROM users") == [(None, None)]


async def test_names_are_kept_when_store_names_is_on(
    make_settings, content, db, clock: Clock
) -> None:
    outreach = Outreach(make_settings(store_names="true"), content, db, clock=clock)
    await outreach.handle(ANA, Command(name="start"))
    assert await _rows(outreach, "SELECT first_name, username FROM users") == [("Ana", "ana_b")]


async def test_an_unoffered_language_falls_back_to_the_default(outreach: Outreach) -> None:
    await outreach.handle(ANA, Command(name="start"))
    assert await _rows(outreach, "SELECT lang FROM users") == [("en",)]


async def test_questions_are_counted_and_declined_ones_kept_anonymously(
    outreach: Outreach,
) -> None:
    await outreach.handle(ANA, Text(text="What is S-Comm?"))
    await outreach.handle(ANA, Text(text="my A-number is A123456789, is the food bank open today"))
    await outreach.handle(ANA, Text(text="ICE is at my door"))
    assert await outreach.db.questions.totals() == {"answered": 1, "declined": 1, "urgent": 1}
    kept = await _rows(outreach, "SELECT * FROM unanswered_questions")
    assert len(kept) == 1 and "A123456789" not in str(kept) and "77" not in str(kept)
    assert "[removed]" in str(kept)


async def test_names_kept_earlier_go_when_store_names_is_turned_off(
    make_settings, content, db, clock: Clock
) -> None:
    keeping = Outreach(make_settings(store_names="true"), content, db, clock=clock)
    await keeping.handle(ANA, Command(name="start"))
    pseudonymous = Outreach(make_settings(), content, db, clock=clock)
    await pseudonymous.tidy()
    assert await _rows(pseudonymous, "SELECT user_id, first_name, username FROM users") == [
        (77, None, None)
    ]
