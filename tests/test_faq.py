"""The FAQ matcher: typos and abbreviations, honest declines, close calls, odd input."""

from __future__ import annotations

import dataclasses

import pytest

from flows.content import Content, FaqEntry
from flows.faq import DEFAULT_TUNING, FaqIndex, FaqMatch, FaqTuning
from storage.content import load_content
from tests.conftest import CONTENT_DIR

# How each language is read (words.yaml `matching`) comes from the shipped campaign.
SHIPPED = load_content(CONTENT_DIR)


def build(
    entries: list[FaqEntry],
    lang: str,
    synonyms: dict[str, str],
    tuning: FaqTuning = DEFAULT_TUNING,
) -> FaqIndex:
    """Index fixture entries, read the way the shipped campaign reads `lang`."""
    others = [pack for code, pack in SHIPPED.packs.items() if code != lang]
    return FaqIndex.build(
        entries,
        lang,
        synonyms,
        tuning,
        language=SHIPPED.pack(lang).words.matching,
        foreign_stop=frozenset().union(*(pack.words.matching.stop for pack in others)),
    )


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
    return build(FIXTURE, "en", SYNONYMS["en"])


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


def test_a_long_message_is_read_as_its_sentence_not_punished_for_length(index: FaqIndex) -> None:
    sentence = "who gets my fingerprints when i am arrested? "
    once, repeated = index.match(sentence), index.match((sentence * 120)[:5000])
    assert once.entry is not None
    assert repeated.entry == once.entry


QUESTIONS = ["wat is scomm", "how do I thank the governor", "asdf", "finger prints", ""]


def test_matching_is_deterministic() -> None:
    first = build(FIXTURE, "en", SYNONYMS["en"])
    second = build(FIXTURE, "en", SYNONYMS["en"])
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
    found = build(entries, lang, SYNONYMS[lang]).match(question)
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
    found = FaqIndex.from_pack(pack, SHIPPED.packs.values()).match(question)
    assert (found.entry.id if found.entry else None) == expected


# -- reading a message like a person would --------------------------------------------------

MORE = [
    *FIXTURE,
    _entry(
        "bot-data",
        ["What data does the bot keep?", "Does the bot keep my messages?"],
        "The bot keeps your Telegram id and your language, nothing else.",
    ),
    _entry(
        "sources",
        ["Where do the numbers come from?", "What is your source?"],
        "The numbers are ICE statistics, quoted by the ACLU.",
    ),
    _entry(
        "arrest",
        ["Does an arrest send my fingerprints to ICE?"],
        "Yes: the police send the fingerprints of everyone they arrest. Source: {source}.",
    ),
]
MORE_SYNONYMS = {**SYNONYMS["en"], "statistics": "numbers"}


@pytest.fixture(scope="module")
def more() -> FaqIndex:
    return build(MORE, "en", MORE_SYNONYMS)


@pytest.mark.parametrize(
    ("typed", "read_as"),
    [
        # negations keep their "not" once the apostrophe is gone
        ("who werent convicted", "who were not convicted"),
        ("i dont want the messages", "i do not want the messages"),
        # synonyms follow chains: "stats" reads "statistics", which this campaign reads "numbers"
        ("where do the stats come from", "where do the numbers come from"),
        # a verb of aspect before an -ing form says how, not what
        ("everyone keeps talking about scomm", "everyone talking about scomm"),
        ("i started getting messages", "i getting messages"),
    ],
)
def test_equivalent_wordings_match_alike(more: FaqIndex, typed: str, read_as: str) -> None:
    assert more.ranked(typed) == more.ranked(read_as)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what data do you keep", "bot-data"),  # "keep" still counts when it is the verb
        ("what is this s-comm thing everyone keeps talking about", "what-is-scomm"),
        ("where do the stats come from", "sources"),
        # "Source: {source}." closing an answer is a citation, not what the entry is about
        ("what is your source", "sources"),
        ("source?", "sources"),
    ],
)
def test_reading_finds_the_entry(more: FaqIndex, question: str, expected: str) -> None:
    ranked = more.ranked(question)
    assert ranked and ranked[0][0].id == expected, (question, ranked)


@pytest.mark.parametrize(
    ("story", "expected", "without_focus"),
    [
        (
            "I called the governor by phone to thank him for opposing S-Comm. Who is ICE?",
            "who-is-ice",
            "thank-by-phone",
        ),
        (
            "My brother was arrested and booked, and the police took his fingerprints. "
            "What is ICE?",
            None,  # unsure, rather than answering about the fingerprints
            "fingerprints",
        ),
    ],
)
def test_the_sentence_that_asks_weighs_more_than_the_story(
    index: FaqIndex, story: str, expected: str | None, without_focus: str
) -> None:
    found = index.match(story)
    assert (found.entry.id if found.entry else None) == expected
    flat = build(FIXTURE, "en", SYNONYMS["en"], FaqTuning(context_weight=1.0))
    unfocused = flat.ranked(story)
    assert unfocused and unfocused[0][0].id == without_focus


@pytest.mark.parametrize(
    "question",
    [
        "I read about it on a flyer. What is it?",  # the question says nothing: the story does
        "hi! what is s-comm?",
        "Thanks. What is S-Comm",
    ],
)
def test_a_question_without_words_of_its_own_keeps_its_story(
    index: FaqIndex, question: str
) -> None:
    flat = build(FIXTURE, "en", SYNONYMS["en"], FaqTuning(context_weight=1.0))
    assert index.ranked(question) == flat.ranked(question)


@pytest.mark.parametrize(
    ("question", "bonus"),
    [
        ("thank the governor by phone", True),  # in the phrasing's order
        ("phone the governor thank", False),  # the same words, never side by side
        ("fingerprints", False),  # one word: no pair
    ],
)
def test_words_asked_in_a_row_earn_a_bonus(index: FaqIndex, question: str, bonus: bool) -> None:
    plain = build(FIXTURE, "en", SYNONYMS["en"], FaqTuning(pair_weight=0.0))
    with_pairs, without = index.ranked(question)[0], plain.ranked(question)[0]
    assert with_pairs[0] == without[0]
    assert (with_pairs[1] > without[1]) is bonus
    assert with_pairs[1] <= 1.0


# -- tuning ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("best", "second", "accepted"),
    [
        (1.0, 0.0, True),
        (DEFAULT_TUNING.threshold, 0.0, True),
        (DEFAULT_TUNING.threshold - 0.01, 0.0, False),  # not good enough
        (0.9, 0.9, False),  # a tie: ask rather than guess
        (0.9, 0.9 - DEFAULT_TUNING.margin, True),
    ],
)
def test_the_decision(best: float, second: float, accepted: bool) -> None:
    assert DEFAULT_TUNING.accepts(best, second) is accepted


def test_ranked_is_what_match_decides_on(index: FaqIndex) -> None:
    ranked = index.ranked("how do I thank the governor", limit=2)
    assert {entry.id for entry, _ in ranked} == {"thank-by-phone", "thank-by-mail"}
    assert ranked[0][1] >= ranked[1][1]
    assert index.match("how do I thank the governor").score == round(ranked[0][1], 4)
    assert index.ranked("") == ()


def test_a_strict_tuning_declines_what_the_default_answers() -> None:
    strict = build(FIXTURE, "en", SYNONYMS["en"], FaqTuning(threshold=1.01))
    found = strict.match("wat is scomm")
    assert found.entry is None
    assert found.suggestions[0] == "what-is-scomm"


# -- the real Spanish and Portuguese knowledge files -----------------------------------------


@pytest.mark.parametrize(
    ("lang", "question", "expected"),
    [
        ("es", "q es comunidades seguras??", "what-is-scomm"),
        ("es", "si me arrestan y no me condenan, mandan mis huellas?", "arrest-not-conviction"),
        ("es", "me pueden deportar por una multa de transito", "minor-offenses"),
        ("es", "soy ciudadano, esto me afecta?", "citizens-in-database"),
        ("es", "necesito un abogado", "legal-help"),
        ("es", "ya no quiero recibir mensajes", "stop-messages"),
        (
            "es",
            "Mi vecino fue arrestado la semana pasada. Nunca hizo nada malo. "
            "¿Por qué deportan a gente sin antecedentes?",
            "who-gets-deported",
        ),
        ("es", "cual es la capital de francia", None),
        ("pt", "o que e scomm", "what-is-scomm"),
        ("pt", "se eu for preso mas nao condenado, o ICE recebe?", "arrest-not-conviction"),
        ("pt", "sou cidadao, isso me afeta?", "citizens-in-database"),
        ("pt", "como agradecer o governador", "thank-governor"),
        ("pt", "quero parar de receber mensagens", "stop-messages"),
        ("pt", "a policia trabalha para o ICE?", "local-police-role"),
        ("pt", "qual a capital da franca", None),
    ],
)
def test_the_real_spanish_and_portuguese_files(
    content: Content, lang: str, question: str, expected: str | None
) -> None:
    found = FaqIndex.from_content(content, lang).match(question)
    assert (found.entry.id if found.entry else None) == expected


def test_the_margin_is_a_share_of_the_best_score() -> None:
    margin = DEFAULT_TUNING.margin
    assert DEFAULT_TUNING.accepts(0.9, 0.9 * (1 - margin))
    assert not DEFAULT_TUNING.accepts(0.9, 0.9 * (1 - margin / 2))  # within a few percent: a tie
    # the same absolute gap that is enough near the threshold is a tie for a high score
    low = DEFAULT_TUNING.threshold + 0.01
    gap = low * margin * 1.1
    assert DEFAULT_TUNING.accepts(low, low - gap)
    assert not DEFAULT_TUNING.accepts(1.0, 1.0 - gap)


# -- people who mix languages, misspell and speak colloquially ------------------------------


def test_another_languages_stop_words_do_not_weigh(index: FaqIndex) -> None:
    # "que", "es" are Spanish stop words: in English they are neither typos nor topic words.
    assert index.ranked("que es ICE") == index.ranked("ICE")
    found = index.match("que es ICE?")
    assert found.entry is not None and found.entry.id == "who-is-ice"


def test_letter_trigrams_are_part_of_the_score() -> None:
    words_only = build(FIXTURE, "en", SYNONYMS["en"], FaqTuning(char_weight=0.0))
    with_letters = build(FIXTURE, "en", SYNONYMS["en"], FaqTuning(char_weight=0.3))
    question = "who gets my fingerprintz"
    assert with_letters.ranked(question)[0][0].id == "fingerprints"
    assert with_letters.ranked(question)[0][1] != words_only.ranked(question)[0][1]


@pytest.mark.parametrize(
    ("lang", "question", "expected"),
    [
        # everyday ways of asking the bot to stop
        ("en", "pls stop texting me", "stop-messages"),
        ("en", "get me off this list", "stop-messages"),
        ("es", "ya no me manden mensajes", "stop-messages"),
        ("es", "sacame de la lista porfa", "stop-messages"),
        ("pt", "nao quero mais receber mensagens", "stop-messages"),
        ("pt", "me tira dessa lista", "stop-messages"),
        # deportation for lacking papers or overstaying a visa
        ("en", "can they deport me if my visa expired", "who-gets-deported"),
        ("es", "me pueden deportar solo por no tener papeles", "who-gets-deported"),
        ("pt", "posso ser deportado se nao tenho documento", "who-gets-deported"),
        # mixed languages
        ("en", "quiero ayudar, how can i help?", "help-further"),
        ("es", "what is scomm? en español", "what-is-scomm"),
        ("pt", "o governor é contra o scomm?", "governor-decision"),
        # misspelled names of the program
        ("pt", "o que é escomm", "what-is-scomm"),
        ("en", "what is secure comunities", "what-is-scomm"),
        # a place or a common word shared with the campaign is not enough
        ("en", "who won the red sox game in boston", None),
        ("es", "donde queda la policia de boston", None),
        ("pt", "qual o melhor restaurante brasileiro em framingham", None),
    ],
)
def test_colloquial_mixed_and_out_of_scope(
    content: Content, lang: str, question: str, expected: str | None
) -> None:
    found = FaqIndex.from_content(content, lang).match(question)
    assert (found.entry.id if found.entry else None) == expected, found
