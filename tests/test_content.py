"""Content validation: the shipped campaign is valid, broken files say file:line: reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.content import ContentError
from storage.content import load_content
from tests.botkit import run_cli
from tests.conftest import CONTENT_DIR


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    target = tmp_path / "campaign"
    shutil.copytree(CONTENT_DIR, target)
    return target


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ContentError) as info:
        load_content(folder)
    return info.value.problems


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_the_shipped_campaign_is_valid() -> None:
    content = load_content(CONTENT_DIR)
    assert content.languages and all(pack.faq for pack in content.packs.values())


def test_a_missing_text_names_its_file(campaign: Path) -> None:
    texts = campaign / "en" / "texts.yaml"
    line = _line_of(texts, "unknown_command:")
    _replace(texts, texts.read_text().splitlines()[line - 1] + "\n", "")
    assert any(
        p.startswith(f"{texts}:") and "unknown_command" in p and "Field required" in p
        for p in _problems(campaign)
    )


def test_an_unknown_placeholder_points_at_its_line(campaign: Path) -> None:
    texts = campaign / "en" / "texts.yaml"
    _replace(texts, 'menu: "What would you like to do?"', 'menu: "Call {governer_phone}"')
    line = _line_of(texts, "{governer_phone}")
    assert f"{texts}:{line}: menu: unknown placeholder {{governer_phone}}" in _problems(campaign)


FAQ = """\
entries:
  - id: alpha
    questions: [what is alpha]
    answer: Alpha is the first.
    source: test
    related: [beta]
  - id: alpha
    questions: [what is beta]
    answer: {answer}
    source: test
    related: [gamma]
"""


def test_duplicate_ids_unknown_related_ids_and_overlong_answers(campaign: Path) -> None:
    faq = campaign / "en" / "faq.yaml"
    faq.write_text(FAQ.format(answer="x" * 5000), encoding="utf-8")
    problems = _problems(campaign)
    assert f"{faq}:9: entries.1.answer: String should have at most 4096 characters" in problems
    faq.write_text(FAQ.format(answer="Beta."), encoding="utf-8")
    problems = _problems(campaign)
    assert f"{faq}:7: duplicate id 'alpha'" in problems
    assert f"{faq}:6: unknown related id 'beta'" in problems
    assert f"{faq}:11: unknown related id 'gamma'" in problems


def test_broken_yaml_gives_the_line(campaign: Path) -> None:
    act = campaign / "en" / "act.yaml"
    act.write_text("intro: fine\ncall: [unclosed\n", encoding="utf-8")
    assert any(p.startswith(f"{act}:") and "not valid YAML" in p for p in _problems(campaign))


def test_a_language_without_its_files(campaign: Path) -> None:
    _replace(campaign / "campaign.yaml", "languages: [en, es, pt]", "languages: [en, es, pt, fr]")
    assert any("fr/texts.yaml:1: file is missing" in p for p in _problems(campaign))


def test_content_check_command(campaign: Path) -> None:
    ok = run_cli("content", "check", str(CONTENT_DIR))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    _replace(campaign / "en" / "texts.yaml", 'menu: "What would you like to do?"', "menu: ''")
    bad = run_cli("content", "check", str(campaign))
    assert bad.returncode == 1
    line = _line_of(campaign / "en" / "texts.yaml", "menu: ''")
    assert f"{campaign}/en/texts.yaml:{line}: menu:" in bad.stdout


def test_a_value_of_another_text_is_an_unknown_placeholder(campaign: Path) -> None:
    texts = campaign / "en" / "texts.yaml"
    _replace(texts, 'unknown_command: "Sorry', 'unknown_command: "{names}, sorry')
    line = _line_of(texts, "{names}, sorry")
    assert f"{texts}:{line}: unknown_command: unknown placeholder {{names}}" in _problems(campaign)


def test_command_menu_names_and_descriptions_are_checked(campaign: Path) -> None:
    texts = campaign / "en" / "texts.yaml"
    _replace(texts, '  learn: "What S-Comm is and why it matters"', '  Learn-More: "x"')
    _replace(texts, '  act: "Thank the governor"', '  act: "' + "x" * 300 + '"')
    problems = "\n".join(_problems(campaign))
    assert "'Learn-More' is not one of" in problems
    assert "must be 1 to 256 characters" in problems


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ('    "ll(": "y"\n', "sound 'll('"),  # not a regular expression
        ('    "e?": "i"\n', "matches an empty string"),  # would put an i between letters
        ('    "ñ": "n"\n', "without accents"),  # words are matched folded
        ('    "ll": "y y"\n', "may hold only"),  # a replacement cannot split a word
    ],
)
def test_a_sound_rule_that_cannot_work_names_its_file(
    campaign: Path, rule: str, reason: str
) -> None:
    words = campaign / "es" / "words.yaml"
    _replace(words, '    "ll": "y"\n', rule)
    assert any(p.startswith(f"{words}:") and reason in p for p in _problems(campaign))
