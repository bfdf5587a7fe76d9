"""Production: webhook mode and its health endpoint, `doctor`, and online backups."""

from __future__ import annotations

import asyncio
import inspect
import io
import os
import shutil
import signal
import socket
import sqlite3
import stat
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite
import pytest

from bot.app import build_application
from bot.config import Settings, SettingsError, load_settings
from bot.doctor import run_doctor
from bot.webhook import SECRET_HEADER, serve_webhook
from storage import open_database
from storage.backup import BackupError, backup_database
from tests.botkit import ROOT, TOKEN, query, run_cli
from tests.conftest import CONTENT_DIR
from tests.fake_telegram import FakeTelegram

SECRET = "s3cret_webhook-Token"
USER = 6101
TIMEOUT = 30.0  # generous: the suite may share a loaded machine; every wait polls


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(predicate: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> None:
    """Poll `predicate` (plain or async) until true, or fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while not await _value(predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.02)


async def _value(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


async def health(session: aiohttp.ClientSession, base: str) -> tuple[int, str]:
    try:
        async with session.get(f"{base}/healthz") as response:
            return response.status, await response.text()
    except aiohttp.ClientError:
        return 0, ""


async def post(
    session: aiohttp.ClientSession, url: str, update: object, secret: str | None
) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with session.post(url, json=update, headers=headers) as response:
        return response.status


@asynccontextmanager
async def webhook_bot(
    fake: FakeTelegram, make_settings: Callable[..., Settings]
) -> AsyncIterator[tuple[Settings, str]]:
    """Run the bot by webhook in this event loop on a socket bound to a free port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(
        telegram_bot_token=TOKEN,
        telegram_api_url=fake.url,
        webhook_url=f"{base}/telegram/hook",
        webhook_secret=SECRET,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_webhook(build_application(settings), settings, stop, sock=sock)
    )
    try:
        async with aiohttp.ClientSession() as session:

            async def up() -> bool:
                if task.done():
                    task.result()  # raise what stopped it
                return (await health(session, base))[0] == 200

            await until(up, "the webhook server reports healthy")
        yield settings, f"{base}/telegram/hook"
    finally:
        stop.set()
        await asyncio.wait_for(task, TIMEOUT)
        sock.close()


async def test_webhook_with_the_secret_gets_a_reply_and_health_answers(
    fake: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    async with webhook_bot(fake, make_settings) as (settings, url):
        params = next(p for name, p in fake.calls if name == "setWebhook")
        assert params["url"] == settings.webhook_url and params["secret_token"] == SECRET
        assert "message" in params["allowed_updates"]
        async with aiohttp.ClientSession() as session:
            assert await post(session, url, fake.update_from(USER, "/start"), SECRET) == 200
            welcome = await fake.wait_for_message(USER, timeout=TIMEOUT)
            assert "S-Comm" in welcome["text"]
            assert await health(session, url.rsplit("/", 2)[0]) == (200, "ok\n")
            # A body that is not an update is refused without stopping the bot.
            assert await post(session, url, {"nonsense": True}, SECRET) == 400
            await post(session, url, fake.update_from(USER, "/help"), SECRET)
            await fake.wait_for_message(USER, count=2, timeout=TIMEOUT)


async def test_webhook_without_or_with_a_wrong_secret_is_refused_and_nothing_handled(
    fake: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    stranger, friend = 6201, 6202
    async with webhook_bot(fake, make_settings) as (settings, url):
        async with aiohttp.ClientSession() as session:
            update = fake.update_from(stranger, "/start")
            assert await post(session, url, update, None) == 403
            assert await post(session, url, update, "wrong-secret") == 403
            assert await post(session, url, update, SECRET[:-1]) == 403
            # Updates are handled in order: once a later one is answered, earlier ones were too.
            assert await post(session, url, fake.update_from(friend, "/start"), SECRET) == 200
            await fake.wait_for_message(friend, timeout=TIMEOUT)
        assert fake.messages(stranger) == []
        users = await query(settings.database_path, "SELECT user_id FROM users")
        assert users == [(friend,)]


async def test_run_webhook_serves_until_sigterm(fake: FakeTelegram, isolated: Path) -> None:
    port = free_port()
    base, url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/hook"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake.url,
        "WEBHOOK_URL": url,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_PORT": str(port),
        "LOG_LEVEL": "DEBUG",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--webhook", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:

            async def up() -> bool:
                assert proc.returncode is None, "the bot exited early"
                return (await health(session, base))[0] == 200

            await until(up, "`run --webhook` reports healthy")
            assert await post(session, url, fake.update_from(USER, "/start"), SECRET) == 200
            await fake.wait_for_message(USER, timeout=TIMEOUT)
            assert await post(session, url, fake.update_from(USER, "/help"), "nope") == 403
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    logs = err.decode()
    assert proc.returncode == 0, logs
    assert "serving Telegram by webhook" in logs
    assert TOKEN not in logs and SECRET not in logs


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({}, "WEBHOOK_URL and WEBHOOK_SECRET"),
        ({"WEBHOOK_URL": "https://bot.example.org/hook"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL"),
    ],
)
def test_run_webhook_refuses_to_start_without_url_or_secret(
    variables: dict[str, str], named: str
) -> None:
    result = cli("run", "--webhook", env={"TELEGRAM_BOT_TOKEN": TOKEN, **variables})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"configuration error: run --webhook needs {named}"
    ]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEBHOOK_URL", "ftp://bot.example.org/hook"),
        ("WEBHOOK_URL", "bot.example.org/hook"),
        ("WEBHOOK_PORT", "0"),
        ("WEBHOOK_PORT", "70000"),
        ("WEBHOOK_SECRET", "has spaces"),
        ("WEBHOOK_SECRET", "x" * 257),
        ("WEBHOOK_LISTEN", ""),
    ],
)
def test_a_bad_webhook_setting_is_named(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"^{variable}: ") as caught:
        load_settings()
    if variable == "WEBHOOK_SECRET":
        assert value not in str(caught.value)  # a secret is not echoed, even a wrong one


def test_webhook_settings_have_their_defaults() -> None:
    settings = load_settings()
    assert (settings.webhook_url, settings.webhook_secret) == (None, None)
    assert (settings.webhook_listen, settings.webhook_port) == ("127.0.0.1", 8443)


def test_env_example_documents_every_setting_and_loads_as_shipped(isolated: Path) -> None:
    example = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"{name.upper()}=" in example, name
    shutil.copy(ROOT / ".env.example", isolated / ".env")
    settings = load_settings()
    assert settings.webhook_url is None and settings.webhook_secret is None


# ---------------------------------------------------------------------------- doctor


cli = run_cli


async def doctor() -> tuple[int, list[str]]:
    """Run the doctor off the event loop (it makes its own), and return its lines."""
    out = io.StringIO()
    status = await asyncio.to_thread(run_doctor, out)
    return status, out.getvalue().splitlines()


@pytest.fixture
async def migrated(isolated: Path) -> Path:
    path = isolated / "bot.sqlite3"
    db = await open_database(path)
    await db.close()
    return path


async def test_doctor_passes_a_good_setup(
    fake: FakeTelegram, migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", fake.url)
    monkeypatch.setenv("ADMIN_IDS", "1001")
    status, lines = await doctor()
    assert status == 0, lines
    assert "ok: Telegram: getMe answered, the bot is @OutreachTestBot" in lines
    assert f"ok: database {migrated} (schema up to date, writable)" in lines
    assert any(": warning: contact " in line for line in lines)  # warned, not failed
    assert lines[-1].startswith("doctor: no problems")
    assert all(TOKEN not in line for line in lines)


def test_doctor_command_exits_0_on_a_good_setup(migrated: Path) -> None:
    result = cli("doctor", env={"DATABASE_PATH": str(migrated)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("doctor: no problems")


async def test_doctor_names_a_broken_content_file(
    migrated: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = isolated / "content"
    shutil.copytree(CONTENT_DIR, folder)
    (folder / "en" / "texts.yaml").write_text("welcome: [unclosed\n")
    monkeypatch.setenv("CONTENT_DIR", str(folder))
    status, lines = await doctor()
    assert status == 1
    broken = [line for line in lines if line.startswith(f"{folder / 'en' / 'texts.yaml'}:")]
    assert broken, lines
    assert lines[-1].startswith("doctor: ") and "problem" in lines[-1]


async def test_doctor_names_an_unreachable_api(
    migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", f"http://127.0.0.1:{free_port()}")
    status, lines = await doctor()
    assert status == 1
    assert any(line.startswith("TELEGRAM_API_URL: cannot reach") for line in lines), lines
    assert lines[-1].startswith("doctor: 1 problem (")
    assert all(TOKEN not in line for line in lines)


async def test_doctor_names_a_bad_token_without_showing_it(
    fake: FakeTelegram, migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "123456:WRONG-token-abcdefghijklmnopqrstuvwxyz"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", wrong)
    monkeypatch.setenv("TELEGRAM_API_URL", fake.url)
    status, lines = await doctor()
    assert status == 1
    assert any(line.startswith("TELEGRAM_BOT_TOKEN: ") for line in lines), lines
    assert all(wrong not in line and "WRONG" not in line for line in lines)


async def test_doctor_names_a_database_that_needs_migrations_or_is_not_one(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = isolated / "old.sqlite3"
    db = await open_database(old, run_migrations=False)
    await db.close()
    monkeypatch.setenv("DATABASE_PATH", str(old))
    status, lines = await doctor()
    assert status == 1
    assert any("needs migrations (m001_initial" in line for line in lines), lines
    notes = isolated / "notes.txt"
    notes.write_text("not a database\n" * 100)
    monkeypatch.setenv("DATABASE_PATH", str(notes))
    status, lines = await doctor()
    assert status == 1
    assert any(line.startswith("DATABASE_PATH: ") for line in lines), lines


async def test_doctor_names_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_PORT", "0")
    status, lines = await doctor()
    assert status == 1
    assert lines[0].startswith("WEBHOOK_PORT: ")
    assert lines[-1] == "doctor: 1 problem (0 warnings)"


# ---------------------------------------------------------------------------- backup


async def test_backup_while_another_connection_writes_is_a_valid_copy(
    migrated: Path, isolated: Path
) -> None:
    seeded = 20_000
    async with aiosqlite.connect(migrated) as db:
        await db.executemany(
            "INSERT INTO users (user_id, lang, first_seen) VALUES (?, 'en', '2026-11-28')",
            ((i,) for i in range(1, seeded + 1)),
        )
        await db.commit()
    written = 0
    stop = asyncio.Event()

    async def writer() -> None:
        nonlocal written
        async with aiosqlite.connect(migrated, timeout=5) as db:
            while not stop.is_set():
                await db.execute(
                    "INSERT INTO users (user_id, lang, first_seen) VALUES (?, 'es', '2026-12-01')",
                    (1_000_000 + written,),
                )
                await db.commit()
                written += 1

    task = asyncio.create_task(writer())
    try:
        await until(lambda: written >= 5, "the writer commits")
        before = written
        target = isolated / "backup.sqlite3"
        size = await asyncio.to_thread(backup_database, migrated, target)
        after = written
        await until(lambda: written >= after + 5, "the writer goes on after the copy")
    finally:
        stop.set()
        await task
    assert size == target.stat().st_size
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not target.with_name(target.name + ".part").exists()
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA quick_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        ids = [row[0] for row in copy.execute("SELECT user_id FROM users ORDER BY user_id")]
        migrations = copy.execute("SELECT count(*) FROM migrations").fetchone()[0]
    assert migrations > 0
    assert ids[:seeded] == list(range(1, seeded + 1))
    late = ids[seeded:]
    # One snapshot: every write committed before the copy, none of those after, no holes.
    assert before <= len(late) <= after
    assert late == list(range(1_000_000, 1_000_000 + len(late)))


def test_backup_refuses_to_overwrite_without_force(migrated: Path, isolated: Path) -> None:
    target = isolated / "copy.sqlite3"
    target.write_text("keep me")
    result = cli("db", "backup", str(target))
    assert result.returncode == 1
    assert "--force" in result.stderr and target.read_text() == "keep me"
    result = cli("db", "backup", str(target), "--force")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"backed up {migrated} to {target} (")
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM migrations").fetchone()[0] > 0


def test_backup_of_a_missing_database_creates_nothing(isolated: Path) -> None:
    with pytest.raises(BackupError, match="there is no database"):
        backup_database(isolated / "none.sqlite3", isolated / "copy.sqlite3")
    assert not (isolated / "none.sqlite3").exists()
    assert not (isolated / "copy.sqlite3").exists()
