"""Measure the safety features on messages written by people who never saw the word lists.

Run with `python -m bench.safety [--parts tune,tune4] [--lang es]` (or `make bench`). Reads
bench/eval/safety_LANG.{tune,…,tune5,sealed}.yaml (urgent messages, calm questions
that use the same words, questions with planted personal details; see the README for how
they were written). Prints, per language and part:

* urgent recall: urgent messages that got the emergency reply first;
* false urgent: calm questions that got it;
* leaked details, kind by kind: after a whole session in which every message is sent by its
  own user through the same service the bot runs (`Outreach.handle`, a real sqlite file,
  logging at DEBUG with LOG_PRIVATE_DATA off), each planted detail's secrets are searched
  in every table, in the raw database and WAL files, and in the captured logs.

The sealed part was never read while the word lists were tuned: only its figures are shown.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.config import load_settings
from bot.logs import setup_logging
from bot.service import Outreach, Who
from flows.models import Text
from storage import open_database
from storage.content import load_content

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "bench" / "eval"
PARTS = ("tune", "tune2", "tune3", "tune4", "tune5", "sealed")
LANGUAGES = ("en", "es", "pt")


def _load(lang: str, part: str) -> dict | None:
    path = EVAL / f"safety_{lang}.{part}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


async def _session(
    lang: str, sets: Sequence[dict], folder: Path
) -> tuple[dict[str, bool], Counter[str], Counter[str]]:
    """Send every message as its own user; return replies seen and leaks per kind."""
    database = folder / "bench.sqlite3"
    settings = load_settings(database_path=database, log_level="DEBUG")
    content = load_content(settings.content_dir)
    urgent_text = content.fill(content.pack(lang).texts.urgent)
    logs = io.StringIO()
    setup_logging("DEBUG", None, private_data=False)
    logging.getLogger().handlers[0].stream = logs  # type: ignore[attr-defined]
    db = await open_database(database)
    outreach = Outreach(settings, content, db)
    first_reply: dict[str, bool] = {}
    user = 10_000
    try:
        for data in sets:
            texts = [p["text"] for p in data.get("planted", ())]
            for message in (*data["urgent"], *data["calm"], *texts):
                user += 1
                replies = await outreach.handle(Who(user, lang), Text(text=message))
                first_reply[message] = bool(replies) and replies[0].text == urgent_text
    finally:
        await db.close()
        logging.getLogger().handlers.clear()
    stored = b"".join(
        path.read_bytes() for path in folder.iterdir() if path.name.startswith("bench.sqlite3")
    ).lower()
    dump = await _tables(database)
    written = logs.getvalue().lower()
    leaks: Counter[str] = Counter()
    planted: Counter[str] = Counter()
    for data in sets:
        for item in data.get("planted", ()):
            for detail in item["details"]:
                planted[detail["kind"]] += 1
                secrets = [s.lower() for s in detail["secrets"]]
                if any(s in dump or s.encode() in stored or s in written for s in secrets):
                    leaks[detail["kind"]] += 1
    return first_reply, leaks, planted


async def _tables(database: Path) -> str:
    import aiosqlite

    parts: list[str] = []
    async with aiosqlite.connect(database) as db:
        async with db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            tables = [row[0] async for row in cursor]
        for table in tables:
            async with db.execute(f"SELECT * FROM {table}") as cursor:
                # Text only: the bench's own user ids are numbers, not what people typed.
                parts += [
                    " ".join(value for value in row if isinstance(value, str))
                    async for row in cursor
                ]
    return "\n".join(parts).lower()


def _row(label: str, data: dict, urgent: dict[str, bool], leaks: Counter, planted: Counter) -> str:
    hits = sum(urgent[m] for m in data["urgent"])
    false = sum(urgent[m] for m in data["calm"])
    leaked = sum(leaks.values())
    total = sum(planted.values())
    return (
        f"{label:<14} {hits / len(data['urgent']):>7.1%} ({hits}/{len(data['urgent'])})"
        f" {false / len(data['calm']):>7.1%} ({false}/{len(data['calm'])})"
        f"   {leaked}/{total}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the safety tables (`--parts tune,tune4` for some parts only, e.g. while tuning)."""
    parser = argparse.ArgumentParser(prog="python -m bench.safety")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated parts to run")
    parser.add_argument("--lang", default=",".join(LANGUAGES), help="comma-separated languages")
    args, _ = parser.parse_known_args(argv)  # `python -m bench safety` passes its own name
    parts = [part for part in args.parts.split(",") if part]
    print("Safety on independent sets (urgent recall, false urgent, leaked planted details)")
    print(f"{'set':<14} {'recall':>16} {'false urgent':>16}   leaked")
    kinds_total: Counter[str] = Counter()
    kinds_leaked: Counter[str] = Counter()
    for lang in args.lang.split(","):
        loaded = {part: _load(lang, part) for part in parts}
        sets = {part: data for part, data in loaded.items() if data}
        if not sets:
            print(f"{lang}: no evaluation set, skipped")
            continue
        for part, data in sets.items():
            with tempfile.TemporaryDirectory() as folder:
                urgent, leaks, planted = asyncio.run(_session(lang, [data], Path(folder)))
            print(_row(f"{lang} {part}", data, urgent, leaks, planted))
            kinds_total.update(planted)
            kinds_leaked.update(leaks)
    print("\nLeaked details by kind, all languages and parts (target 0):")
    print(
        "  "
        + ", ".join(f"{kind} {kinds_leaked[kind]}/{n}" for kind, n in sorted(kinds_total.items()))
    )
    print("Targets per language: recall >= 98%, false urgent <= 3%, leaked 0.")


if __name__ == "__main__":
    main()
    sys.exit(0)
