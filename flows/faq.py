"""Match a typed question to a knowledge entry, or decline honestly.

Text is folded (lower case, accents and punctuation off), abbreviations expanded from a
small per-language map, stop words dropped and words stemmed with Snowball (PyStemmer).
A word the index does not know is corrected to the nearest indexed word (rapidfuzz, one
or two edits), and two typed words are joined when only their join is known
("finger prints", "s comm"). Each entry is then scored two ways and the two are mixed:

* BM25F over the whole entry, its question phrasings weighing more than its answer;
* the best weighted overlap between the question and one phrasing of the entry.

Both are normalised by the weight of everything the person typed, so a question full of
words the campaign never uses scores low. The bot answers only when the best entry is
both good enough and clearly ahead of the second; otherwise it declines and offers the
closest entries. BM25 is hand-written rather than taken from bm25s: over a few thousand
short entries it is a few lines over an inverted index, it needs two fields, and bm25s
would bring numpy and scipy into a chat bot for no gain in speed at this size.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from flows.content import FaqEntry

__all__ = ["SMALL_TALK", "STOP_WORDS", "SYNONYMS", "FaqIndex", "FaqMatch"]

# -- language data (may move to content) ----------------------------------------------------
# Keys and values are folded text (lower case, no accents); a key may be several words.


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


SYNONYMS: dict[str, dict[str, str]] = {
    "en": {
        # chat spelling
        "u": "you",
        "ur": "your",
        "r": "are",
        "y": "why",
        "wat": "what",
        "wut": "what",
        "wht": "what",
        "abt": "about",
        "bc": "because",
        "cuz": "because",
        "ppl": "people",
        "ppls": "people",
        "pls": "please",
        "plz": "please",
        "thx": "thanks",
        "ty": "thanks",
        "thru": "through",
        "b4": "before",
        "info": "information",
        "stats": "statistics",
        "dept": "department",
        "govt": "government",
        "org": "organization",
        "orgs": "organizations",
        "msg": "message",
        "msgs": "messages",
        "txt": "text",
        "ssn": "social security number",
        "good morning": "hello",
        "good afternoon": "hello",
        "good evening": "hello",
        "good night": "hello",
        # the campaign's names
        "gov": "governor",
        "guv": "governor",
        "deval": "governor patrick",
        "s comm": "scomm",
        "s com": "scomm",
        "scom": "scomm",
        "secure communities": "scomm",
        "secure community": "scomm",
        "secure comm": "scomm",
        "department of homeland security": "dhs",
        "homeland security": "dhs",
        "cops": "police",
        "cop": "police",
        "pd": "police",
        "dv": "domestic violence",
        "finger prints": "fingerprints",
        "finger print": "fingerprints",
        "prints": "fingerprints",
        "finger": "fingerprints",
        "abogado": "lawyer",
        "advogado": "lawyer",
        "attorney": "lawyer",
        # same meaning, different words
        "kicked out": "deported",
        "sent back": "deported",
        "picked up": "arrested",
        "pick up": "arrested",
        "picks up": "arrested",
        "locked up": "arrested",
        "booked": "arrested",
        "say no": "oppose",
        "said no": "oppose",
        "says no": "oppose",
        "reject": "oppose",
        "rejected": "oppose",
        "refuse": "oppose",
        "refused": "oppose",
        "turn down": "oppose",
        "turned down": "oppose",
        "scared": "afraid",
        "frightened": "afraid",
        "fearful": "afraid",
        "talking about": "about",
        "talk about": "about",
        "get rid of": "remove",
        "got rid of": "remove",
        "go up": "more",
        "went up": "more",
        "increase": "more",
        "increased": "more",
        "private": "privacy",
        # irregular forms the stemmer leaves alone
        "took": "take",
        "taken": "take",
        "sent": "send",
        "kept": "keep",
        "went": "go",
        "gone": "go",
        "came": "come",
        "caught": "catch",
        "told": "tell",
        "gave": "give",
        "given": "give",
        "found": "find",
        "held": "hold",
        "brought": "bring",
        "thought": "think",
        "ran": "run",
        "spoke": "speak",
        "spoken": "speak",
        "wrote": "write",
        "written": "write",
        "fought": "fight",
        "won": "win",
        "lost": "lose",
        "heard": "hear",
        "paid": "pay",
        "left": "leave",
        "made": "make",
    },
    "es": {
        "q": "que",
        "xq": "por que",
        "pq": "por que",
        "tb": "tambien",
        "s comm": "scomm",
        "comunidades seguras": "scomm",
        "migra": "ice",
        "sin papeles": "indocumentado",
    },
    "pt": {
        "vc": "voce",
        "q": "que",
        "pq": "por que",
        "tb": "tambem",
        "s comm": "scomm",
        "comunidades seguras": "scomm",
        "sem documentos": "indocumentado",
    },
}

# A message made only of these (and stop words) is small talk, not a question.
SMALL_TALK: dict[str, frozenset[str]] = {
    "en": _wordset(
        """hello hi hey hiya yo thanks thank thankyou cheers ok okay k lol haha cool great nice
        bye goodbye morning night afternoon evening sure yes yeah yep no nope good fine"""
    ),
    "es": _wordset("hola gracias ok vale adios buenos buenas dias noches tardes si no"),
    "pt": _wordset("ola oi obrigado obrigada ok tchau bom boa dia noite tarde sim nao"),
}


STOP_WORDS: dict[str, frozenset[str]] = {
    "en": _wordset(
        # Question words stay: "how did we win" and "did we win" are different entries.
        """a about all also am an and any anyone anything are as at be because been being
        both but by can could did do does doing done during each even ever every for from
        get gets getting go going got had has have having he her here hers him his i if im
        in into is it its itself ive just know let like me mean means meaning might much
        must my myself need of on or our ours own please pretty quite re really said say
        says she should so some something such tell than that thats the their theirs them
        then there these they thing things this those through to too us very want wanna
        was we well were what whats whether while will with would yeah yes yet you youre
        your yours hi hello hey ok okay question questions wondering explain exactly
        actually basically kind sort stuff someone somebody guys anymore"""
    ),
    "es": _wordset(
        """a al algo algun alguna alguno como con cual cuales cuando de del donde el ella
        ellos en es esa ese eso esta estan este esto fue ha hay la las le les lo los mas me
        mi mis muy nos o para pero por porque que quien se sea ser si sin sobre son su sus
        tambien te tiene tu un una uno unos y ya yo hola gracias pregunta saber"""
    ),
    "pt": _wordset(
        """a ao aos as com como da das de do dos e ela ele eles em entre era essa esse isso
        esta este eu foi ha isso ja mais me meu minha muito na nas no nos o os ou para pela
        pelo por porque quando que quem se ser seu sua sobre tambem te tem um uma voce
        ola obrigado obrigada pergunta saber"""
    ),
}

_STEMMERS = {"en": "english", "es": "spanish", "pt": "portuguese"}

# -- tuning ---------------------------------------------------------------------------------

_K1 = 1.2
_B = 0.5
_QUESTION_WEIGHT = 1.0
_ANSWER_WEIGHT = 0.25
_BM25_SHARE = 0.4  # the rest is the best single phrasing
_BETA2 = 4.0  # F-beta with beta 2: what was asked matters more than what a phrasing adds
_UNKNOWN_WEIGHT = 0.8  # of the weight of a word found in one entry only
_UNKNOWN_POWER = 0.5
_DILUTION = 1.0
_ANSWER_DF = 1.0
_CORRECTED_WEIGHT = 0.9  # a corrected typo counts a little less than a known word
_THRESHOLD = 0.45
_MARGIN = 0.06
_SUGGEST_FLOOR = 0.2
_MAX_TERMS = 48

_NUMBER_COMMA = re.compile(r"(?<=\d)[,.](?=\d{3}(?!\d))")
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class FaqMatch:
    """The outcome of one question: an entry, or a decline with suggestions."""

    entry: FaqEntry | None
    score: float
    suggestions: tuple[str, ...] = ()

    @property
    def answered(self) -> bool:
        """Return whether an entry was found."""
        return self.entry is not None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = _APOSTROPHE.sub("", _NUMBER_COMMA.sub("", plain))
    return _NON_WORD.sub(" ", plain).strip()


class _Analyzer:
    """Turns text into stems; shared by indexing and matching so both agree."""

    def __init__(self, lang: str) -> None:
        self.stop = STOP_WORDS.get(lang, frozenset())
        self.small_talk = SMALL_TALK.get(lang, frozenset()) | self.stop
        table = SYNONYMS.get(lang, {})
        self._replacements = {_fold(key): _fold(value) for key, value in table.items()}
        keys = sorted(self._replacements, key=lambda key: (-len(key), key))
        self._synonyms = (
            re.compile(r"(?<!\S)(?:" + "|".join(map(re.escape, keys)) + r")(?!\S)")
            if keys
            else None
        )
        algorithm = _STEMMERS.get(lang)
        self._stemmer = Stemmer.Stemmer(algorithm) if algorithm else None

    def words(self, text: str) -> list[str]:
        folded = _fold(text)
        if self._synonyms is not None:
            folded = self._synonyms.sub(lambda m: self._replacements[m.group(0)], folded)
        return folded.split()

    def stem(self, word: str) -> str:
        return self._stemmer.stemWord(word) if self._stemmer else word

    def terms(self, text: str) -> list[str]:
        return [self.stem(word) for word in self.words(text) if word not in self.stop]


@dataclass(frozen=True)
class _Query:
    weights: dict[str, float]
    total: float


class FaqIndex:
    """An immutable search index over one language's knowledge entries."""

    def __init__(self, entries: Sequence[FaqEntry], lang: str) -> None:
        self._entries = tuple(entries)
        self._by_id = {entry.id: entry for entry in self._entries}
        self.lang = lang
        self._analyzer = _Analyzer(lang)
        self._index()

    @classmethod
    def build(cls, entries: Sequence[FaqEntry], lang: str) -> FaqIndex:
        """Index `entries` once, for matching many questions in language `lang`."""
        return cls(entries, lang)

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        """Return the indexed entries in file order."""
        return self._entries

    def get(self, entry_id: str) -> FaqEntry | None:
        """Return the entry with id `entry_id`, or None."""
        return self._by_id.get(entry_id)

    def _index(self) -> None:
        analyzer = self._analyzer
        phrasings: list[list[str]] = []
        self._phrasing_entry: list[int] = []
        question_tf: list[Counter[str]] = []
        answer_tf: list[Counter[str]] = []
        surface: Counter[str] = Counter()
        for number, entry in enumerate(self._entries):
            questions: Counter[str] = Counter()
            for question in entry.questions:
                terms = analyzer.terms(question)
                phrasings.append(terms)
                self._phrasing_entry.append(number)
                questions.update(terms)
            question_tf.append(questions)
            answer_tf.append(Counter(analyzer.terms(_PLACEHOLDER.sub(" ", entry.answer))))
            for text in (*entry.questions, entry.answer):
                surface.update(word for word in analyzer.words(text) if word not in analyzer.stop)

        count = max(len(self._entries), 1)
        # An answer mentions many things in passing: its words count less towards rarity.
        df: dict[str, float] = {}
        for questions, answer in zip(question_tf, answer_tf, strict=True):
            for term in questions:
                df[term] = df.get(term, 0.0) + 1.0
            for term in answer.keys() - questions.keys():
                df[term] = df.get(term, 0.0) + _ANSWER_DF
        self._idf = {term: _idf(count, seen) for term, seen in df.items()}
        self._unit = _idf(count, 1)
        self._unknown = self._unit * _UNKNOWN_WEIGHT

        question_len = [sum(tf.values()) for tf in question_tf]
        answer_len = [sum(tf.values()) for tf in answer_tf]
        mean_question = max(sum(question_len) / count, 1.0)
        mean_answer = max(sum(answer_len) / count, 1.0)
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for number in range(len(self._entries)):
            norm_q = 1 - _B + _B * question_len[number] / mean_question
            norm_a = 1 - _B + _B * answer_len[number] / mean_answer
            for term in question_tf[number].keys() | answer_tf[number].keys():
                tf = (
                    _QUESTION_WEIGHT * question_tf[number][term] / norm_q
                    + _ANSWER_WEIGHT * answer_tf[number][term] / norm_a
                )
                gain = min(1.0, tf * (_K1 + 1) / (_K1 + tf))
                self._postings.setdefault(term, []).append((number, gain))

        self._phrasing_postings: dict[str, list[int]] = {}
        self._phrasing_weight: list[float] = []
        for number, terms in enumerate(phrasings):
            unique = dict.fromkeys(terms)
            self._phrasing_weight.append(sum(self._idf[term] for term in unique) or 1.0)
            for term in unique:
                self._phrasing_postings.setdefault(term, []).append(number)

        self._stop_words = {word: analyzer.stem(word) for word in analyzer.stop}
        self._surface = {word: analyzer.stem(word) for word in surface}
        # Typo candidates share the first letter; most frequent first, so ties go to common
        # words. Short words are left alone: "nice" is not a typo of "ice".
        self._candidates: dict[str, list[str]] = {}
        for word in sorted(surface, key=lambda word: (-surface[word], word)):
            if len(word) >= 4 and not word.isdigit():
                self._candidates.setdefault(word[0], []).append(word)
        for word in sorted(set(self._stop_words) - set(self._surface)):
            if len(word) >= 4:
                self._candidates.setdefault(word[0], []).append(word)

    # -- matching ---------------------------------------------------------------------------

    def match(self, question: str) -> FaqMatch:
        """Return the entry answering `question`, or a decline with the closest entry ids."""
        ranked = self._rank(self._query(question))
        if not ranked:
            return FaqMatch(entry=None, score=0.0)
        best_number, best = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if best >= _THRESHOLD and best - second >= _MARGIN:
            return FaqMatch(entry=self._entries[best_number], score=round(best, 4))
        suggestions = tuple(
            self._entries[number].id for number, score in ranked[:3] if score >= _SUGGEST_FLOOR
        )
        return FaqMatch(entry=None, score=round(best, 4), suggestions=suggestions)

    def _rank(self, query: _Query) -> list[tuple[int, float]]:
        """Return (entry number, score) pairs, best first."""
        if not query.weights:
            return []
        bm25: dict[int, float] = {}
        overlap: dict[int, float] = {}
        for term, weight in query.weights.items():
            for number, gain in self._postings.get(term, ()):
                bm25[number] = bm25.get(number, 0.0) + gain * weight
            for number in self._phrasing_postings.get(term, ()):
                overlap[number] = overlap.get(number, 0.0) + weight
        best_phrasing: dict[int, float] = {}
        for number, shared in overlap.items():
            recall = self._coverage(shared, query.total)
            precision = min(shared / self._phrasing_weight[number], 1.0)
            f_score = (1 + _BETA2) * precision * recall / (_BETA2 * precision + recall)
            entry = self._phrasing_entry[number]
            if f_score > best_phrasing.get(entry, 0.0):
                best_phrasing[entry] = f_score
        scores = {
            number: _BM25_SHARE * self._coverage(bm25[number], query.total)
            + (1 - _BM25_SHARE) * best_phrasing.get(number, 0.0)
            for number in bm25
        }
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))

    def _coverage(self, matched: float, total: float) -> float:
        """Return the share of the question matched; unmatched words weigh sublinearly."""
        missing = max(total - matched, 0.0) / self._unit
        return matched / (matched + self._unit * missing**_DILUTION) if matched > 0 else 0.0

    def _query(self, question: str) -> _Query:
        words = self._analyzer.words(question[:2000])
        if all(word in self._analyzer.small_talk for word in words):
            return _Query(weights={}, total=0.0)
        words = self._join_pairs(words)
        weights: dict[str, float] = {}
        unknown: set[str] = set()
        for word in words:
            if word in self._stop_words:
                continue
            term, weight = self._resolve(word)
            if term is None or term in weights or term in unknown:
                continue
            if term in self._idf:
                weights[term] = weight
            else:
                unknown.add(term)
            if len(weights) + len(unknown) >= _MAX_TERMS:
                break
        # Unknown words count less and less: a long message is not off-topic for its length.
        total = sum(weights.values()) + self._unknown * len(unknown) ** _UNKNOWN_POWER
        return _Query(weights=weights, total=total)

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
        return near_stem, self._idf[near_stem] * _CORRECTED_WEIGHT

    def _nearest(self, word: str, limit: int) -> list[str]:
        """Return indexed words within `limit` edits of `word`, closest and commonest first."""
        found = process.extract(
            word,
            self._candidates.get(word[0], ()),
            scorer=OSA.distance,
            score_cutoff=limit,
            limit=None,
        )
        ranked = [candidate for candidate, _, _ in sorted(found, key=lambda item: item[1:])]
        # Real words are often one letter apart ("rain", "raid"; "scared", "shared"), while
        # typos mostly drop or swap letters: short words may only swap, and the second letter
        # must agree unless the first two are swapped.
        return [
            candidate
            for candidate in ranked
            if (sorted(candidate) == sorted(word) or len(word) > 5)
            and (candidate[1] == word[1] or candidate[:2] == word[1::-1])
        ]


def _idf(count: int, seen: float) -> float:
    return math.log(1 + (count - seen + 0.5) / (seen + 0.5))
