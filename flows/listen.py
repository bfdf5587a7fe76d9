"""Hear what a message is about before answering it: an emergency, a question for a lawyer,
or something said to the bot itself (thanks, hello, help).

The words come from each language's `words.yaml`; the lists of every offered language are
used together, because people write in the language they panic in and mix languages.
Text is folded (lower case, no accents, no punctuation, letters repeated for emphasis
squeezed), and a typed word of five letters or more is read as the listed word one edit
away from it ("inmigarcion" is "inmigracion"), unless the organizers wrote it or the FAQ's
phrasings use it often ("talking" is not "taking"). A listed word ending in `*` matches every
word it starts.

An emergency is an alarm word, or an enforcement actor with presence or an action, or a
person just taken; a calm question (what a word means, the past, a what-if) is not one,
unless the message also says it is happening now. A calm term starting with `~` says the
message is about something else altogether (ice on the road, a movie, a dream, what happens
every time), and outweighs even the words for now.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flows.content import Content, LanguagePack, UrgentWords
from flows.text import Spelling, fold

__all__ = ["Hearing", "Listener"]

_REPEATS = re.compile(r"([a-z])\1{2,}")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_FUZZY_LENGTH = 6  # shorter typed words are too often other real words one letter apart
_TARGET_LENGTH = 4  # a long typo may still stand for a short listed word ("migraa")
_TWO_TYPOS = 9
_TYPED_OFTEN = 3  # phrasings a word must be in to be read as a word, not a typo
_YEAR = re.compile(r"(?:19|20)\d\d")  # a year: the past, or a plan
_SHOUT = re.compile(r"!{2,}|\?{3,}")
_ASIDE = "~"  # marks a calm term that outweighs the time words too
_Pattern = tuple[str, ...]  # one listed term, word by word; a word may end in "*"


def _squeezed(text: str) -> str:
    """Fold `text` and squeeze letters typed three times or more ("ayudaaa" is "ayuda")."""
    return _REPEATS.sub(r"\1", fold(text))


@dataclass(frozen=True)
class Hearing:
    """What a message was heard to be."""

    urgent: bool = False
    referral: bool = False
    intent: str | None = None


class _Terms:
    """A list of terms, found in a message's words.

    Terms are indexed by their first word (exact, or a prefix for `word*`), so a message is
    read once, each word looking up the few terms that may start there.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self.patterns: tuple[_Pattern, ...] = tuple(sorted({_pattern(t) for t in terms} - {()}))
        self._anchored = tuple(p[1:] for p in self.patterns if p[0] == "^" and len(p) > 1)
        self._exact: dict[str, list[_Pattern]] = {}
        self._prefixed: dict[str, list[_Pattern]] = {}
        for pattern in self.patterns:
            if pattern[0] == "^":
                continue
            first = pattern[0]
            if first.endswith("*"):
                self._prefixed.setdefault(first[:-1], []).append(pattern)
            else:
                self._exact.setdefault(first, []).append(pattern)
        self._prefix_lengths = sorted({len(prefix) for prefix in self._prefixed})
        self.singles = frozenset(p[0] for p in self.patterns if len(p) == 1 and p[0] != "^")

    def words(self) -> Iterable[str]:
        for pattern in self.patterns:
            yield from pattern

    def _starting(self, token: str) -> Iterator[_Pattern]:
        """The terms whose first word is `token`."""
        yield from self._exact.get(token, ())
        for size in self._prefix_lengths:
            if size > len(token):
                break
            yield from self._prefixed.get(token[:size], ())

    def _matches(self, tokens: list[str]) -> Iterator[tuple[int, _Pattern]]:
        """Where each term (not anchored to the start) occurs: (first word, term)."""
        for start, token in enumerate(tokens):
            for pattern in self._starting(token):
                if _at(tokens, start, pattern):
                    yield start, pattern

    def found(self, tokens: list[str]) -> bool:
        if any(_at(tokens, 0, pattern) for pattern in self._anchored):
            return True
        return next(self._matches(tokens), None) is not None

    def count(self, tokens: list[str]) -> int:
        """Return at how many places the terms occur (overlapping terms count once)."""
        return len({start + len(pattern) for start, pattern in self._matches(tokens)})

    def variety(self, tokens: list[str]) -> int:
        """Return how many different terms occur."""
        return len({pattern for _, pattern in self._matches(tokens)})

    def whole(self, tokens: list[str]) -> bool:
        """Tell whether the message is exactly one of the terms."""
        return bool(tokens) and any(
            len(pattern) == len(tokens) and _at(tokens, 0, pattern)
            for pattern in self._starting(tokens[0])
        )

    def single(self, token: str) -> bool:
        """Tell whether `token` is one of the one-word terms."""
        return any(len(pattern) == 1 for pattern in self._starting(token))


def _at(tokens: list[str], start: int, pattern: _Pattern) -> bool:
    """Tell whether `pattern` occurs in `tokens` from `start`."""
    return len(tokens) - start >= len(pattern) and all(
        _same(tokens[start + i], word) for i, word in enumerate(pattern)
    )


_LOWER_WORD = re.compile(r"(?<![\w{])[^\W\d_A-Z][^\W_]*|\d+")


def _known_words(pack: LanguagePack) -> frozenset[str]:
    """Every word the organizers wrote in lower case (not only as a name), and its numbers.

    Not the phrasings or synonyms: they are written as people type, towns, slang, status and
    misspellings included, and a word in them would be kept in a declined question.
    """
    texts: list[str] = [pack.words.common_words]
    texts += [str(value) for value in _strings(pack.texts.model_dump())]
    texts += [f"{step.title} {step.text}" for step in pack.learn]
    texts += [str(value) for value in _strings(pack.act.model_dump())]
    texts += [entry.answer for entry in pack.faq]
    words = {
        fold(word)
        for text in texts
        for word in _LOWER_WORD.findall(_PLACEHOLDER.sub(" ", text))
        if not word[0].isupper()
    }
    return frozenset(words)


def _typed_words(pack: LanguagePack) -> frozenset[str]:
    """The words of the FAQ's phrasings and not-covered examples typed in three or more.

    They only stop a word from being read as a typo of a listed one ("talking" is not
    "taking"); they are never kept (see `_known_words`). The price: a typo that is itself
    such a word is read as written ("ICE is talking my husband", "en el puerto" for puerta).
    """
    phrasings = [question for entry in pack.faq for question in entry.questions]
    phrasings += [*pack.not_covered.referral, *pack.not_covered.unrelated]
    typed = Counter(word for text in phrasings for word in set(fold(text).split()))
    # Three phrasings: a one-off misspelling ("imigrasion") is still corrected; a common one
    # ("polisia") is read as typed, and the lists spell the ones that matter themselves.
    return frozenset(word for word, count in typed.items() if count >= _TYPED_OFTEN)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


def _repeated(terms: _Terms, tokens: list[str]) -> bool:
    """Tell whether one word of the terms is typed three times or more ("MIGRA MIGRA MIGRA")."""
    counts = Counter(token for token in tokens if terms.single(token))
    return any(count >= 3 for count in counts.values())


def _shouted(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    capitals = len(letters) >= 6 and sum(char.isupper() for char in letters) > 0.8 * len(letters)
    return capitals or bool(_SHOUT.search(text))


def _pattern(term: str) -> _Pattern:
    words: list[str] = []
    if term.startswith("^"):  # only at the start of the message
        return ("^", *_pattern(term[1:]))
    for word in term.split():
        parts = fold(word).split()
        if parts and word.endswith("*"):
            parts[-1] += "*"
        words += parts
    return tuple(words)


def _same(token: str, word: str) -> bool:
    return token.startswith(word[:-1]) if word.endswith("*") else token == word


class _Urgent:
    """The rule, over the word lists of every language at once."""

    def __init__(self, lists: Iterable[UrgentWords]) -> None:
        lists = list(lists)

        def terms(name: str) -> _Terms:
            return _Terms(term for words in lists for term in getattr(words, name))

        self.alarms, self.actors, self.actions = terms("alarms"), terms("actors"), terms("actions")
        self.taken, self.people, self.they = terms("taken"), terms("people"), terms("they")
        self.now, self.recent = terms("now"), terms("recent")
        self.distress = terms("distress")
        calm = [term for words in lists for term in words.calm]
        self.calm = _Terms(term for term in calm if not term.startswith(_ASIDE))
        self.aside = _Terms(term[1:] for term in calm if term.startswith(_ASIDE))

    def all(self) -> tuple[_Terms, ...]:
        return (
            self.alarms,
            self.actors,
            self.actions,
            self.taken,
            self.people,
            self.they,
            self.now,
            self.recent,
            self.distress,
            self.calm,
            self.aside,
        )

    def heard(self, tokens: list[str], shouted: bool, asked: bool = False) -> bool:
        """Decide: who, doing what, to whom, now; and not a calm question."""
        found = _Terms.found
        actor = found(self.actors, tokens)
        action = found(self.actions, tokens)
        taken = found(self.taken, tokens)
        now = found(self.now, tokens)
        # "ICE!!!", "MIGRA MIGRA": an actor shouted is a call for help.
        distress = (
            shouted
            or found(self.distress, tokens)
            or _repeated(self.actors, tokens)
            or _Terms.count(self.taken, tokens) > 1  # "se lo llevaron se lo llevaron"
        )
        they = found(self.they, tokens)
        soon = now or distress or found(self.recent, tokens)
        strong = (
            found(self.alarms, tokens)
            or (actor and (action or taken or distress))
            or (taken and (soon or found(self.people, tokens) or they))
            or (they and action and (soon or _Terms.variety(self.actions, tokens) > 1))
        )
        calm = found(self.calm, tokens) or any(_YEAR.fullmatch(token) for token in tokens)
        if not strong:
            # "ICE", "MIGRA!", "la migra": a message that is only an actor is a call for help
            # ("whats dhs" is a question).
            return bool(tokens) and len(tokens) <= 2 and actor and not asked and not calm
        if found(self.aside, tokens):  # "the ice on the sidewalk this morning"
            return False
        return now or not calm


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
            if not word.endswith("*") and word != "^" and len(word) >= _TARGET_LENGTH
        }
        # Of two listed words as close to a typo, the shorter wins, then the first in order.
        self._spelling = Spelling(sorted(vocabulary), lambda word: (len(word), word))
        self._known = vocabulary
        self._known_words = {pack.code: _known_words(pack) for pack in packs}
        # A word the organizers wrote, or that people type in the phrasings, is a word, not a
        # typo of a listed one ("continuar" is not "continuam", "talking" is not "taking").
        self._spelled = frozenset().union(
            *self._known_words.values(), *(_typed_words(pack) for pack in packs)
        )
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
        return self._urgent.all()

    def tokens(self, text: str) -> list[str]:
        """Fold `text` into words, each typo read as the listed word it is one edit from."""
        return [self._correct(token) for token in _squeezed(text).split()]

    def _correct(self, token: str) -> str:
        if len(token) < _FUZZY_LENGTH or token.isdigit():
            return token
        if token in self._known or token in self._spelled:
            return token
        if token.startswith(self._prefixes):
            return token
        # Long words are often misspelt twice ("imigrasion"); short ones once at most.
        near = self._spelling.near(token, 2 if len(token) >= _TWO_TYPOS else 1)
        return near[0] if near else token

    def known(self, lang: str) -> frozenset[str]:
        """Return the words a kept question in `lang` may keep: the campaign's and common ones."""
        return self._known_words.get(lang, frozenset())

    def names_actor(self, text: str) -> bool:
        """Tell whether a message is only a name for the enforcers ("ICE", "la migra")."""
        return self._urgent.actors.whole(self.tokens(text))

    def urgent(self, text: str) -> bool:
        """Tell whether a message says enforcement is happening now."""
        return self._urgent.heard(self.tokens(text), _shouted(text), "?" in text)

    def hear(self, text: str) -> Hearing:
        """Tell whether a message is an emergency, a question for a lawyer, or small talk."""
        tokens = self.tokens(text)
        if self._urgent.heard(tokens, _shouted(text), "?" in text):
            return Hearing(urgent=True)
        for name, terms in self._intents.items():
            if terms.whole(tokens):
                return Hearing(intent=name)
        return Hearing(referral=self._referral.found(tokens))
