"""Folding typed text the one way every matcher in flows/ compares it."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold"]

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
