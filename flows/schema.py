"""What every content model shares: limits, command lists, the base model, errors."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ID",
    "INTENTS",
    "MAX_MESSAGE",
    "PUBLIC_COMMANDS",
    "RUNTIME_PLACEHOLDERS",
    "STAFF_COMMANDS",
    "ContentError",
    "Model",
    "Text",
    "command_menu",
]

MAX_MESSAGE = 4096
# Filled in by the bot at run time in any text; the few texts with values of their own
# (a user's data, a language's name) declare them in their model's `runtime`.
RUNTIME_PLACEHOLDERS = frozenset({"bot_link"})
# The public commands: their descriptions in texts.yaml fill Telegram's command menu.
PUBLIC_COMMANDS = (
    "start",
    "menu",
    "learn",
    "faq",
    "act",
    "subscribe",
    "unsubscribe",
    "language",
    "privacy",
    "mydata",
    "deleteme",
    "help",
)
# Organizers' and admins' commands, for their menus: the role each needs.
STAFF_COMMANDS = {
    "broadcast": "organizer",
    "broadcasts": "organizer",
    "optins": "admin",
    "export": "admin",
    "stats": "admin",
    "unanswered": "admin",
    "audit": "admin",
    "reload": "admin",
}
# Things people say to the bot itself, each answered with a text of texts.yaml.
INTENTS = ("thanks", "greeting", "help")
_COMMAND_DESCRIPTION = 256
ID = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class ContentError(Exception):
    """The content folder is invalid; `problems` holds `file:line: reason` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Model(BaseModel):
    """A content model: unknown keys are errors, values are frozen and stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Text = Field(min_length=1, max_length=MAX_MESSAGE)


def command_menu(value: dict[str, str], allowed: Iterable[str]) -> dict[str, str]:
    """Check a command menu as Telegram will: known names, descriptions of 1-256 characters."""
    names = list(allowed)
    problems = [
        f"{name!r} is not one of {', '.join(names)}" for name in value if name not in names
    ]
    problems += [
        f"the description of {name!r} must be 1 to {_COMMAND_DESCRIPTION} characters"
        for name, description in value.items()
        if not 1 <= len(description) <= _COMMAND_DESCRIPTION
    ]
    if problems:
        raise ValueError("; ".join(problems))
    return value
