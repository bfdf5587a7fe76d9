"""The FAQ matcher: typos and abbreviations, honest declines, close calls, odd input."""

from __future__ import annotations

import dataclasses

import pytest

from flows.content import Content, FaqEntry
from flows.faq import FaqIndex, FaqMatch


def _entry(entry_id: str, questions: list[str], answer: str) -> FaqEntry:
    return FaqEntry(id=entry_id, questions=questions, answer=answer, source="test")


FIXTURE = [
    _entry(
        "what-is-scomm",
        ["What is S-Comm?", "What is Secure Communities?", "What does S-Comm do?"],
        "Secure Communities (S-Comm) is a federal program: local police send the fingerprints "
        "of everyone they arrest to ICE.",
    ),
    _entry(
        "fingerprints",
        ["What happens to my fingerprints when I am arrested?", "Who gets my fingerprints?"],
        "When the police book you, your fingerprints go to the FBI and, under S-Comm, to ICE.",
    ),
    _entry(
        "who-is-ice",
        ["Who is ICE?", "What does ICE stand for?"],
        "Immigration and Customs Enforcement, the federal agency that detains and deports.",
    ),
    _entry(
        "governor",
        ["What did the governor decide?", "Did Governor Patrick oppose S-Comm?"],
        "Governor Patrick said Massachusetts opposes S-Comm.",
    ),
    _entry(
        "deported-no-record",
        [
            "How many people were deported without a criminal record?",
            "Were people deported with no conviction?",
        ],
        "More than half of the people deported under S-Comm had no criminal conviction.",
    ),
    _entry(
        "stop",
        ["How do I stop the messages?", "How do I unsubscribe?"],
        "Send STOP and the bot stops writing to you.",
    ),
    _entry(
        "thank-by-phone",
        ["How do I thank the governor by phone?"],
        "Call the office of the governor at the number below.",
    ),
    _entry(
        "thank-by-mail",
        ["How do I thank the governor by mail?"],
        "Write to the office of the governor at the address below.",
    ),
]


# A campaign names its own words in its faq.yaml; these are the fixture campaign's.
SYNONYMS = {
    "es": {"s comm": "scomm", "comunidades seguras": "scomm"},
    "pt": {"s comm": "scomm"},
    "en": {"s comm": "scomm", "secure communities": "scomm", "gov": "governor"},
}


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex.build(FIXTURE, "en", SYNONYMS["en"])


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is S-Comm?", "what-is-scomm"),
        ("wat is scomm", "what-is-scomm"),
        ("s comm??", "what-is-scomm"),
        ("S-COMM", "what-is-scomm"),
        ("whats secure communities", "what-is-scomm"),
        ("who is ICE", "who-is-ice"),
        ("wat does ice stand for", "who-is-ice"),
        ("what did the govenor decide", "governor"),
        ("did gov patrick opose scomm", "governor"),
        ("finger prints", "fingerprints"),
        ("who gets my fingerprints when i get arrested", "fingerprints"),
        ("how many ppl got deported with no record??", "deported-no-record"),
        ("were ppl deportd without a convicton", "deported-no-record"),
        ("how do u stop the msgs", "stop"),
        ("UNSUBSCRIBE me pls", "stop"),
        ("how do i thank the governor by phone", "thank-by-phone"),
    ],
)
def test_typos_and_abbreviations_find_the_entry(
    index: FaqIndex, question: str, expected: str
) -> None:
    found = index.match(question)
    assert found.entry is not None, (question, found)
    assert found.entry.id == expected
    assert 0.0 < found.score <= 1.0


@pytest.mark.parametrize(
    "question",
    [
        "asdkjh qwe zzxq",
        "how do i bake bread",
        "will it rain tomorrow",
        "recommend a good movie",
        "thank you!!",
        "hello",
        "ok",
        "🙂🙂🙂",
        "??",
        "is ice cream vegan",
    ],
)
def test_gibberish_and_off_topic_are_declined(index: FaqIndex, question: str) -> None:
    found = index.match(question)
    assert found.entry is None
    assert found.score < 1.0


def test_gibberish_has_no_suggestions(index: FaqIndex) -> None:
    assert index.match("asdkjh qwe zzxq").suggestions == ()


def test_a_close_call_is_declined_with_both_entries_suggested(index: FaqIndex) -> None:
    found = index.match("how do I thank the governor")
    assert found.entry is None
    assert set(found.suggestions[:2]) == {"thank-by-phone", "thank-by-mail"}
    assert len(found.suggestions) <= 3


@pytest.mark.parametrize(
    "question", ["", "   ", "\n\t", "?!.,", "a" * 5000, "scomm " * 1000, "ñ" * 5000]
)
def test_odd_input_does_not_crash(index: FaqIndex, question: str) -> None:
    found = index.match(question)
    assert isinstance(found, FaqMatch)
    assert 0.0 <= found.score <= 1.0


def test_empty_input_is_declined_without_suggestions(index: FaqIndex) -> None:
    assert index.match("   ") == FaqMatch(entry=None, score=0.0, suggestions=())


def test_a_very_long_question_is_answered_or_declined(index: FaqIndex) -> None:
    words = "I read a long flyer about fingerprints and police and many other things " * 70
    found = index.match(words[:5000])
    assert found.entry is None or found.entry.id in {e.id for e in FIXTURE}


QUESTIONS = ["wat is scomm", "how do I thank the governor", "asdf", "finger prints", ""]


def test_matching_is_deterministic() -> None:
    first = FaqIndex.build(FIXTURE, "en", SYNONYMS["en"])
    second = FaqIndex.build(FIXTURE, "en", SYNONYMS["en"])
    for question in QUESTIONS:
        assert first.match(question) == second.match(question) == first.match(question)


def test_matching_does_not_change_the_index(index: FaqIndex) -> None:
    before = {name: repr(value) for name, value in vars(index).items()}
    for question in QUESTIONS * 20:
        index.match(question)
    assert {name: repr(value) for name, value in vars(index).items()} == before


def test_a_match_is_frozen(index: FaqIndex) -> None:
    found = index.match("wat is scomm")
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.score = 0.0  # type: ignore[misc]
    assert found.answered


def test_lookups(index: FaqIndex) -> None:
    assert [entry.id for entry in index.entries] == [entry.id for entry in FIXTURE]
    assert index.get("stop") is FIXTURE[5]
    assert index.get("nope") is None


@pytest.mark.parametrize(
    ("lang", "entries", "question", "expected"),
    [
        (
            "es",
            [
                _entry("scomm", ["¿Qué es S-Comm?"], "Un programa federal de huellas."),
                _entry("parar", ["¿Cómo dejo de recibir mensajes?"], "Envía STOP."),
            ],
            "q es scomm",
            "scomm",
        ),
        (
            "pt",
            [
                _entry("scomm", ["O que é S-Comm?"], "Um programa federal de impressões."),
                _entry("parar", ["Como paro de receber mensagens?"], "Envie STOP."),
            ],
            "como parar as mensagens",
            "parar",
        ),
    ],
)
def test_other_languages(lang: str, entries: list[FaqEntry], question: str, expected: str) -> None:
    found = FaqIndex.build(entries, lang, SYNONYMS[lang]).match(question)
    assert found.entry is not None and found.entry.id == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what is s-comm", "what-is-scomm"),
        ("who is ICE", "who-is-ice"),
        ("what does level 1 mean", "level-1"),
        ("how do i delete my data", "delete-my-data"),
        ("stop sending me messages", "stop-messages"),
        ("i need a lawyer", "legal-help"),
        ("how do I thank the governor", "thank-governor"),
        ("what is 45,707", "boston-pilot"),
        ("what is the capital of brazil", None),
    ],
)
def test_the_real_knowledge_file(content: Content, question: str, expected: str | None) -> None:
    pack = content.pack("en")
    found = FaqIndex.from_pack(pack).match(question)
    assert (found.entry.id if found.entry else None) == expected
