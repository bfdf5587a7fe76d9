"""The FAQ classifier: what it answers, refers and declines, and how its fits are kept."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.service import prepare
from flows import classifier, faq
from flows.classifier import Classifier
from flows.content import Content, FaqEntry, LanguagePack, NotCovered
from flows.engine import Context, Verdict, answer
from flows.faq import FaqIndex
from flows.listen import Listener
from flows.models import Conversation, Profile
from storage.fitted import FileStore


@pytest.fixture(scope="module")
def indexes(content: Content) -> dict[str, FaqIndex]:
    return {code: FaqIndex.from_content(content, code) for code in content.packs}


def ask(content: Content, indexes: dict[str, FaqIndex], lang: str, question: str) -> Verdict:
    profile = Profile(user_id=7, lang=lang, first_seen=datetime(2026, 11, 1, tzinfo=UTC))
    ctx = Context(content, profile, Conversation(), indexes, Listener(content))
    return answer(ctx, question)[1]


def test_the_shipped_campaign_is_matched_by_the_classifier(
    indexes: dict[str, FaqIndex],
) -> None:
    assert all(index.classifies for index in indexes.values())


@pytest.mark.parametrize(
    ("lang", "question", "expected"),
    [
        ("en", "did the gov change his mind about the fingerprint thing", "governor-decision"),
        ("en", "my friend got hit by her husband but shes scared to call", "domestic-violence"),
        ("es", "q paso con lo del gobernador y la migra al final", "governor-decision"),
        ("es", "kiero ayudar a la causa q mas puedo aser", "help-further"),
        ("pt", "o que que é esse tal de ese com q o pessoal ta falando", "what-is-scomm"),
        ("pt", "como faço pra mandar esse bot pros meus amigos", "share-bot"),
    ],
)
def test_questions_as_people_type_them(
    content: Content,
    indexes: dict[str, FaqIndex],
    lang: str,
    question: str,
    expected: str,
) -> None:
    verdict = ask(content, indexes, lang, question)
    assert (verdict.kind, verdict.id) == ("answer", expected)


def test_a_word_misspelt_by_a_letter_is_read_as_the_word(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    # "agradeser" is in no phrasing; "agradecer" is.
    verdict = ask(content, indexes, "pt", "agradeser o governador")
    assert (verdict.kind, verdict.id) == ("answer", "thank-governor")


@pytest.mark.parametrize(
    ("lang", "question"),
    [
        ("en", "what can you help me with"),
        ("es", "en q me puedes ayudar"),
        ("pt", "oq eu posso te perguntar?"),
    ],
)
def test_asking_what_the_bot_can_do_gets_the_help_text(
    content: Content, indexes: dict[str, FaqIndex], lang: str, question: str
) -> None:
    profile = Profile(user_id=7, lang=lang, first_seen=datetime(2026, 11, 1, tzinfo=UTC))
    ctx = Context(content, profile, Conversation(), indexes, Listener(content))
    outcome, verdict = answer(ctx, question)
    assert verdict.kind == "intent"
    assert outcome.replies[0].text == ctx.say(content.pack(lang).texts.help)


@pytest.mark.parametrize(
    ("lang", "question"),
    [
        ("en", "can i get papers if i marry my boyfriend, he is a citizen"),
        ("es", "puedo viajar a mi pais si estoy en tramite"),
        ("pt", "posso viajar pro brasil se meu processo ta em andamento"),
    ],
)
def test_questions_like_the_referral_examples_get_legal_help(
    content: Content, indexes: dict[str, FaqIndex], lang: str, question: str
) -> None:
    # None of these has a word from words.yaml `referral`: the examples carry them.
    assert not Listener(content).hear(question).referral
    verdict = ask(content, indexes, lang, question)
    assert verdict.kind == "referral"


@pytest.mark.parametrize(
    ("lang", "question"),
    [
        ("en", "who is the governor of new hampshire"),
        ("en", "how many people live in chelsea"),
        ("es", "cuantos habitantes tiene lynn"),
        ("pt", "quantos habitantes tem everett"),
    ],
)
def test_questions_that_only_share_words_are_declined(
    content: Content, indexes: dict[str, FaqIndex], lang: str, question: str
) -> None:
    verdict = ask(content, indexes, lang, question)
    assert (verdict.kind, verdict.id) == ("declined", None)


def test_letters_the_phrasings_happen_to_share_offer_no_topics(
    indexes: dict[str, FaqIndex],
) -> None:
    match = indexes["en"].match("asdkjh qwezx")
    assert match.entry is None and match.suggestions == ()


def test_without_examples_of_what_is_not_covered_the_word_index_decides(
    content: Content,
) -> None:
    pack = content.pack("en")
    bare = dataclasses.replace(pack, not_covered=NotCovered())
    index = FaqIndex.from_pack(bare, content.packs.values())
    assert not index.classifies
    assert index.guess("what is s-comm") is None
    assert index.match("what is s-comm") == index.match_words("what is s-comm")


def test_a_fit_is_kept_and_read_back_instead_of_fitted_again(
    content: Content, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "fits")
    pack = _small_pack(
        content.pack("en"),
        {
            "what-is-scomm": ["what is s-comm", "what is secure communities"],
            "who-is-ice": ["who is ice", "what does ice stand for"],
        },
        NotCovered(referral=["how do i renew my daca"], unrelated=["will it rain"]),
    )
    fitted = FaqIndex.from_pack(pack, store=store)
    assert len(list((tmp_path / "fits").glob("faq-*.npz"))) == 1
    expected = fitted.guess("what does ice mean")

    monkeypatch.setattr(faq, "_FITTED", faq._Fitted(size=4))  # a new process, as it were

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("fitted again")

    monkeypatch.setattr(Classifier, "fit", refuse)
    assert FaqIndex.from_pack(pack, store=store).guess("what does ice mean") == expected

    # A damaged file (not numpy at all, or a zip cut short) is fitted again, not fatal.
    monkeypatch.undo()  # fitting is allowed again
    (kept,) = (tmp_path / "fits").glob("faq-*.npz")
    whole = kept.read_bytes()
    for damaged in (b"not a numpy file", whole[: len(whole) // 2]):
        kept.write_bytes(damaged)
        monkeypatch.setattr(faq, "_FITTED", faq._Fitted(size=4))
        assert FaqIndex.from_pack(pack, store=store).guess("what does ice mean") == expected


def test_an_unwritable_cache_folder_only_means_fitting_again(
    content: Content, tmp_path: Path
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    store = FileStore(blocked / "fits")
    index = FaqIndex.from_pack(content.pack("es"), content.packs.values(), store=store)
    assert index.match("que es s-comm").entry is not None


def test_a_file_too_big_to_fit_is_answered_by_the_word_index_with_a_warning(
    content: Content,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(faq, "_FITTED", faq._Fitted(size=4))
    monkeypatch.setattr(faq, "_FIT_CELLS", 1_000)  # far under any real file
    prepared = prepare(content)
    assert not any(index.classifies for index in prepared.faq.values())
    assert prepared.faq["en"].match("what is s-comm").entry is not None
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("en/faq.yaml is too big for the classifier" in line for line in warned)


def _small_pack(
    pack: LanguagePack, phrasings: dict[str, list[str]], not_covered: NotCovered
) -> LanguagePack:
    """`pack` with only the entries in `phrasings` (id: questions) and `not_covered`."""
    entries = tuple(
        FaqEntry(id=entry_id, questions=questions, answer="An answer.", source="test")
        for entry_id, questions in phrasings.items()
    )
    return dataclasses.replace(pack, faq=entries, not_covered=not_covered)


def _by_ear_pack(content: Content, sounds: dict[str, str]) -> FaqIndex:
    """A two-entry Spanish file whose phrasings spell "llamar" and "vez" as written."""
    pack = content.pack("es")
    matching = pack.words.matching.model_copy(update={"sounds": sounds})
    small = _small_pack(
        dataclasses.replace(pack, words=pack.words.model_copy(update={"matching": matching})),
        {
            "call-script": ["que digo cuando llame al gobernador", "como llamo a la oficina"],
            "hearings": ["cuando fue la audiencia", "hubo reuniones publicas alguna vez"],
        },
        NotCovered(referral=["como renuevo mi daca"], unrelated=["va a llover manana"]),
    )
    return FaqIndex.from_pack(small)


def test_a_spanish_question_written_by_ear_reads_as_the_word_it_sounds_like(
    content: Content,
) -> None:
    by_ear = "ke digo si yamo al gobernador"  # "llamo", as it sounds
    sounded = _by_ear_pack(content, content.pack("es").words.matching.sounds)
    as_written = _by_ear_pack(content, {})
    heard, read = sounded.guess(by_ear), as_written.guess(by_ear)
    assert heard is not None and read is not None
    assert heard.entry is not None and heard.entry.id == "call-script"
    assert heard.probability > read.probability


def test_answers_do_not_depend_on_how_many_rows_are_fitted_at_a_time(
    content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "ke digo si yamo al gobernador"
    whole = _by_ear_pack(content, {}).guess(question)
    monkeypatch.setattr(faq, "_FITTED", faq._Fitted(size=4))
    monkeypatch.setattr(classifier, "_BLOCK", 4)  # six rows: a block of four, one of two
    blocked = _by_ear_pack(content, {}).guess(question)
    assert whole is not None and blocked is not None
    assert blocked.entry == whole.entry
    assert blocked.probability == pytest.approx(whole.probability, abs=1e-3)
