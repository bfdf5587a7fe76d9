"""What admins review, shared by Telegram, the command line and the benchmark: a page of the
opt-in list, the campaign's numbers, and the export, written while it is read.
"""

from __future__ import annotations

import csv
import io
import json
from contextlib import aclosing
from datetime import datetime, timedelta
from typing import BinaryIO, Literal

from flows.admin import (
    CHART_DAYS,
    CSV_COLUMNS,
    PAGE_SIZE,
    OptIn,
    OptInPage,
    Stats,
    clamp_page,
    csv_cells,
    json_record,
    page_count,
)
from storage import Database

__all__ = ["ExportFormat", "export_optins", "gather_stats", "load_page"]

ExportFormat = Literal["csv", "json"]
# Built once: json.dumps with options builds a new encoder on every call.
_JSON = json.JSONEncoder(ensure_ascii=False)


async def load_page(db: Database, requested: int, size: int = PAGE_SIZE) -> OptInPage:
    """Load page `requested` of the opt-in list, or the last page when it is beyond the end."""
    totals = await db.admin.status_counts()
    total = sum(totals.values())
    number = clamp_page(requested, total, size)
    rows = await db.admin.page((number - 1) * size, size) if total else []
    return OptInPage(
        rows=tuple(rows),
        number=number,
        pages=page_count(total, size),
        totals=totals,
        beyond=requested > number,
    )


async def gather_stats(db: Database, now: datetime) -> Stats:
    """Collect subscriber counts, new opt-ins (also per day), the funnel and question counts."""
    week = now - timedelta(days=7)
    return Stats(
        statuses=await db.admin.status_counts(),
        new_7=await db.admin.new_since(week),
        new_30=await db.admin.new_since(now - timedelta(days=30)),
        funnel_all=await db.admin.funnel_totals(),
        funnel_7=await db.admin.funnel_since(week),
        questions_all=await db.questions.totals(),
        questions_7=await db.questions.totals(week),
        new_per_day=tuple(await db.subscriptions.new_per_day(now, CHART_DAYS)),
    )


async def export_optins(
    db: Database, out: BinaryIO, fmt: ExportFormat = "csv", *, names: bool
) -> int:
    """Write the whole opt-in list to `out` as UTF-8 CSV or JSON, chunk by chunk; count rows."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        write = _CsvWriter(text, names) if fmt == "csv" else _JsonWriter(text, names)
        rows = 0
        async with aclosing(db.admin.each_optin()) as chunks:
            async for chunk in chunks:
                write.rows(chunk)
                rows += len(chunk)
        write.end()
    finally:
        text.flush()
        text.detach()  # the caller owns `out` and may still read or upload it
    return rows


class _CsvWriter:
    """RFC 4180 CSV with a header row; each chunk goes to `out` in one write."""

    def __init__(self, out: io.TextIOWrapper, names: bool) -> None:
        self._out = out
        self._names = names
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer)
        self._csv.writerow(CSV_COLUMNS)

    def rows(self, chunk: list[OptIn]) -> None:
        self._csv.writerows(csv_cells(row, names=self._names) for row in chunk)
        self._out.write(self._buffer.getvalue())
        self._buffer.seek(0)
        self._buffer.truncate()

    def end(self) -> None:
        self._out.write(self._buffer.getvalue())  # the header of an empty list


class _JsonWriter:
    """A JSON array, one object a line, written without holding the list."""

    def __init__(self, out: io.TextIOWrapper, names: bool) -> None:
        self._out = out
        self._names = names
        self._first = True
        out.write("[")

    def rows(self, chunk: list[OptIn]) -> None:
        if not chunk:
            return
        self._out.write("\n" if self._first else ",\n")
        self._out.write(",\n".join(_JSON.encode(json_record(r, names=self._names)) for r in chunk))
        self._first = False

    def end(self) -> None:
        self._out.write("]\n" if self._first else "\n]\n")
