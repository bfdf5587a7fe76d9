"""Match a typed question to a knowledge entry, or decline honestly.

A classifier decides (flows/classifier.py): each entry is a class, and so are the content's
examples of questions no entry answers (`not_covered`: for a lawyer, or unrelated). The
bot answers when an entry is likely enough (`confident`), or less likely but also the
word index's answer (`agreed`); a question most like the referral examples is declined as
one for a lawyer. Without `not_covered` examples, or past the size the classifier is fitted
for, the word index below decides alone.

The word index. Text is folded (lower case, accents and punctuation off), abbreviations,
negations ("didnt" reads "did not") and synonyms expanded from a small per-language map,
following chains ("stats" to "statistics" to a campaign's "numbers"), verbs of aspect
dropped before an -ing form ("keeps talking about"), stop words dropped and words stemmed
with Snowball (PyStemmer). A word the index does not know is corrected to the nearest
indexed word (rapidfuzz, OSA distance: one edit, two for long words), and two typed words
are joined when only their join is known ("finger prints"). Each entry is scored two ways,
mixed:

* BM25F over the whole entry, its question phrasings weighing more than its answer (a
  closing citation such as "Source: {source}." is not part of the answer's words);
* the F1 overlap between the question and the entry's closest phrasing, with a bonus for
  each pair of words asked in a row as that phrasing has them ("thank the governor").

and, for slang and misspellings the word index cannot correct ("esse-comm"), a small share
of the tf-idf cosine between the letter trigrams of the question and of the entry's phrasings.

All are normalised by the weight of everything the person typed (a word the campaign
never uses weighs more than its rarest word, unmatched words sublinearly), so a question
full of words the campaign never uses scores low, while a long message is not punished for
its length. In a message that tells a story around a question, the sentences that ask (end
with "?") weigh fully and the rest less, unless the question is only "what is it?".
The bot answers only when the best entry is good enough and ahead of the second by a
margin, a share of its own score; otherwise it declines and offers the closest entries.

People mix languages ("quiero ayudar, what can i do?"): the other languages' stop words are
dropped too, unless this language's entries use them as words, and each faq.yaml maps the
other languages' topic words onto its own in `synonyms`.

The word index's numbers (`FaqTuning`) were fitted on the tune parts of the independent sets
in bench/eval/ in earlier rounds; `python -m bench.faq --tune` now fits the classifier's
decline rule on them (all three languages). Their sealed parts are only ever scored, in
aggregate.

BM25 is hand-written rather than taken from bm25s: over a few thousand short entries it is
a few lines over an inverted index, it needs two fields and per-phrasing scores, and bm25s
would bring scipy into a chat bot. Postings are impact-ordered and cut at
`_WALK` entries per word, and only the `_CANDIDATES` entries with most matched weight are
scored in full, which keeps a question near a millisecond with 2,000 entries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from flows.analyzer import Analyzer
from flows.classifier import FORMAT, Classifier, Store
from flows.content import Content, FaqEntry, LanguagePack, Matching, NotCovered
from flows.text import Spelling, fold

__all__ = [
    "DEFAULT_TUNING",
    "FaqIndex",
    "FaqMatch",
    "FaqTuning",
    "Guess",
    "match_in_any",
]

# -- tuning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaqTuning:
    """The engine's numeric knobs; `python -m bench.faq` tunes and cross-validates them."""

    k1: float = 1.2
    b: float = 0.5
    answer_weight: float = 0.3  # a word found only in the answer counts under a third
    answer_df: float = 0.5  # answers mention many things in passing: half a sighting
    bm25_share: float = 0.4  # the rest is the best single phrasing
    unknown_weight: float = 4.0  # an unknown word: four times a word found in one entry only
    corrected_weight: float = 0.9  # a corrected typo counts a little less than a known word
    dilution: float = 0.3  # unmatched words weigh sublinearly: long messages are not off-topic
    context_weight: float = 0.7  # words of a message's story, outside the sentence that asks
    pair_weight: float = 0.4  # bonus for two words asked in a row, as a phrasing has them
    char_weight: float = 0.1  # share of the score from letter trigrams (slang, misspellings)
    threshold: float = 0.52
    margin: float = 0.02  # the best must lead the second by this share of its own score
    penalty: float = 50.0  # the classifier's inverse regularisation (scikit-learn's C)
    iterations: int = 40  # L-BFGS steps when fitting the classifier
    confident: float = 0.8  # the classifier answers when its best entry is this likely,
    agreed: float = 0.35  # or this likely when the word index answers the same entry...
    decisive: float = 0.8  # ...and even beside a word for a lawyer ("visa") when this likely
    decisive_score: float = 0.6  # the word index's score that is as sure

    def accepts(self, best: float, second: float) -> bool:
        """Return whether a best score of `best`, ahead of `second`, is worth answering.

        The margin is relative: two entries within a few percent of each other are a tie,
        however high they both score, and a tie is a question to ask back, not to guess.
        """
        return best >= self.threshold and best - second >= self.margin * best

    def answers(self, likely: float, agrees: Callable[[], bool]) -> bool:
        """Return whether the classifier's entry, `likely` so, is worth answering.

        `agrees` tells whether the word index answers the same entry; it is asked only when
        that could decide (it costs the word index's reading).
        """
        return likely >= self.confident or (likely >= self.agreed and agrees())


DEFAULT_TUNING = FaqTuning()
_QUESTION_WEIGHT = 1.0
_SUGGEST_FLOOR = 0.2
_CANDIDATES = 8  # entries scored in full, by matched weight
_PHRASINGS = 16  # of each, the phrasings sharing most with the question
_LETTER_CANDIDATES = 6  # of those, the best compared by letter trigrams too
_WALK = 128  # entries kept per word, by impact
_MAX_TERMS = 48
_MAX_CHARACTERS = 2000  # what a question is read up to
_SUGGEST_LIKELY = 0.05  # an entry this likely is offered as a button when the bot declines
# Fitting the classifier takes time in proportion to phrasings x features (about 6 s for
# 70 million on one core): past this many, a first start after an edit would take long, and
# the word index alone decides.
_FIT_CELLS = 150_000_000

_NON_WORD = re.compile(r"[^a-z0-9]+")
_Pair = tuple[str, str]  # two neighbouring terms, in order
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
# A sentence that is only a label and a link ("Source: {source}.") cites; it does not answer.
_CITATION = re.compile(r"(?:^|(?<=[.!?]\s))\w+:\s*\{[a-z_]+\}\.?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class FaqMatch:
    """The outcome of one question: an entry, or a decline with suggestions."""

    entry: FaqEntry | None
    score: float
    suggestions: tuple[str, ...] = ()
    referral: bool = False  # declined as an immigration question for a lawyer
    decisive: bool = False  # answered surely enough to outweigh a word for a lawyer

    @property
    def answered(self) -> bool:
        """Return whether an entry was found."""
        return self.entry is not None


@dataclass(frozen=True)
class Guess:
    """The classifier's likeliest class for a question, before deciding to answer."""

    entry: FaqEntry | None  # None: like the examples of what is not covered, or unknown
    probability: float
    referral: bool  # like the examples of questions for a lawyer
    runners_up: tuple[str, ...]  # the entries likely enough to offer as buttons


def _sentences(text: str) -> list[tuple[str, bool]]:
    """Split a message into sentences, each with whether it asks something."""
    return [(part, part.rstrip().endswith("?")) for part in _SENTENCE_END.split(text)]


@dataclass(frozen=True)
class _Query:
    weights: dict[str, float]
    total: float
    pairs: frozenset[_Pair]
    grams: dict[str, float]  # letter trigrams of the words typed, unit length


class FaqIndex:
    """An immutable search index over one language's knowledge entries."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        lang: str,
        synonyms: Mapping[str, str],
        tuning: FaqTuning = DEFAULT_TUNING,
        language: Matching | None = None,
        foreign_stop: frozenset[str] = frozenset(),
        not_covered: NotCovered | None = None,
        store: Store | None = None,
    ) -> None:
        self._entries = tuple(entries)
        self._by_id = {entry.id: entry for entry in self._entries}
        self.lang = lang
        self.tuning = tuning
        language = language or Matching()
        self._little_words = language.stop
        self._analyzer = Analyzer(lang, synonyms, language, foreign_stop)
        self._index()
        self._not_covered = not_covered or NotCovered()
        # Without examples of what it does not cover, a softmax cannot decline: any word in
        # common makes some entry likely. Such a file (a test's, a campaign's first draft) is
        # matched by the word index alone.
        self._classifier = None
        if self._not_covered.unrelated:
            key = json.dumps(
                [
                    FORMAT,
                    lang,
                    sorted(synonyms.items()),
                    sorted(language.spelling.items()),
                    language.aspect_verbs,
                    list(language.sounds.items()),
                    [[entry.id, entry.questions] for entry in self._entries],
                    self._not_covered.model_dump(),
                    tuning.penalty,
                    tuning.iterations,
                ]
            )
            self._classifier = _fitted(
                hashlib.sha256(key.encode()).hexdigest(), self._analyzer.sounded, self._fit, store
            )

    @classmethod
    def build(
        cls,
        entries: Sequence[FaqEntry],
        lang: str,
        synonyms: Mapping[str, str] | None = None,
        tuning: FaqTuning = DEFAULT_TUNING,
        *,
        language: Matching | None = None,
        foreign_stop: frozenset[str] = frozenset(),
        not_covered: NotCovered | None = None,
        store: Store | None = None,
    ) -> FaqIndex:
        """Index `entries` once, for matching many questions in language `lang`.

        `language` says how the language is read (its words.yaml `matching`); `foreign_stop`
        holds the other offered languages' stop words; `not_covered` has examples of
        questions no entry answers; `store` keeps fitted classifiers between runs.
        """
        return cls(
            entries, lang, synonyms or {}, tuning, language, foreign_stop, not_covered, store
        )

    @classmethod
    def from_pack(
        cls,
        pack: LanguagePack,
        others: Iterable[LanguagePack] = (),
        tuning: FaqTuning = DEFAULT_TUNING,
        store: Store | None = None,
    ) -> FaqIndex:
        """Index one language of a campaign, with its synonyms and the other languages."""
        foreign = frozenset().union(
            *(other.words.matching.stop for other in others if other.code != pack.code)
        )
        return cls(
            pack.faq,
            pack.code,
            pack.synonyms,
            tuning,
            pack.words.matching,
            foreign,
            pack.not_covered,
            store,
        )

    @classmethod
    def from_content(cls, content: Content, lang: str, store: Store | None = None) -> FaqIndex:
        """Index language `lang` of a campaign."""
        return cls.from_pack(content.pack(lang), content.packs.values(), store=store)

    def little_words(self, text: str) -> int:
        """Return how many of `text`'s words are this language's stop words ("que", "the")."""
        return sum(word in self._little_words for word in fold(text).split())

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        """Return the indexed entries in file order."""
        return self._entries

    def get(self, entry_id: str) -> FaqEntry | None:
        """Return the entry with id `entry_id`, or None."""
        return self._by_id.get(entry_id)

    @property
    def classifies(self) -> bool:
        """Return whether the classifier decides (False past its size limit)."""
        return self._classifier is not None

    @property
    def too_big(self) -> bool:
        """Return whether the file has examples for the classifier but is too big to fit it."""
        return bool(self._not_covered.unrelated) and self._classifier is None

    def _fit(self) -> Classifier | None:
        """Fit the classifier on the phrasings, and on the examples of what is not covered."""
        texts = [question for entry in self._entries for question in entry.questions]
        labels = [number for number, entry in enumerate(self._entries) for _ in entry.questions]
        for number, examples in enumerate(
            (self._not_covered.referral, self._not_covered.unrelated), len(self._entries)
        ):
            texts += examples
            labels += [number] * len(examples)
        return Classifier.fit(
            self._analyzer.sounded,
            texts,
            labels,
            len(self._entries) + 2,
            penalty=self.tuning.penalty,
            iterations=self.tuning.iterations,
            max_cells=_FIT_CELLS,
        )

    def _index(self) -> None:
        analyzer, tuning = self._analyzer, self.tuning
        phrasings: list[list[str]] = []
        phrasing_entry: list[int] = []
        question_tf: list[Counter[str]] = []
        answer_tf: list[Counter[str]] = []
        surface: Counter[str] = Counter()
        stop, stem = analyzer.stop, analyzer.stem
        read = {
            question: analyzer.words(question)
            for entry in self._entries
            for question in entry.questions
        }
        for number, entry in enumerate(self._entries):
            questions: Counter[str] = Counter()
            for question in entry.questions:
                kept = [word for word in read[question] if word not in stop]
                terms = [stem(word) for word in kept]
                phrasings.append(terms)
                phrasing_entry.append(number)
                questions.update(terms)
                surface.update(kept)
            question_tf.append(questions)
            # "Source: {source}." cites; the words of {links} are not the answer's own.
            answer_text = _PLACEHOLDER.sub(" ", _CITATION.sub(" ", entry.answer))
            answer_tf.append(Counter(analyzer.terms(answer_text)))
            surface.update(word for word in analyzer.words(answer_text) if word not in stop)

        count = max(len(self._entries), 1)
        # An answer mentions many things in passing: its words count less towards rarity.
        df: dict[str, float] = {}
        for questions, answer in zip(question_tf, answer_tf, strict=True):
            for term in questions:
                df[term] = df.get(term, 0.0) + 1.0
            for term in answer.keys() - questions.keys():
                df[term] = df.get(term, 0.0) + tuning.answer_df
        self._idf = {term: _idf(count, seen) for term, seen in df.items()}
        self._unit = _idf(count, 1)
        self._unknown = self._unit * tuning.unknown_weight

        question_len = [sum(tf.values()) for tf in question_tf]
        answer_len = [sum(tf.values()) for tf in answer_tf]
        mean_question = max(sum(question_len) / count, 1.0)
        mean_answer = max(sum(answer_len) / count, 1.0)
        k1, b = tuning.k1, tuning.b
        postings: dict[str, list[tuple[int, float]]] = {}
        for number in range(len(self._entries)):
            norm_q = 1 - b + b * question_len[number] / mean_question
            norm_a = 1 - b + b * answer_len[number] / mean_answer
            for term in question_tf[number].keys() | answer_tf[number].keys():
                tf = (
                    _QUESTION_WEIGHT * question_tf[number][term] / norm_q
                    + tuning.answer_weight * answer_tf[number][term] / norm_a
                )
                gain = min(1.0, tf * (k1 + 1) / (k1 + tf))
                postings.setdefault(term, []).append((number, gain))
        # Impact-ordered and cut: past the first few hundred entries a word is as common as
        # a stop word, and walking the rest would cost more than it tells.
        self._postings = {
            term: sorted(found, key=lambda item: (-item[1], item[0]))[:_WALK]
            for term, found in postings.items()
        }

        self._phrasings: list[list[_Phrasing]] = [[] for _ in self._entries]
        seen: set[tuple[int, frozenset[str], frozenset[_Pair]]] = set()
        for number, terms in zip(phrasing_entry, phrasings, strict=True):
            unique, pairs = frozenset(terms), _pairs(terms)
            if (number, unique, pairs) in seen:  # phrasings that read alike are scored once
                continue
            seen.add((number, unique, pairs))
            weight = sum(self._idf[term] for term in unique) or 1.0
            self._phrasings[number].append(_Phrasing(unique, weight, pairs))
        # For each entry, which of its phrasings hold each term: only those are scored.
        self._holding: list[dict[str, tuple[int, ...]]] = []
        for found in self._phrasings:
            holding: dict[str, list[int]] = {}
            for position, phrasing in enumerate(found):
                for term in phrasing.terms:
                    holding.setdefault(term, []).append(position)
            self._holding.append({term: tuple(at) for term, at in holding.items()})

        self._stop_words = {word: analyzer.stem(word) for word in analyzer.stop}
        self._surface = {word: analyzer.stem(word) for word in surface}
        for word in analyzer.foreign_stop - surface.keys():
            self._stop_words.setdefault(word, word)
        # Typo candidates: indexed words of about the same length that start with the same two
        # letters (typos seldom touch the start of a word); commonest first, so ties go to
        # common words. Short words are left alone: "nice" is not a typo of "ice".
        ordered = sorted(surface, key=lambda word: (-surface[word], word))
        ordered += sorted(set(self._stop_words) - set(self._surface))
        commonness = {word: rank for rank, word in enumerate(ordered)}
        self._spelling = Spelling(
            (word for word in ordered if len(word) >= 4 and not word.isdigit()),
            commonness.__getitem__,
            start=2,
        )

        # Letter trigrams of each entry's phrasings, for slang and misspellings the word
        # index cannot correct ("esse-comm", "secure comunities").
        entry_counts: list[Counter[str]] = []
        for entry in self._entries:
            counts: Counter[str] = Counter()
            for question in entry.questions:
                for word in read[question]:
                    if word not in self._stop_words:
                        counts.update(_trigrams(word))
            entry_counts.append(counts)
        gram_df = Counter(gram for counts in entry_counts for gram in counts)
        self._gram_idf = {gram: _idf(count, seen) for gram, seen in gram_df.items()}
        self._gram_unknown = _idf(count, 1)
        self._entry_grams: list[dict[str, float]] = []
        for counts in entry_counts:
            vector = {
                gram: (1 + math.log(tf)) * self._gram_idf[gram] for gram, tf in counts.items()
            }
            norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
            self._entry_grams.append({gram: value / norm for gram, value in vector.items()})

    # -- matching ---------------------------------------------------------------------------

    def match(self, question: str) -> FaqMatch:
        """Return the entry answering `question`, or a decline with the closest entry ids."""
        guess = self.guess(question)
        if guess is not None:
            return self._decide(guess, question)
        return self.match_words(question)

    def match_words(self, question: str) -> FaqMatch:
        """Return what the word index alone makes of `question` (see the module's notes)."""
        ranked = self._ranked(question)
        if not ranked:
            return FaqMatch(entry=None, score=0.0)
        best_number, best = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if self.tuning.accepts(best, second):
            decisive = best >= self.tuning.decisive_score
            return FaqMatch(
                entry=self._entries[best_number], score=round(best, 4), decisive=decisive
            )
        suggestions = tuple(
            self._entries[number].id for number, score in ranked[:3] if score >= _SUGGEST_FLOOR
        )
        return FaqMatch(entry=None, score=round(best, 4), suggestions=suggestions)

    def guess(self, question: str) -> Guess | None:
        """Return the classifier's likeliest class for `question`, undecided; None when the
        word index decides (no examples of what is not covered, or too big a file)."""
        classifier = self._classifier
        if classifier is None:
            return None
        probabilities, known_words, known = classifier.read(question[:_MAX_CHARACTERS])
        if not known:  # nothing the phrasings have: not even a guess
            return Guess(entry=None, probability=0.0, referral=False, runners_up=())
        order = [int(number) for number in probabilities.argsort()[::-1]]
        count = len(self._entries)
        best = order[0]
        return Guess(
            entry=self._entries[best] if best < count else None,
            probability=round(float(probabilities[best]), 4),
            referral=best == count,
            # Letter groups alone ("asdkjh") are too little to offer entries on.
            runners_up=tuple(
                self._entries[number].id
                for number in order[:4]
                if number < count and probabilities[number] >= _SUGGEST_LIKELY and known_words
            )[:3],
        )

    def _decide(self, guess: Guess, question: str) -> FaqMatch:
        tuning, score, entry = self.tuning, guess.probability, guess.entry
        # Less sure, the answer still stands when the word index, reading the question
        # another way, gives the same entry.
        if entry is not None and tuning.answers(
            score, lambda: self.match_words(question).entry is entry
        ):
            return FaqMatch(entry=entry, score=score, decisive=score >= tuning.decisive)
        return FaqMatch(
            entry=None, score=score, suggestions=guess.runners_up, referral=guess.referral
        )

    def ranked(self, question: str, limit: int = 3) -> tuple[tuple[FaqEntry, float], ...]:
        """Return the word index's likeliest entries for `question` with their scores, best
        first (what `match_words` decides on)."""
        return tuple(
            (self._entries[number], score) for number, score in self._ranked(question)[:limit]
        )

    def _ranked(self, question: str) -> list[tuple[int, float]]:
        query = self._query(question)
        return self._rank(query) if query.weights else []

    def _rank(self, query: _Query) -> list[tuple[int, float]]:
        """Return (entry number, score) pairs of the likeliest entries, best first."""
        weights = query.weights
        mass: dict[int, float] = {}
        get = mass.get
        for term, weight in weights.items():
            for number, gain in self._postings.get(term, ()):
                mass[number] = get(number, 0.0) + gain * weight
        top = (
            heapq.nlargest(_CANDIDATES, mass, key=mass.__getitem__)
            if len(mass) > _CANDIDATES
            else mass
        )
        total = query.total
        share = self.tuning.bm25_share
        scores = []
        pairs, pair_weight = query.pairs, self.tuning.pair_weight
        coverage = self._coverage
        unit, dilution = self._unit, self.tuning.dilution
        grams, char_weight = query.grams, self.tuning.char_weight
        for number in top:
            best = 0.0
            holding, found = self._holding[number], self._phrasings[number]
            # The weight each phrasing shares with the question, summed term by term: only
            # the phrasings holding an asked term are touched.
            shared_by: dict[int, float] = {}
            add = shared_by.get
            for term, weight in weights.items():
                for position in holding.get(term, ()):
                    shared_by[position] = add(position, 0.0) + weight
            # Most shared first: once even a perfectly precise phrasing with every pair could
            # not beat the best, none of the rest can (the bound only grows with `shared`).
            for position, shared in heapq.nlargest(_PHRASINGS, shared_by.items(), key=_by_weight):
                # coverage(shared, total), inlined: this loop is most of a question's time.
                missing = total - shared if total > shared else 0.0
                recall = shared / (shared + unit * (missing / unit) ** dilution)
                ceiling = 2 * recall / (1 + recall)
                if best >= ceiling + pair_weight * (1 - ceiling):
                    break
                _, weight, phrase_pairs = found[position]
                precision = min(shared / weight, 1.0)
                f1 = 2 * precision * recall / (precision + recall)
                if pairs and phrase_pairs:
                    # Words asked in a row, as the phrasing has them: a bonus.
                    f1 += pair_weight * (1 - f1) * len(pairs & phrase_pairs) / len(phrase_pairs)
                if f1 > best:
                    best = f1
            score = share * coverage(mass[number], total) + (1 - share) * best
            scores.append((number, score))
        scores.sort(key=lambda item: (-item[1], item[0]))
        if grams:
            # Letters only reorder close calls: the few best entries are compared by them.
            kept = 1 - char_weight
            for position, (number, score) in enumerate(scores):
                if position < _LETTER_CANDIDATES:
                    letters = self._entry_grams[number]
                    similar = sum(
                        [value * letters.get(gram, 0.0) for gram, value in grams.items()]
                    )
                    scores[position] = (number, kept * score + char_weight * similar)
                else:
                    scores[position] = (number, kept * score)
            scores.sort(key=lambda item: (-item[1], item[0]))
        return scores

    def _coverage(self, matched: float, total: float) -> float:
        """Return the share of the question matched; unmatched words weigh sublinearly."""
        missing = max(total - matched, 0.0) / self._unit
        dilution = self.tuning.dilution
        return matched / (matched + self._unit * missing**dilution) if matched > 0 else 0.0

    def _query(self, question: str) -> _Query:
        """Weigh the question's terms; in a story around a question, the story weighs less."""
        analyzer = self._analyzer
        sentences: list[tuple[list[str], bool]] = []
        for text, asks in _sentences(question[:_MAX_CHARACTERS]):
            words = analyzer.words(text)
            if not all(word in analyzer.small_talk for word in words):  # "Hi! What is S-Comm?"
                sentences.append((self._join_pairs(words), asks))
        typed = [word for words, _ in sentences for word in words if word not in self._stop_words][
            :_MAX_TERMS
        ]
        # The sentence that asks weighs most, unless all it asks is "what is it?".
        focused = any(
            asks and any(word not in analyzer.stop for word in words) for words, asks in sentences
        )
        context = self.tuning.context_weight if focused else 1.0
        weights: dict[str, float] = {}
        unknown: dict[str, float] = {}
        sequence: list[str] = []  # the terms in order, for pairs
        for words, asks in sentences:
            salience = 1.0 if asks else context
            for word in words:
                if word in self._stop_words:
                    continue
                term, weight = self._resolve(word)
                sequence.append(term or "")
                if term is None:
                    continue
                found = weights if term in self._idf else unknown
                weight = (weight if found is weights else self._unknown) * salience
                if weight > found.get(term, 0.0):
                    found[term] = weight
            sequence.append("")  # no pair across sentences
            if len(weights) + len(unknown) >= _MAX_TERMS:
                break
        total = sum(weights.values()) + sum(unknown.values())
        grams = self._grams(typed) if self.tuning.char_weight else {}
        return _Query(weights=weights, total=total, pairs=_pairs(sequence), grams=grams)

    def _grams(self, words: Sequence[str]) -> dict[str, float]:
        """Return the tf-idf vector of the letter trigrams of `words`, of unit length."""
        counts = Counter(gram for word in words for gram in _trigrams(word))
        vector = {
            gram: count * self._gram_idf.get(gram, self._gram_unknown)
            for gram, count in counts.items()
        }
        norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
        return {gram: value / norm for gram, value in vector.items()}

    def _join_pairs(self, words: list[str]) -> list[str]:
        joined: list[str] = []
        position = 0
        while position < len(words):
            word = words[position]
            if position + 1 < len(words):
                after = words[position + 1]
                pair = word + after
                if pair in self._surface and not (
                    word in self._surface and after in self._surface
                ):
                    joined.append(pair)
                    position += 2
                    continue
            joined.append(word)
            position += 1
        return joined

    def _resolve(self, word: str) -> tuple[str | None, float]:
        """Return the stem for `word` and its weight; None drops a typo of a stop word."""
        known = self._surface.get(word)
        if known is not None:
            return known, self._idf[known]
        stem = self._analyzer.stem(word)
        if len(word) < 4 or word.isdigit():
            return stem, self._idf.get(stem, self._unknown)
        if stem in self._idf:
            # "deporting" is fine as it is; "governer" stems to "govern" but means "governor".
            near = self._nearest(word, 1)
            if not near or any(self._surface.get(other) == stem for other in near):
                return stem, self._idf[stem]
        else:
            near = self._nearest(word, 1 if len(word) < 9 else 2)
            if not near:
                return stem, self._unknown
        if near[0] in self._stop_words:
            return None, 0.0
        near_stem = self._surface[near[0]]
        return near_stem, self._idf[near_stem] * self.tuning.corrected_weight

    def _nearest(self, word: str, limit: int) -> list[str]:
        """Return indexed words within `limit` edits of `word`, closest and commonest first."""
        # Real words are often one letter apart ("rain", "raid"): a short word may only swap.
        return [
            candidate
            for candidate in self._spelling.near(word, limit)
            if len(word) > 5 or sorted(candidate) == sorted(word)
        ]


class _Fitted:
    """The classifiers fitted in this process, by their training data (the last few)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: dict[object, Classifier | None] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._kept

    def get(self, key: object) -> Classifier | None:
        return self._kept[key]

    def put(self, key: object, classifier: Classifier | None) -> None:
        self._kept.pop(key, None)
        self._kept[key] = classifier
        while len(self._kept) > self._size:
            del self._kept[next(iter(self._kept))]


_FITTED = _Fitted(size=12)


def _fitted(
    key: str,
    words: Callable[[str], list[str]],
    fit: Callable[[], Classifier | None],
    store: Store | None,
) -> Classifier | None:
    """Return the classifier for `key`: fitted already in this process, kept, or fitted now."""
    if key in _FITTED:
        return _FITTED.get(key)
    classifier = None
    kept = store.load(key) if store is not None else None
    if kept is not None:
        try:
            classifier = Classifier.from_arrays(words, kept)
        except (KeyError, ValueError):  # kept by another version: fit again
            classifier = None
    if classifier is None:
        classifier = fit()
        if classifier is not None and store is not None:
            store.save(key, classifier.arrays())
    _FITTED.put(key, classifier)
    return classifier


class _Phrasing(NamedTuple):
    terms: frozenset[str]
    weight: float  # the rarity of its terms, summed
    pairs: frozenset[_Pair]


def _by_weight(item: tuple[int, float]) -> float:
    return item[1]


def _pairs(terms: Sequence[str]) -> frozenset[_Pair]:
    """Return the neighbouring pairs of `terms`; an empty term breaks the chain."""
    return frozenset(
        (first, second)
        for first, second in itertools.pairwise(terms)
        if first and second and first != second
    )


def _trigrams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[start : start + 3] for start in range(len(padded) - 2)]


def _idf(count: int, seen: float) -> float:
    return math.log(1 + (count - seen + 0.5) / (seen + 0.5))


def match_in_any(indexes: Mapping[str, FaqIndex], lang: str, question: str) -> FaqMatch:
    """Match `question` in language `lang`, else in another of `indexes`' languages.

    People write in the language that comes to them, whatever the bot was set to: a Spanish
    question to the English bot is read by the Spanish index, and answered with the English
    entry of the same id (every language has the same ids). Only a decline is read again,
    and only by a language whose little words ("que", "de", "the") the question uses more.
    """
    own = indexes[lang]
    match = own.match(question)
    if match.answered or match.referral:
        return match
    mine = own.little_words(question)
    found = [
        other.match(question)
        for code, other in indexes.items()
        if code != lang and other.little_words(question) > mine
    ]
    # The other language's entry, and this language's entry of the same id.
    answered = [
        (other_match, entry)
        for other_match in found
        if other_match.entry is not None and (entry := own.get(other_match.entry.id))
    ]
    if answered:
        best, entry = max(answered, key=lambda pair: pair[0].score)
        return dataclasses.replace(best, entry=entry)
    if any(m.referral for m in found):
        return dataclasses.replace(match, referral=True)
    return match
