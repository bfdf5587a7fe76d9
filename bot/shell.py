"""The terminal chat: the same flows and database as Telegram, in a terminal or a pipe."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.app import parse_command
from bot.render import plain
from bot.service import Outreach, Who
from flows.models import Button, Event, Press, Reply, Text

__all__ = ["SHELL_USER_ID", "run_shell"]

# No Telegram account has id 0, so the terminal user never collides with a real one.
SHELL_USER_ID = 0


def _show(replies: list[Reply], out: TextIO) -> list[Button]:
    buttons: list[Button] = []
    for reply in replies:
        out.write(plain(reply.text).rstrip() + "\n")
        for row in reply.buttons:
            for button in row:
                buttons.append(button)
                target = f"  → {button.url}" if button.url else ""
                out.write(f"  [{len(buttons)}] {button.label}{target}\n")
        out.write("\n")
    out.flush()
    return buttons


async def _read_line(source: TextIO) -> str | None:
    line = await asyncio.to_thread(source.readline)
    return line if line else None


async def run_shell(
    outreach: Outreach,
    *,
    source: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    user_id: int = SHELL_USER_ID,
    language_code: str | None = None,
) -> None:
    """Chat until `/quit` or end of input; numbers press the buttons last shown."""
    who = Who(user_id=user_id, language_code=language_code)
    prompt = "> " if source.isatty() else ""
    buttons = _show(await outreach.handle(who, parse_command("/start")), out)
    while True:
        if prompt:
            out.write(prompt)
            out.flush()
        line = await _read_line(source)
        if line is None:
            break
        text = line.strip()
        if not text:
            continue
        if text.lower() in {"/quit", "/exit"}:
            break
        event: Event
        if text.isascii() and text.isdigit() and 1 <= int(text) <= len(buttons):
            button = buttons[int(text) - 1]
            if button.url:
                out.write(f"(open {button.url})\n\n")
                continue
            event = Press(data=button.data or "")
        elif text.startswith("/"):
            event = parse_command(text)
        else:
            event = Text(text=text)
        buttons = _show(await outreach.handle(who, event), out)
