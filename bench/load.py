"""Rally night on the fake Bot API: throughput, CPU per update, shared limits, outages.

Run with `python -m bench.load` (or `make bench`). Each scenario starts a fake Bot API
server (`tests/fake_telegram.py`) in its own process and the bot as `python -m bot run` in
another, exactly as deployed, with a fresh database. The fake plays scripted people: each
one's next message leaves as soon as the bot has answered the previous one (a new message
or an edit), and the fake times each answer. CPU is read from the bot's process (all its
threads, sqlite's included) between the first message and the last answer.

1. No cap and no delay, send limits off in both (SEND_RATE=1000 here): 1,000 people each
   doing /start, /learn, the Next button, a question and /subscribe, against a bare
   python-telegram-bot echo bot (`bench/echo.py`, run one update at a time and 32 at once)
   answering the same people's five texts. Target: the bot's CPU per update at most the
   echo bot's best, although it does much more.
2. Every request answered after 50 ms, Telegram's cap of 30 sends a second: 1,000 people
   arriving at once, each with /start and a question. Target: >= 27 updates a second.
3. The cap of 30 a second, a broadcast to 1,000 subscribers (BROADCAST_RATE=30), and ten
   new people a second writing meanwhile. Targets: no 429, replies' p99 under 1.5 s, the
   broadcast using >= 90% of what the replies leave of the cap.
4. A 5-second outage of 5xx answers, then one of dropped connections, with a person writing
   each second of it. Target: every one answered exactly once afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:LOAD-bench-token"
ORGANIZER = 1
PEOPLE = 1_000
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
QUESTION = "what is secure communities"
SESSION = [
    ("text", "/start"),
    ("text", "/learn"),
    ("press", "learn:1"),
    ("text", QUESTION),
    ("text", "/subscribe"),
]
# The echo bot has no buttons: its people type "next" instead.
ECHO_SESSION = [("text", "next" if kind == "press" else value) for kind, value in SESSION]
PATIENCE = 600.0  # seconds a scenario may take on a loaded machine before it is reported


@dataclass
class Fake:
    proc: subprocess.Popen[str]
    url: str

    def post(self, path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_fake/stats", timeout=60) as response:
            result: dict[str, Any] = json.load(response)
            return result

    def wait(self, done: Any, timeout: float = PATIENCE) -> dict[str, Any]:
        """Poll the stats until `done(stats)`; return them (also when time runs out)."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if done(stats) or time.monotonic() > deadline:
                return stats
            time.sleep(0.1)


@contextmanager
def _fake(rate: float | None = None, delay: float = 0.0) -> Iterator[Fake]:
    args = [sys.executable, "-m", "tests.fake_telegram", "--port", "0", "--token", TOKEN]
    if rate:
        args += ["--rate", str(rate)]
    if delay:
        args += ["--delay", str(delay)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        if not url.startswith("http"):
            raise RuntimeError("the fake Bot API did not start")
        yield Fake(proc, url)
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def _process(args: Sequence[str], env: dict[str, str], folder: Path) -> Iterator[int]:
    """Run a bot process in `folder` (no .env there); yield its pid; stop it with SIGTERM."""
    proc = subprocess.Popen(
        args, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        yield proc.pid
    finally:
        proc.terminate()
        try:
            _, errors = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, errors = proc.communicate()
        problems = [line for line in errors.splitlines() if "Traceback" in line]
        if problems:
            print(f"  ({args[2]} wrote {len(problems)} tracebacks to stderr)")


def _ours(fake: Fake, folder: Path, **settings: str) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake.url,
        "DATABASE_PATH": str(folder / "load.sqlite3"),
        "ORGANIZER_IDS": str(ORGANIZER),
        "LOG_LEVEL": "WARNING",
        **{name.upper(): value for name, value in settings.items()},
    }
    return [sys.executable, "-m", "bot", "run"], env


def _echo(fake: Fake, concurrent: int) -> tuple[list[str], dict[str, str]]:
    args = [sys.executable, "-m", "bench.echo", fake.url, TOKEN]
    if concurrent:
        args += ["--concurrent", str(concurrent)]
    return args, {**os.environ, "PYTHONPATH": str(ROOT)}


def _cpu(pid: int) -> float:
    """Return the CPU seconds a process has used, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ready(fake: Fake) -> None:
    stats = fake.wait(lambda s: s["polls"] > 0, timeout=120)
    if not stats["polls"]:
        raise RuntimeError("the bot never polled the fake Bot API")


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@dataclass
class Run:
    name: str
    updates: int
    seconds: float
    cpu: float
    stats: dict[str, Any]

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.updates * 1000


def _session(fake: Fake, pid: int, name: str, steps: list[tuple[str, str]]) -> Run:
    """Let PEOPLE scripted people chat; measure until the last one's last answer."""
    _ready(fake)
    users = list(range(10_000, 10_000 + PEOPLE))
    cpu, began = _cpu(pid), time.monotonic()
    fake.post("/_fake/script", {"users": users, "steps": steps})
    stats = fake.wait(lambda s: s["scripted_left"] == 0)
    seconds, cpu = time.monotonic() - began, _cpu(pid) - cpu
    return Run(name, len(stats["latencies"]), seconds, cpu, stats)


# -- the scenarios ---------------------------------------------------------------------------


def scenario_cpu(folder: Path) -> list[Run]:
    runs = []
    (folder / "ours").mkdir(parents=True)
    with _fake() as fake:
        args, env = _ours(fake, folder / "ours", send_rate="1000")
        with _process(args, env, folder / "ours") as pid:
            runs.append(_session(fake, pid, "Outreach Bot", SESSION))
    for concurrent in (0, 32):
        with _fake() as fake:
            args, env = _echo(fake, concurrent)
            with _process(args, env, folder) as pid:
                label = f"echo bot, {concurrent or 1} at a time"
                runs.append(_session(fake, pid, label, ECHO_SESSION))
    return runs


def scenario_capped(folder: Path) -> Run:
    with _fake(rate=30, delay=0.05) as fake:
        args, env = _ours(fake, folder)
        with _process(args, env, folder) as pid:
            return _session(fake, pid, "1,000 arriving", [("text", "/start"), ("text", QUESTION)])


@dataclass
class Shared:
    seconds: float
    broadcast: int
    replies: int
    rate_limited: int
    p50: float
    p99: float

    @property
    def share(self) -> float:
        left = 30 * self.seconds - self.replies
        return self.broadcast / left if left > 0 else 0.0


def _seed_broadcast(path: Path, recipients: range) -> None:
    import asyncio

    from flows.models import Plan
    from storage import open_database

    async def seed() -> None:
        db = await open_database(path)
        try:
            for user in recipients:
                await db.users.ensure(user, lang="en", now=NOW)
                await db.subscriptions.subscribe(
                    user, method="bench", consent_version="v", now=NOW
                )
            draft = await db.outbox.create_draft(ORGANIZER, ORGANIZER, Plan(), NOW)
            await db.outbox.set_text(draft, "<b>Vigil tonight</b> at the State House, 6 pm.")
            await db.outbox.start(draft, ORGANIZER, NOW)
            await db.commit()
        finally:
            await db.close()

    asyncio.run(seed())


def scenario_broadcast(folder: Path) -> Shared:
    recipients = range(100_000, 100_000 + PEOPLE)
    _seed_broadcast(folder / "load.sqlite3", recipients)
    with _fake(rate=30) as fake:
        args, env = _ours(fake, folder, broadcast_rate="30")
        with _process(args, env, folder):
            _ready(fake)
            began, person = time.monotonic(), 200_000

            def delivered(stats: dict[str, Any]) -> int:
                return sum(1 for chat in stats["deliveries"] if int(chat) in recipients)

            while True:
                stats = fake.stats()
                if delivered(stats) >= len(recipients):
                    break
                if time.monotonic() - began > PATIENCE:
                    break
                fake.post("/_fake/script", {"users": [person], "steps": [("text", QUESTION)]})
                person += 1
                time.sleep(0.1)
            seconds = time.monotonic() - began
            stats = fake.wait(lambda s: s["scripted_left"] == 0, timeout=60)
    latencies = stats["latencies"]
    return Shared(
        seconds,
        delivered(stats),
        len(latencies),
        stats["count_429"],
        _percentile(latencies, 0.5),
        _percentile(latencies, 0.99),
    )


def scenario_outage(folder: Path) -> list[tuple[str, int, int, int]]:
    """Return (kind, people, answered once, answered more than once) per outage."""
    rows = []
    with _fake() as fake:
        args, env = _ours(fake, folder)
        with _process(args, env, folder):
            _ready(fake)
            first = 300_000
            for kind in ("5xx", "drop"):
                people = list(range(first, first + 5))
                first += 100
                fake.post("/_fake/set", {"outage": kind})
                for person in people:
                    fake.post("/_fake/script", {"users": [person], "steps": [("text", "/help")]})
                    time.sleep(1.0)
                fake.post("/_fake/set", {"outage": None})
                stats = fake.wait(lambda s: s["scripted_left"] == 0, timeout=90)
                counts = [stats["deliveries"].get(str(p), 0) for p in people]
                rows.append(
                    (kind, len(people), sum(c == 1 for c in counts), sum(c > 1 for c in counts))
                )
    return rows


# -- the tables ------------------------------------------------------------------------------


def main() -> None:
    """Run the four scenarios and print their tables."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as name:
        folder = Path(name)
        print("1. No cap, no delay, send limits off: the bot against a bare echo bot")
        runs = scenario_cpu(folder / "1")
        print("| bot | updates | seconds | updates/s | CPU ms/update |")
        print("|---|---|---|---|---|")
        for run in runs:
            print(
                f"| {run.name} | {run.updates:,} | {run.seconds:.1f} | {run.per_second:.0f} "
                f"| {run.cpu_ms:.2f} |"
            )
        best = min(runs[1:], key=lambda r: r.cpu_ms)
        ratio = runs[0].cpu_ms / best.cpu_ms
        print(f"CPU per update, bot / best echo: {ratio:.2f} (target <= 1.0)\n")

        print("2. 50 ms per request, cap 30/s: 1,000 people arriving at once")
        (folder / "2").mkdir()
        capped = scenario_capped(folder / "2")
        print(
            f"{capped.updates:,} updates in {capped.seconds:.1f} s: "
            f"{capped.per_second:.1f} updates/s, 429s: {capped.stats['count_429']} "
            "(target >= 27/s)\n"
        )

        print("3. Cap 30/s, a broadcast to 1,000 while ten people a second write")
        (folder / "3").mkdir()
        shared = scenario_broadcast(folder / "3")
        print("| 429s | replies | reply p50 s | reply p99 s | broadcast | seconds | share |")
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {shared.rate_limited} | {shared.replies} | {shared.p50:.2f} | {shared.p99:.2f} "
            f"| {shared.broadcast:,} | {shared.seconds:.1f} | {shared.share:.0%} |"
        )
        print("targets: no 429, reply p99 < 1.5 s, share of what replies leave >= 90%\n")

        print("4. Outages of 5 s, one person writing each second")
        (folder / "4").mkdir()
        print("| outage | people | answered once | answered twice or more |")
        print("|---|---|---|---|")
        for kind, people, once, more in scenario_outage(folder / "4"):
            print(f"| {kind} | {people} | {once} | {more} |")
        print("target: every one answered exactly once")


if __name__ == "__main__":
    main()
