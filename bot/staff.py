"""Role-protected commands and buttons for organizers and admins.

Every call checks the role again (also a press on an old message), records the action in
the audit log, and, for anyone without the role, falls through to the public flows, so a
stranger gets exactly the answer an unknown command or button gets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram import Update

from flows.models import Role, State

if TYPE_CHECKING:
    from bot.context import BotContext

__all__ = ["StaffAction", "StaffRouter"]

Action = Callable[[Update, "BotContext", str], Awaitable[None]]


@dataclass(frozen=True)
class StaffAction:
    """One protected entry point and the least role that may use it."""

    role: Role
    action: Action
    audited: bool = True
    # Run holding the database lock throughout; else the action takes it where it needs it
    # (it has slow work besides: drawing, reading files).
    locked: bool = True


@dataclass
class StaffRouter:
    """Protected commands by name, buttons by data prefix, and message-taking states."""

    commands: dict[str, StaffAction] = field(default_factory=dict)
    buttons: dict[str, StaffAction] = field(default_factory=dict)
    states: dict[State, StaffAction] = field(default_factory=dict)

    def command(
        self, name: str, role: Role, action: Action, *, audited: bool = True, locked: bool = True
    ) -> None:
        """Protect `/name` (its argument is passed on)."""
        self.commands[name] = StaffAction(role, action, audited, locked)

    def button(self, prefix: str, role: Role, action: Action, *, audited: bool = True) -> None:
        """Protect buttons whose data starts with `prefix:` (the full data is passed on)."""
        self.buttons[prefix] = StaffAction(role, action, audited)

    def state(self, state: State, role: Role, action: Action) -> None:
        """Send any message of a user in `state` to `action` (e.g. composing a broadcast)."""
        self.states[state] = StaffAction(role, action, audited=False)
