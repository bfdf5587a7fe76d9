"""One list of commands: what the content's menus name is what the bot handles, with its role."""

from __future__ import annotations

from bot.app import register_features
from bot.staff import StaffRouter
from flows.content import PUBLIC_COMMANDS, STAFF_COMMANDS, Content
from flows.engine import COMMANDS
from flows.models import Role


def test_every_public_command_in_the_menus_is_handled_and_nothing_else() -> None:
    assert set(COMMANDS) == set(PUBLIC_COMMANDS)


def test_every_staff_command_is_registered_with_the_role_the_menus_give_it() -> None:
    router = StaffRouter()
    register_features(router)
    registered = {name: action.role for name, action in router.commands.items()}
    assert registered == {name: Role(role) for name, role in STAFF_COMMANDS.items()}


def test_every_language_describes_every_command(content: Content) -> None:
    for lang, pack in content.packs.items():
        assert set(pack.texts.commands) == set(PUBLIC_COMMANDS), lang
        assert set(pack.staff.commands) == set(STAFF_COMMANDS), lang
