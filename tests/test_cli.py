"""The command line: settings errors, migrations, and the terminal chat through a pipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.botkit import run_cli

bot = run_cli


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ADMIN_IDS", "12,abc"),
        ("ADMIN_IDS", "١٢٣"),
        ("ADMIN_IDS", "-5"),
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


@pytest.mark.parametrize("command", [("db", "migrate"), ("shell",), ("ask", "what is s-comm")])
def test_a_database_path_that_is_not_a_database_is_named(
    isolated: Path, command: tuple[str, ...]
) -> None:
    (isolated / "notes.txt").write_text("not a database\n" * 100)
    result = bot(*command, env={"DATABASE_PATH": str(isolated / "notes.txt")})
    if command[0] == "ask":  # answering needs no database
        assert result.returncode == 0
        return
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATABASE_PATH" in lines[0]


def test_db_migrate_is_safe_twice(isolated: Path) -> None:
    first = bot("db", "migrate")
    second = bot("db", "migrate")
    assert first.returncode == 0 and "m001_initial" in first.stdout
    assert second.returncode == 0 and "up to date" in second.stdout
    assert (isolated / "bot.sqlite3").exists()


def test_terminal_chat_through_a_pipe_keeps_state_between_runs() -> None:
    session = "\n".join(
        [
            "²",
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


def test_ask_answers_one_question_as_json() -> None:
    result = bot("ask", "what is the difference between arrested and convicted?", "--json")
    answer = json.loads(result.stdout)
    assert answer["id"] == "arrest-not-conviction"
    assert "convicted" in answer["answer"] and answer["score"] > 0


def test_ask_reads_one_question_a_line_and_declines_honestly() -> None:
    questions = "wat is scomm\nwho won the football game last night\nICE is at my door\n"
    result = bot("ask", "--json", stdin=questions)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["what-is-scomm", None, "urgent"]
    assert [a["kind"] for a in answers] == ["answer", "declined", "urgent"]
    assert "not sure" in answers[1]["answer"]
    assert "(617) 370-5023" in answers[2]["answer"]  # the hotline, before any matching


def test_ask_refers_uncovered_immigration_questions_to_legal_help() -> None:
    questions = "how do i renew my daca\nthanks!\n¿cómo saco la green card?\n"
    result = bot("ask", "--json", stdin=questions)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(a["id"], a["kind"]) for a in answers] == [
        (None, "referral"),
        (None, "intent"),
        (None, "referral"),
    ]
    assert "outside what this bot knows" in answers[0]["answer"]
    assert "https://www.aclum.org" in answers[0]["answer"]
    assert "welcome" in answers[1]["answer"]


def test_ask_in_another_language() -> None:
    result = bot("ask", "¿qué es s-comm?", "--lang", "es", "--json")
    assert json.loads(result.stdout)["id"] == "what-is-scomm"


def test_faq_list_gives_every_entry_of_every_language() -> None:
    entries = json.loads(bot("faq", "list", "--json").stdout)
    assert {e["lang"] for e in entries} == {"en", "es", "pt"}
    english = [e for e in entries if e["lang"] == "en"]
    assert len(english) >= 25
    assert all(e["id"] and e["questions"] and e["answer"] for e in entries)
    assert "{" not in "".join(e["answer"] for e in entries)  # placeholders filled in
    only_pt = json.loads(bot("faq", "list", "--lang", "pt", "--json").stdout)
    assert {e["lang"] for e in only_pt} == {"pt"}


def test_logs_never_show_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    import logging
    import sys as system

    from bot.logs import setup_logging

    token = "424242:SECRET-token-abcdefghijklmnopq"
    hook = system.excepthook
    try:
        setup_logging("DEBUG", token)
        logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/getMe", token)
        logging.getLogger("x").info("something shaped like one: 111111:AAAAAAAAAAAAAAAAAAAAAAAAA")
        try:
            raise RuntimeError(f"The token `{token}` was rejected")
        except RuntimeError as exc:
            system.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        system.excepthook = hook
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "getMe" in err and "uncaught error" in err and "[token]" in err
    assert "SECRET-token" not in err and "AAAAAAAAAAAAAAAAAAAAAAAAA" not in err


def test_a_language_the_campaign_does_not_offer_is_refused() -> None:
    result = bot("faq", "list", "--lang", "fr", "--json")
    assert result.returncode == 2 and "fr" in result.stderr and result.stdout == ""
