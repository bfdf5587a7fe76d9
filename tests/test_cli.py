"""The command line: settings errors, migrations, and the terminal chat through a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def bot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ADMIN_IDS", "12,abc"),
        ("ORGANIZER_IDS", "x"),
        ("BROADCAST_RATE", "0"),
        ("BROADCAST_RATE", "fast"),
        ("CONTENT_DIR", "/no/such/folder"),
        ("STORE_NAMES", "perhaps"),
        ("TELEGRAM_API_URL", "api.telegram.org"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_a_bad_variable_stops_start_up_naming_it(variable: str, value: str) -> None:
    result = bot("db", "migrate", env={variable: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr


def test_a_bad_variable_in_dotenv_is_named(isolated: Path) -> None:
    (isolated / ".env").write_text("ADMIN_IDS=one\n")
    result = bot("db", "migrate")
    assert result.returncode == 2 and "ADMIN_IDS" in result.stderr


def test_db_migrate_is_safe_twice(isolated: Path) -> None:
    first = bot("db", "migrate")
    second = bot("db", "migrate")
    assert first.returncode == 0 and "m001_initial" in first.stdout
    assert second.returncode == 0 and "up to date" in second.stdout
    assert (isolated / "bot.sqlite3").exists()


def test_terminal_chat_through_a_pipe_keeps_state_between_runs() -> None:
    session = "\n".join(
        [
            "/learn",
            "1",
            "/act",
            "/subscribe",
            "/subscribe",
            "what is the difference between arrested and convicted",
            "/quit",
            "ignored",
        ]
    )
    first = bot("shell", stdin=session)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "[1] 📖 What is S-Comm?" in out  # the welcome menu, numbered
    assert "(1/6)" in out and "(2/6)" in out  # pressing 1 on the first step went on
    assert "You are subscribed" in out and "You are already subscribed" in out
    assert "Arrested" in out or "arrested" in out
    assert "<b>" not in out  # HTML is for Telegram only
    second = bot("shell", stdin="/mydata\n")  # ends at end of input
    assert second.returncode == 0
    assert "Updates: subscribed" in second.stdout
    third = bot("shell", stdin="STOP\n/mydata\n")
    assert "You are unsubscribed" in third.stdout and "Updates: unsubscribed" in third.stdout


def test_start_without_a_token_opens_the_terminal_chat() -> None:
    result = bot("start", stdin="")
    assert result.returncode == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Welcome" in result.stdout
