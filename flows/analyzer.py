"""How the knowledge file reads text: folded, spelled out, synonyms followed, stemmed.

Shared by indexing and matching (flows/faq.py), so both read an entry and a question alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import Stemmer

from flows.content import Matching
from flows.text import fold

__all__ = ["Analyzer"]

_STEMMERS = {"en": "english", "es": "spanish", "pt": "portuguese"}
_SOUNDED_KEPT = 50_000  # words whose sound is remembered (what people type is unbounded)

# Text is matched without accents, as people often type it, but Snowball needs the accents
# of these endings to see that "condenação" and "condenados" share a stem.
_ACCENTED_ENDINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "es": (("cion", "ción"),),
    "pt": (("coes", "ções"), ("cao", "ção"), ("encia", "ência"), ("ancia", "ância")),
}


def _follow_chains(
    table: dict[str, str], pattern: re.Pattern[str], rounds: int = 3
) -> dict[str, str]:
    """Resolve each replacement through the table, a few steps deep."""
    resolved = {}
    for key, value in table.items():
        for _ in range(rounds):
            replaced = pattern.sub(lambda m: table[m.group(0)], value)
            if replaced == value:
                break
            value = replaced
        resolved[key] = value
    return resolved


class Analyzer:
    """Turns text into stems; shared by indexing and matching so both agree."""

    def __init__(
        self,
        lang: str,
        synonyms: Mapping[str, str],
        language: Matching,
        foreign_stop: frozenset[str],
    ) -> None:
        self.stop = language.stop
        # People mix languages ("quiero ayudar, what can i do?"): the other languages' stop
        # words are dropped too, unless this language's entries use them (see FaqIndex).
        self.foreign_stop = foreign_stop - self.stop
        self.small_talk = frozenset(language.small_talk.split()) | self.stop
        self._aspect = frozenset(language.aspect_verbs.split())
        table = {**language.spelling, **synonyms}
        replacements = {fold(key): fold(value) for key, value in table.items()}
        keys = sorted(replacements, key=lambda key: (-len(key), key))
        self._synonyms = (
            re.compile(r"(?<!\S)(?:" + "|".join(map(re.escape, keys)) + r")(?!\S)")
            if keys
            else None
        )
        # Chains are followed once, here: "stats" reads "statistics", read "numbers" in turn.
        self._replacements = (
            _follow_chains(replacements, self._synonyms) if self._synonyms else replacements
        )
        self._sounds = tuple(
            (re.compile(pattern), replacement) for pattern, replacement in language.sounds.items()
        )
        self._sounded: dict[str, str] = {}
        algorithm = _STEMMERS.get(lang)
        self._stemmer = Stemmer.Stemmer(algorithm) if algorithm else None
        self._endings = _ACCENTED_ENDINGS.get(lang, ())

    def _replace(self, folded: str) -> str:
        if self._synonyms is None:
            return folded
        return self._synonyms.sub(lambda m: self._replacements[m.group(0)], folded)

    def words(self, text: str) -> list[str]:
        words = fold(text).split()
        if not words:
            return words
        # "keeps talking about": a verb of aspect before an -ing form says nothing of the topic.
        kept = [
            word
            for word, after in zip(words, [*words[1:], ""], strict=True)
            if not (word in self._aspect and len(after) > 4 and after.endswith("ing"))
        ]
        return self._replace(" ".join(kept)).split()

    def sounded(self, text: str) -> list[str]:
        """Return `words(text)`, each as it sounds (the language's `sounds`), for the classifier:
        people write by ear ("yamar", "aser", "governado"), and a letter group of "llamar"
        shares little with one of "yamar"."""
        if not self._sounds:
            return self.words(text)
        return [self._sound(word) for word in self.words(text)]

    def _sound(self, word: str) -> str:
        found = self._sounded.get(word)
        if found is None:
            found = word
            for pattern, replacement in self._sounds:
                found = pattern.sub(replacement, found)
            if len(self._sounded) < _SOUNDED_KEPT:
                self._sounded[word] = found
        return found

    def stem(self, word: str) -> str:
        if self._stemmer is None:
            return word
        for plain, accented in self._endings:
            if word.endswith(plain):
                return fold(self._stemmer.stemWord(word[: -len(plain)] + accented))
        return self._stemmer.stemWord(word)

    def terms(self, text: str) -> list[str]:
        return [self.stem(word) for word in self.words(text) if word not in self.stop]
