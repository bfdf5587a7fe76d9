"""Measure the broadcast sender against a rate-limited fake Bot API: rate, 429s, duplicates, CPU.

Run with `python -m bench.broadcast` (or `make bench`). For each scenario a fake Bot API
server runs in its own process, answering 429 beyond R messages per second; the sender runs
in this process with BROADCAST_RATE just under R, on a fresh sqlite outbox, so the CPU time
measured here is the sender's own (plus sqlite's thread). Prints one plain table.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from bot.broadcast import BroadcastSender
from bot.config import Settings
from flows.models import Plan
from storage import Database, open_database
from storage.content import load_content

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-token"
ORGANIZER = 1  # not a recipient: the summary message does not count as a delivery
FIRST_RECIPIENT = 100_000
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scenario:
    limit: int  # what the fake server allows, messages per second
    rate: float  # BROADCAST_RATE
    recipients: int


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    seconds: float
    sent: int
    rate_limited: int
    attempts: int
    duplicates: int
    missed: int
    cpu: float

    @property
    def achieved(self) -> float:
        return self.sent / self.seconds

    @property
    def share(self) -> float:
        return self.achieved / self.scenario.rate

    @property
    def share_429(self) -> float:
        return self.rate_limited / self.attempts if self.attempts else 0.0


SCENARIOS = (
    # 5,000 at 30/s would take three minutes: 1,500 show the same steady state.
    Scenario(limit=30, rate=28, recipients=1_500),
    Scenario(limit=500, rate=480, recipients=5_000),
)


def _start_fake(limit: int) -> tuple[subprocess.Popen[str], str]:
    """Start the fake Bot API in its own process; return it and its URL."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.fake_telegram", "--port", "0"),
            *("--rate", str(limit), "--token", TOKEN),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError("the fake Bot API did not start")
    return proc, url


def _stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_fake/stats", timeout=30) as response:
        return json.load(response)


async def _prepare(db: Database, recipients: int) -> int:
    """Seed subscribers and start a text broadcast to them, as the Send button would."""
    for user_id in range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients):
        await db.users.ensure(user_id, lang="en", now=NOW)
        await db.subscriptions.subscribe(user_id, method="bench", consent_version="v", now=NOW)
    draft = await db.outbox.create_draft(ORGANIZER, ORGANIZER, Plan(), NOW)
    await db.outbox.set_text(draft, "<b>Vigil tonight</b> at the State House, 6 pm.")
    await db.outbox.start(draft, ORGANIZER, NOW)
    await db.commit()
    return draft


async def _wait_done(db: Database, broadcast_id: int) -> None:
    while True:
        found = await db.outbox.get(broadcast_id)
        if found is not None and found.state != "sending":
            return
        await asyncio.sleep(0.2)


async def _run(scenario: Scenario, folder: Path) -> Outcome:
    proc, url = _start_fake(scenario.limit)
    try:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_bot_token=SecretStr(TOKEN),
            telegram_api_url=url,
            database_path=folder / f"bench-{scenario.limit}.sqlite3",
            broadcast_rate=scenario.rate,
            broadcast_paid=scenario.rate > 30,
        )
        db = await open_database(settings.database_path)
        try:
            broadcast_id = await _prepare(db, scenario.recipients)
            sender = BroadcastSender(settings, load_content(settings.content_dir))
            await sender.start()
            began, cpu = time.monotonic(), time.process_time()
            await _wait_done(db, broadcast_id)
            seconds, cpu = time.monotonic() - began, time.process_time() - cpu
            await sender.stop()
        finally:
            await db.close()
        stats = _stats(url)
    finally:
        proc.terminate()
        proc.wait(10)
    deliveries = {int(k): v for k, v in stats["deliveries"].items()}
    wanted = range(FIRST_RECIPIENT, FIRST_RECIPIENT + scenario.recipients)
    return Outcome(
        scenario=scenario,
        seconds=seconds,
        sent=sum(min(1, deliveries.get(u, 0)) for u in wanted),
        rate_limited=stats["count_429"],
        attempts=stats["sends_ok"] + stats["count_429"],
        duplicates=sum(max(0, deliveries.get(u, 0) - 1) for u in wanted),
        missed=sum(1 for u in wanted if not deliveries.get(u)),
        cpu=cpu,
    )


def _table(outcomes: list[Outcome]) -> str:
    head = (
        "| limit R/s | BROADCAST_RATE | recipients | time s | achieved/s | % of rate "
        "| 429s | 429s % of sends | duplicates | missed | CPU s / 1,000 msgs |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for o in outcomes:
        s = o.scenario
        lines.append(
            f"| {s.limit} | {s.rate:g} | {s.recipients:,} | {o.seconds:.1f} | {o.achieved:.1f} "
            f"| {o.share:.1%} | {o.rate_limited} | {o.share_429:.2%} | {o.duplicates} "
            f"| {o.missed} | {o.cpu / o.sent * 1000:.2f} |"
        )
    return "\n".join(lines)


def _verdict(outcomes: list[Outcome]) -> str:
    ok = all(
        o.share >= 0.95 and o.share_429 < 0.01 and o.duplicates == 0 and o.missed == 0
        for o in outcomes
    )
    targets = "targets: >= 95% of BROADCAST_RATE, 429s < 1% of sends, no duplicates, none missed"
    return f"{targets}: {'met' if ok else 'NOT met'}"


def main() -> None:
    """Run every scenario and print the table."""
    logging.basicConfig(level=logging.WARNING)
    print("Broadcast sender against a fake Bot API limiting to R messages per second")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as folder:
        for scenario in SCENARIOS:
            outcomes.append(asyncio.run(_run(scenario, Path(folder))))
    print(_table(outcomes))
    print(_verdict(outcomes))


if __name__ == "__main__":
    main()
