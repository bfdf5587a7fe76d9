"""Folding typed text the one way every matcher in flows/ compares it, and finding the word
a typo stands for."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

__all__ = ["Spelling", "fold"]

_NUMBER_SEPARATOR = re.compile(r"(?<=\d)[,.](?=\d{3}(?!\d))")  # "45,707" and "45.707" read 45707
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")  # "didn't" reads "didnt"
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Return `text` lower-cased, without accents, apostrophes or punctuation, spaces single.

    What is left is ASCII letters and digits: "¡ALTO!" is "alto", "Inmigración" is
    "inmigracion"; a script with no Latin letters folds to nothing.
    """
    if text.isascii():  # most of what people type: nothing to decompose
        plain = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = _APOSTROPHE.sub("", _NUMBER_SEPARATOR.sub("", plain))
    return _NON_WORD.sub(" ", plain).strip()


class Spelling:
    """A vocabulary's words by how they start and their length, to find what a typo means.

    A typed word is compared (OSA edit distance) with the words of about its length that
    start with the same `start` letters: typos seldom touch the start of a word.
    """

    def __init__(
        self, words: Iterable[str], rank: Callable[[str], object], start: int = 1
    ) -> None:
        self._start = start
        self._rank = rank  # orders words as far from a typo: the first wins
        self._by_shape: dict[tuple[str, int], list[str]] = {}
        for word in words:
            self._by_shape.setdefault((word[:start], len(word)), []).append(word)

    def near(self, word: str, limit: int) -> list[str]:
        """Return the words within `limit` edits of `word`, closest first, then by rank."""
        choices = [
            candidate
            for size in range(len(word) - limit, len(word) + limit + 1)
            for candidate in self._by_shape.get((word[: self._start], size), ())
        ]
        found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=limit, limit=None)
        found.sort(key=lambda item: (item[1], self._rank(item[0])))
        return [candidate for candidate, _, _ in found]
