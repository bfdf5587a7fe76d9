"""`python -m bot optins export`: both formats, to a file and to standard output, audited;
`python -m bot stats [--png FILE]`: the admin's numbers as text, and the chart."""

from __future__ import annotations

import csv
import io
import json
import stat
import struct
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from flows.admin import CSV_COLUMNS
from flows.models import Status
from storage import open_database
from tests.admin_data import add_subscriber
from tests.test_cli import bot

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
async def seeded(isolated: Path) -> Path:
    path = isolated / "bot.sqlite3"
    db = await open_database(path)
    try:
        await add_subscriber(db, 31, NOW, first_name="+Zoë", username="zoe", source="flyer")
        await add_subscriber(db, 32, NOW.replace(hour=13), status=Status.BLOCKED)
        await db.commit()
    finally:
        await db.close()
    return path


def _csv(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    assert next(reader) == list(CSV_COLUMNS)
    return [dict(zip(CSV_COLUMNS, row, strict=True)) for row in reader]


async def _audit(path: Path) -> list[tuple[int, str, str]]:
    async with (
        aiosqlite.connect(path) as db,
        db.execute("SELECT actor_id, action, detail FROM audit_log ORDER BY id") as cursor,
    ):
        return [(row[0], row[1], row[2]) async for row in cursor]


async def test_csv_to_standard_output(seeded: Path) -> None:
    result = bot("optins", "export", env={"STORE_NAMES": "true"})
    assert result.returncode == 0, result.stderr
    rows = _csv(result.stdout)
    assert [(r["user_id"], r["status"]) for r in rows] == [("31", "active"), ("32", "blocked")]
    assert rows[0]["first_name"] == "'+Zoë" and rows[0]["source"] == "flyer"
    assert rows[0]["consent_at"] == "2026-11-28T12:00:00Z"
    [(actor, action, detail)] = await _audit(seeded)
    assert (actor, action) == (0, "optins export")
    assert detail.startswith("csv to standard output by ") and detail.endswith(", 2 rows")


async def test_json_to_standard_output_without_names(seeded: Path) -> None:
    result = bot("optins", "export", "--format", "json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["user_id"] for r in records] == [31, 32]
    assert records[0]["first_name"] is None and records[0]["username"] is None
    assert records[1]["status"] == "blocked" and records[1]["status_changed_at"].endswith("Z")


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_to_a_private_file(seeded: Path, isolated: Path, fmt: str) -> None:
    target = isolated / "out" / f"optins.{fmt}"
    target.parent.mkdir()
    result = bot("optins", "export", "--format", fmt, "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "2 opt-ins written" in result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no .part left
    text = target.read_text(encoding="utf-8")
    ids = (
        [r["user_id"] for r in _csv(text)]
        if fmt == "csv"
        else [str(r["user_id"]) for r in json.loads(text)]
    )
    assert ids == ["31", "32"]
    [(_, _, detail)] = await _audit(seeded)
    assert detail.startswith(f"{fmt} to {target} by ")


def test_an_unknown_format_is_refused(isolated: Path) -> None:
    result = bot("optins", "export", "--format", "xlsx")
    assert result.returncode == 2 and "invalid choice" in result.stderr


async def test_stats_prints_the_numbers_and_writes_the_chart(seeded: Path, isolated: Path) -> None:
    target = isolated / "stats.png"
    result = bot("stats", "--png", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Campaign numbers\n")
    assert "Subscribers: 1 subscribed, 0 unsubscribed, 1 blocked the bot." in result.stdout
    assert "<b>" not in result.stdout and f"chart written to {target}" in result.stderr
    png = target.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (800, 800)
    [(actor, action, detail)] = await _audit(seeded)
    assert (actor, action) == (0, "stats") and detail.startswith(f"text and chart to {target} by ")


def test_stats_in_another_language_without_a_chart(seeded: Path, isolated: Path) -> None:
    result = bot("stats", "--lang", "es")
    assert result.returncode == 0, result.stderr
    assert "Suscripciones: 1 suscritas, 0 dadas de baja, 1 bloquearon el bot." in result.stdout
    assert list(isolated.glob("*.png")) == []
