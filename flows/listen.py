"""Hear what a message is about before answering it: an emergency, a question for a lawyer,
or something said to the bot itself (thanks, hello, help).

The words come from each language's `words.yaml`; the lists of every offered language are
used together, because people write in the language they panic in and mix languages.
Text is folded (lower case, no accents, no punctuation, letters repeated for emphasis
squeezed), and a typed word of five letters or more is read as the listed word one edit
away from it ("inmigarcion" is "inmigracion"). A listed word ending in `*` matches every
word it starts.

An emergency is an alarm word, or an enforcement actor with presence or an action, or a
person just taken; a calm question (what a word means, the past, a what-if) is not one,
unless the message also says it is happening now.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from flows.content import Content, LanguagePack, UrgentWords
from flows.sensitive import fold_word

__all__ = ["Hearing", "Listener", "fold"]

_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_FUZZY_LENGTH = 5  # shorter words are too often other real words one letter apart
_Pattern = tuple[str, ...]  # one listed term, word by word; a word may end in "*"


def fold(text: str) -> str:
    """Lower-case `text`, drop accents and punctuation, squeeze letters typed 3+ times."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = plain.replace("'", "").replace("’", "")
    return _REPEATS.sub(r"\1", _NON_WORD.sub(" ", plain)).strip()


@dataclass(frozen=True)
class Hearing:
    """What a message was heard to be."""

    urgent: bool = False
    referral: bool = False
    intent: str | None = None


class _Terms:
    """A list of terms, found in a message's words."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.patterns: tuple[_Pattern, ...] = tuple(sorted({_pattern(t) for t in terms} - {()}))

    def words(self) -> Iterable[str]:
        for pattern in self.patterns:
            yield from pattern

    def found(self, tokens: list[str]) -> bool:
        size = len(tokens)
        for pattern in self.patterns:
            length = len(pattern)
            for start in range(size - length + 1):
                if all(_same(tokens[start + i], word) for i, word in enumerate(pattern)):
                    return True
        return False

    def whole(self, tokens: list[str]) -> bool:
        """Tell whether the message is exactly one of the terms."""
        return any(
            len(pattern) == len(tokens) and all(map(_same, tokens, pattern))
            for pattern in self.patterns
        )


_LOWER_WORD = re.compile(r"(?<![\w{])[^\W\d_A-Z][^\W_]*|\d+")


def _known_words(pack: LanguagePack) -> frozenset[str]:
    """Every word the pack's content uses in lower case (not only as a name), and its numbers."""
    texts: list[str] = [pack.words.common_words]
    texts += [str(value) for value in _strings(pack.texts.model_dump())]
    texts += [f"{step.title} {step.text}" for step in pack.learn]
    texts += [str(value) for value in _strings(pack.act.model_dump())]
    for entry in pack.faq:
        texts += [*entry.questions, entry.answer]
    texts += [f"{key} {value}" for key, value in pack.synonyms.items()]
    words = {
        fold_word(word)
        for text in texts
        for word in _LOWER_WORD.findall(_PLACEHOLDER.sub(" ", text))
        if not word[0].isupper()
    }
    return frozenset(words)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


def _pattern(term: str) -> _Pattern:
    words: list[str] = []
    for word in term.split():
        parts = fold(word).split()
        if parts and word.endswith("*"):
            parts[-1] += "*"
        words += parts
    return tuple(words)


def _same(token: str, word: str) -> bool:
    return token.startswith(word[:-1]) if word.endswith("*") else token == word


class _Urgent:
    def __init__(self, lists: Iterable[UrgentWords]) -> None:
        lists = list(lists)

        def terms(name: str) -> _Terms:
            return _Terms(term for words in lists for term in getattr(words, name))

        self.alarms, self.actors, self.actions = terms("alarms"), terms("actors"), terms("actions")
        self.people, self.taken = terms("people"), terms("taken")
        self.now, self.calm = terms("now"), terms("calm")

    def heard(self, tokens: list[str]) -> bool:
        found = _Terms.found
        actor = found(self.actors, tokens)
        taken = found(self.taken, tokens)
        strong = (
            found(self.alarms, tokens)
            or (actor and found(self.actions, tokens))
            or (taken and (actor or found(self.people, tokens)))
        )
        if not strong:
            return False
        return not found(self.calm, tokens) or found(self.now, tokens)


class Listener:
    """The campaign's listening words, compiled once."""

    def __init__(self, content: Content) -> None:
        packs = [content.packs[code] for code in content.languages]
        self._urgent = _Urgent(pack.words.urgent for pack in packs)
        self._referral = _Terms(term for pack in packs for term in pack.words.referral)
        names = sorted({name for pack in packs for name in pack.words.intents})
        self._intents = {
            name: _Terms(term for pack in packs for term in pack.words.intents.get(name, ()))
            for name in names
        }
        vocabulary = {
            word
            for terms in (*self._all_urgent(), self._referral, *self._intents.values())
            for word in terms.words()
            if not word.endswith("*") and len(word) >= _FUZZY_LENGTH
        }
        self._by_length: dict[int, list[str]] = {}
        for word in sorted(vocabulary):
            self._by_length.setdefault(len(word), []).append(word)
        self._known = vocabulary
        self._known_words = {pack.code: _known_words(pack) for pack in packs}
        self._prefixes = tuple(
            sorted(
                {
                    word[:-1]
                    for terms in (*self._all_urgent(), self._referral)
                    for word in terms.words()
                    if word.endswith("*")
                }
            )
        )

    def _all_urgent(self) -> tuple[_Terms, ...]:
        u = self._urgent
        return (u.alarms, u.actors, u.actions, u.people, u.taken, u.now, u.calm)

    def tokens(self, text: str) -> list[str]:
        """Fold `text` into words, each typo read as the listed word it is one edit from."""
        return [self._correct(token) for token in fold(text).split()]

    def _correct(self, token: str) -> str:
        if len(token) < _FUZZY_LENGTH or token in self._known or token.isdigit():
            return token
        if token.startswith(self._prefixes):
            return token
        for size in (len(token), len(token) - 1, len(token) + 1):
            for word in self._by_length.get(size, ()):
                if word[0] == token[0] and OSA.distance(token, word, score_cutoff=1) <= 1:
                    return word
        return token

    def known(self, lang: str) -> frozenset[str]:
        """Return the words a kept question in `lang` may keep: the campaign's and common ones."""
        return self._known_words.get(lang, frozenset())

    def urgent(self, text: str) -> bool:
        """Tell whether a message says enforcement is happening now."""
        return self._urgent.heard(self.tokens(text))

    def hear(self, text: str) -> Hearing:
        """Tell whether a message is an emergency, a question for a lawyer, or small talk."""
        tokens = self.tokens(text)
        if self._urgent.heard(tokens):
            return Hearing(urgent=True)
        for name, terms in self._intents.items():
            if terms.whole(tokens):
                return Hearing(intent=name)
        return Hearing(referral=self._referral.found(tokens))
