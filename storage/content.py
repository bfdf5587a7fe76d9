"""Reading a campaign's content folder: YAML with line numbers, validated into flows' models.

Layout of a content folder::

    campaign.yaml          languages, consent version, links and contacts
    <lang>/texts.yaml      system texts, button labels, stop/help words
    <lang>/learn.yaml      the guided explanation, step by step
    <lang>/act.yaml        the action: call script, email, form, share
    <lang>/faq.yaml        the knowledge file
    <lang>/staff.yaml      what organizers and admins see
    <lang>/words.yaml      what the bot listens for: emergencies, referrals, small talk

Any text may use `{placeholders}` naming a key of `links` or `contacts` in campaign.yaml
(and `{bot_link}`, filled in at run time); an unknown placeholder is a content error, and
every problem is reported as `file:line: reason`.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from flows.content import (
    RUNTIME_PLACEHOLDERS,
    ActContent,
    Campaign,
    Content,
    ContentError,
    Faq,
    LanguagePack,
    Learn,
    StaffTexts,
    Texts,
    Words,
)

__all__ = ["ContentError", "load_content"]

M = TypeVar("M", bound=BaseModel)


class _LineLoader(yaml.SafeLoader):
    """Resolves and constructs scalars; `_construct` walks the nodes, recording lines."""


_SCALARS = _LineLoader("")
# libyaml composes (with the same line marks) several times faster than pure Python.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(path: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    text = path.read_text(encoding="utf-8")
    node = yaml.compose(text, Loader=_COMPOSER)
    lines: dict[tuple[Any, ...], int] = {}
    if node is None:
        return None, lines
    return _construct(node, (), lines), lines


def _construct(node: yaml.Node, loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key_value = key_node.value
            if key_value in result:
                raise _DuplicateKey(key_value, key_node.start_mark.line + 1)
            result[key_value] = _construct(value_node, (*loc, key_value), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*loc, i), lines) for i, item in enumerate(node.value)]
    return _SCALARS.construct_object(node)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        self.key, self.line = key, line


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


@dataclass
class _Reader:
    """Reads files and collects problems instead of stopping at the first."""

    root: Path
    problems: list[str]

    def read(self, name: str) -> tuple[Any, dict[tuple[Any, ...], int]] | None:
        path = self.root / name
        if not path.is_file():
            self.problems.append(f"{path}:1: file is missing")
            return None
        try:
            return _compose(path)
        except _DuplicateKey as exc:
            self.problems.append(f"{path}:{exc.line}: key {exc.key!r} appears twice")
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            self.problems.append(f"{path}:{line}: not valid YAML: {exc.problem or exc}")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{path}:1: cannot read: {exc}")
        return None

    def model(self, name: str, model: type[M]) -> tuple[M, dict] | None:
        loaded = self.read(name)
        if loaded is None:
            return None
        data, lines = loaded
        try:
            return model.model_validate(data if data is not None else {}), lines
        except ValidationError as exc:
            for error in exc.errors():
                where = _line_of(lines, tuple(error["loc"]))
                field = ".".join(str(part) for part in error["loc"]) or "file"
                message = error["msg"].removeprefix("Value error, ")
                self.problems.append(f"{self.root / name}:{where}: {field}: {message}")
            return None

    def report(self, name: str, lines: dict, loc: tuple[Any, ...], reason: str) -> None:
        self.problems.append(f"{self.root / name}:{_line_of(lines, loc)}: {reason}")


def _placeholders(text: str) -> Iterator[str]:
    for _, field, _, _ in string.Formatter().parse(text):
        if field is not None:
            yield field


def _strings(value: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _strings(item, (*loc, i))


def _check_placeholders(
    reader: _Reader, name: str, model: BaseModel, lines: dict, known: frozenset[str]
) -> None:
    for loc, text in _strings(model.model_dump()):
        try:
            fields = list(_placeholders(text))
        except ValueError as exc:
            reader.report(name, lines, loc, f"{'.'.join(map(str, loc))}: bad braces: {exc}")
            continue
        allowed = known | getattr(model, "runtime", {}).get(loc[0] if loc else "", frozenset())
        for field in fields:
            if field not in allowed:
                reader.report(
                    name, lines, loc, f"{'.'.join(map(str, loc))}: unknown placeholder {{{field}}}"
                )


def _check_faq(reader: _Reader, name: str, faq: Faq, lines: dict) -> None:
    ids: dict[str, int] = {}
    for i, entry in enumerate(faq.entries):
        if entry.id in ids:
            reader.report(name, lines, ("entries", i, "id"), f"duplicate id {entry.id!r}")
        ids[entry.id] = i
    for i, entry in enumerate(faq.entries):
        for j, other in enumerate(entry.related):
            if other not in ids:
                reader.report(
                    name, lines, ("entries", i, "related", j), f"unknown related id {other!r}"
                )


_PARTS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("texts", Texts),
    ("learn", Learn),
    ("act", ActContent),
    ("faq", Faq),
    ("staff", StaffTexts),
    ("words", Words),
)


def load_content(root: Path | str) -> Content:
    """Load and validate a content folder; raise ContentError listing every problem."""
    root = Path(root)
    if not root.is_dir():
        raise ContentError([f"{root}:1: content folder does not exist"])
    reader = _Reader(root, [])
    loaded = reader.model("campaign.yaml", Campaign)
    if loaded is None:
        raise ContentError(reader.problems)
    campaign, campaign_lines = loaded
    if campaign.default_language not in campaign.languages:
        reader.report(
            "campaign.yaml",
            campaign_lines,
            ("default_language",),
            f"default_language {campaign.default_language!r} is not in languages",
        )
    clash = sorted(set(campaign.links) & set(campaign.contacts))
    if clash:
        reader.report(
            "campaign.yaml", campaign_lines, ("contacts",), f"named in links and contacts: {clash}"
        )
    warnings = [
        f"{root / 'campaign.yaml'}:{_line_of(campaign_lines, ('contacts', name))}: warning: "
        f"contact {name!r} is not verified (set `verified:` to the day an organizer checked it)"
        for name in campaign.unverified()
    ]
    known = frozenset(campaign.values) | RUNTIME_PLACEHOLDERS
    packs: dict[str, LanguagePack] = {}
    for lang in campaign.languages:
        parts: dict[str, Any] = {}
        for part, model in _PARTS:
            name = f"{lang}/{part}.yaml"
            result = reader.model(name, model)
            if result is None:
                continue
            parts[part], lines = result
            allowed = known | getattr(model, "placeholders", frozenset())
            _check_placeholders(reader, name, parts[part], lines, allowed)
            if part == "faq":
                _check_faq(reader, name, parts[part], lines)
        if len(parts) == len(_PARTS):
            packs[lang] = LanguagePack(
                code=lang,
                texts=parts["texts"],
                learn=tuple(parts["learn"].steps),
                act=parts["act"],
                faq=tuple(parts["faq"].entries),
                synonyms=parts["faq"].synonyms,
                staff=parts["staff"],
                words=parts["words"],
                not_covered=parts["faq"].not_covered,
            )
    _check_languages_agree(reader, campaign, packs)
    if reader.problems:
        raise ContentError(reader.problems)
    return Content(campaign=campaign, packs=packs, warnings=tuple(warnings))


def _check_languages_agree(
    reader: _Reader, campaign: Campaign, packs: dict[str, LanguagePack]
) -> None:
    """Every language must offer the same learn steps, FAQ ids and commands."""
    base = packs.get(campaign.default_language)
    if base is None:
        return
    for lang, pack in packs.items():
        if lang == base.code:
            continue
        for what, mine, theirs in (
            ("learn steps", [s.id for s in pack.learn], [s.id for s in base.learn]),
            ("FAQ ids", sorted(e.id for e in pack.faq), sorted(e.id for e in base.faq)),
            ("commands", sorted(pack.texts.commands), sorted(base.texts.commands)),
        ):
            if mine != theirs:
                missing, extra = sorted(set(theirs) - set(mine)), sorted(set(mine) - set(theirs))
                reader.problems.append(
                    f"{reader.root / lang}:1: {what} differ from {base.code}: "
                    f"missing {missing}, extra {extra}"
                )
