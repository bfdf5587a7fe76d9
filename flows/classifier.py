"""Which entry a question is about: logistic regression over the phrasings in the content.

Each knowledge entry is a class, and so are the two kinds of question the campaign does not
answer (`not_covered` in faq.yaml: questions for a lawyer, and everything else). A text is
read as the words the analyzer gives (folded, synonyms followed) and the letter trigrams
and four-grams of each word, which carry slang, typos and word endings across spellings
("deportan", "deportaram", "deport"). Each block is tf-idf weighted (sublinear counts) and
of unit length, as scikit-learn's TfidfVectorizer would make it. A question's word that no
phrasing has is read as the commonest phrasing word one edit away (two for long words), so
"agradeser" counts as "agradecer" and not only by its letter groups.

The weights are fitted when the index is built, by L-BFGS on the L2-penalised softmax loss,
in numpy over the rows laid out dense, a block at a time (no scipy, no scikit-learn: with a
few dozen classes and a few thousand phrasings the fit is two matrix products a step, and
the libraries would add 60 MB to a chat bot). Fitted models are kept by their training data, per
process (flows/faq.py) and on disk (a `Store`, storage/fitted.py), so a restart or a reload
of unchanged content does not fit again.

The class probabilities are what the decline rule reads: a question the phrasings do not
cover spreads its probability, and one that is like the `not_covered` examples goes to them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from flows.text import Spelling

__all__ = ["Classifier", "Features", "Reading", "Store"]

FORMAT = 1  # bump when what is fitted, or how, changes: kept fits are then fitted again

_GRAMS = (3, 4)
_MIN_GRAM_DF = 2  # a letter group seen in one phrasing only is noise
_SPELL_LENGTH = 5  # shorter words one letter apart are too often other real words
_TWO_EDITS = 9  # long words are often misspelt twice ("imigrasion")
_MEMORY = 10  # L-BFGS correction pairs
_BLOCK = 1024  # rows laid out dense at a time while fitting
_TOLERANCE = 1e-4


class Store(Protocol):
    """Where fitted classifiers are kept between runs, by a key naming their training data."""

    def load(self, key: str) -> Mapping[str, np.ndarray] | None:
        """Return the arrays kept under `key`, or None."""
        ...

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Keep `arrays` under `key`; failing quietly is fine (it is only a cache)."""
        ...


@dataclass(frozen=True)
class _Vocabulary:
    index: dict[str, int]  # column numbers, from `offset`
    idf: np.ndarray
    offset: int


class Features:
    """Turns texts into sparse tf-idf rows: words, then letter groups of each word."""

    def __init__(
        self, words: Callable[[str], list[str]], vocabulary: tuple[_Vocabulary, _Vocabulary]
    ) -> None:
        self._words = words
        self._word_vocab, self._gram_vocab = vocabulary
        self.word_count = len(self._word_vocab.index)  # words come first, then letter groups
        self.size = self.word_count + len(self._gram_vocab.index)
        # Where a misspelt word's match is; of two as close, the commoner (lower idf) wins.
        idf, offset = self._word_vocab.idf, self._word_vocab.offset
        self._spelling = Spelling(
            self._word_vocab.index, lambda key: float(idf[self._word_vocab.index[key] - offset])
        )

    @classmethod
    def learn(
        cls, words: Callable[[str], list[str]], texts: Sequence[str]
    ) -> tuple[Features, list[_Row]]:
        """Return the features of `texts` (their vocabulary and idf) and their rows."""
        read = [_read(words, text) for text in texts]
        word_vocab = _vocabulary([found for found, _ in read], 1, 0)
        gram_vocab = _vocabulary([found for _, found in read], _MIN_GRAM_DF, len(word_vocab.index))
        features = cls(words, (word_vocab, gram_vocab))
        return features, [features._row(*found) for found in read]

    def _row(self, word_counts: Counter[str], gram_counts: Counter[str]) -> _Row:
        columns: list[int] = []
        values: list[float] = []
        for counts, vocab in ((word_counts, self._word_vocab), (gram_counts, self._gram_vocab)):
            block_columns = [vocab.index[key] for key in counts if key in vocab.index]
            if not block_columns:
                continue
            idf = vocab.idf
            block = [
                (1 + math.log(counts[key])) * idf[vocab.index[key] - vocab.offset]
                for key in counts
                if key in vocab.index
            ]
            norm = math.sqrt(sum(value * value for value in block))
            columns += block_columns
            values += [value / norm for value in block]
        return np.array(columns, dtype=np.int64), np.array(values, dtype=np.float32)

    def row(self, text: str) -> _Row:
        """Return the column numbers and values of `text`'s row, each misspelt word read as
        the known word it is one edit from (two for long words)."""
        return self._row(*_read(lambda typed: [self._spelt(w) for w in self._words(typed)], text))

    def _spelt(self, word: str) -> str:
        if word in self._word_vocab.index or len(word) < _SPELL_LENGTH or word.isdigit():
            return word
        near = self._spelling.near(word, 1 if len(word) < _TWO_EDITS else 2)
        return near[0] if near else word

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the vocabulary as arrays, to be kept and read back by `from_arrays`."""
        return {
            "words": np.array(list(self._word_vocab.index), dtype=str),
            "word_idf": self._word_vocab.idf,
            "grams": np.array(list(self._gram_vocab.index), dtype=str),
            "gram_idf": self._gram_vocab.idf,
        }

    @classmethod
    def from_arrays(
        cls, words: Callable[[str], list[str]], arrays: Mapping[str, np.ndarray]
    ) -> Features:
        """Return the features kept by `arrays`."""
        word_keys = [str(key) for key in arrays["words"]]
        gram_keys = [str(key) for key in arrays["grams"]]
        word_vocab = _Vocabulary(
            {key: number for number, key in enumerate(word_keys)}, arrays["word_idf"], 0
        )
        offset = len(word_keys)
        gram_vocab = _Vocabulary(
            {key: offset + number for number, key in enumerate(gram_keys)},
            arrays["gram_idf"],
            offset,
        )
        return cls(words, (word_vocab, gram_vocab))


_Row = tuple[np.ndarray, np.ndarray]  # column numbers and values


def _read(words: Callable[[str], list[str]], text: str) -> tuple[Counter[str], Counter[str]]:
    found = words(text)
    grams: Counter[str] = Counter()
    for word in found:
        padded = f" {word} "
        for size in _GRAMS:
            grams.update(padded[at : at + size] for at in range(len(padded) - size + 1))
    return Counter(found), grams


def _vocabulary(counts: Sequence[Counter[str]], min_df: int, offset: int) -> _Vocabulary:
    df = Counter(key for found in counts for key in found)
    kept = sorted(key for key, seen in df.items() if seen >= min_df)
    total = len(counts)
    idf = np.array([math.log((1 + total) / (1 + df[key])) + 1 for key in kept])
    return _Vocabulary(
        {key: offset + number for number, key in enumerate(kept)}, idf.astype(np.float32), offset
    )


class Classifier:
    """Softmax regression from a text's features to one of a fixed set of classes."""

    def __init__(self, features: Features, weights: np.ndarray, bias: np.ndarray) -> None:
        self.features = features
        self._weights = weights
        self._bias = bias

    @classmethod
    def fit(
        cls,
        words: Callable[[str], list[str]],
        texts: Sequence[str],
        labels: Sequence[int],
        classes: int,
        *,
        penalty: float,
        iterations: int,
        max_cells: int,
    ) -> Classifier | None:
        """Fit on `texts` labelled `labels`; None when it would take over `max_cells`."""
        features, rows = Features.learn(words, texts)
        if len(rows) * features.size > max_cells:
            return None
        kept = [number for number, (columns, _) in enumerate(rows) if len(columns)]
        targets = np.array([labels[number] for number in kept], dtype=np.int64)
        weights, bias = _fit(
            [rows[number] for number in kept], targets, features.size, classes, penalty, iterations
        )
        return cls(features, weights, bias)

    def arrays(self) -> dict[str, np.ndarray]:
        """Return everything fitted, as arrays (see `from_arrays`)."""
        return {**self.features.arrays(), "weights": self._weights, "bias": self._bias}

    @classmethod
    def from_arrays(
        cls, words: Callable[[str], list[str]], arrays: Mapping[str, np.ndarray]
    ) -> Classifier:
        """Return the classifier that `arrays` kept."""
        return cls(Features.from_arrays(words, arrays), arrays["weights"], arrays["bias"])

    def read(self, text: str) -> Reading:
        """Return each class's probability for `text`, and how many of its words are known."""
        columns, values = self.features.row(text)
        scores = self._bias + values @ self._weights[columns] if len(columns) else self._bias
        scores = np.exp(scores - scores.max())
        known = int((columns < self.features.word_count).sum())
        return Reading(scores / scores.sum(), known, bool(len(columns)))


class Reading(NamedTuple):
    """What the classifier makes of a text."""

    probabilities: np.ndarray  # by class
    known_words: int  # words the phrasings have (letter groups aside)
    known: bool  # anything the phrasings have, word or letter group


def _fit(
    rows: Sequence[_Row],
    targets: np.ndarray,
    size: int,
    classes: int,
    penalty: float,
    iterations: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise `penalty` * cross-entropy + |W|^2 / 2 (the bias is not penalised).

    numpy has no sparse product, and BLAS on dense rows beats gathering and reducing sparse
    ones (twice as fast, measured on the campaign's files), so the rows are laid out dense,
    `_BLOCK` at a time, in one float32 buffer that is written and wiped again for each block:
    memory grows with the features (and, through the weights, the classes), not the rows.
    """
    count = len(rows)
    if count == 0:
        return np.zeros((size, classes)), np.zeros(classes)
    blocks = []
    for first in range(0, count, _BLOCK):
        block = rows[first : first + _BLOCK]
        lines = np.repeat(np.arange(len(block)), [len(columns) for columns, _ in block])
        columns = np.concatenate([columns for columns, _ in block])
        values = np.concatenate([values for _, values in block]).astype(np.float32)
        onehot = np.zeros((len(block), classes), dtype=np.float32)
        onehot[np.arange(len(block)), targets[first : first + _BLOCK]] = 1.0
        blocks.append((lines, columns, values, onehot))
    buffer = np.zeros((min(count, _BLOCK), size), dtype=np.float32)
    cut = size * classes

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights = flat[:cut].reshape(size, classes)
        gradient = np.empty_like(flat)
        weight_gradient = weights.copy()  # the penalty's part
        bias_gradient = np.zeros(classes, dtype=flat.dtype)
        log_likelihood = 0.0
        for lines, columns, values, onehot in blocks:
            matrix = buffer[: len(onehot)]
            matrix[lines, columns] = values
            scores = matrix @ weights + flat[cut:]
            scores -= scores.max(axis=1, keepdims=True)
            exp = np.exp(scores)
            total = exp.sum(axis=1, keepdims=True)
            log_likelihood += float((scores * onehot).sum() - np.log(total).sum())
            error = penalty * (exp / total - onehot)
            weight_gradient += matrix.T @ error
            bias_gradient += error.sum(axis=0)
            matrix[lines, columns] = 0.0
        gradient[:cut] = weight_gradient.ravel()
        gradient[cut:] = bias_gradient
        value = -penalty * log_likelihood + 0.5 * float(np.dot(flat[:cut], flat[:cut]))
        return value, gradient

    flat = _lbfgs(loss, np.zeros(cut + classes, dtype=np.float32), iterations)
    return flat[:cut].reshape(size, classes).copy(), flat[cut:].copy()


def _lbfgs(
    loss: Callable[[np.ndarray], tuple[float, np.ndarray]], start: np.ndarray, iterations: int
) -> np.ndarray:
    """Limited-memory BFGS with a backtracking (Armijo) line search."""
    point = start
    value, gradient = loss(point)
    steps: list[np.ndarray] = []
    changes: list[np.ndarray] = []
    for _ in range(iterations):
        direction = -gradient
        alphas: list[float] = []
        for step, change in zip(reversed(steps), reversed(changes), strict=True):
            alpha = float(step @ direction) / float(change @ step)
            alphas.append(alpha)
            direction = direction - alpha * change
        if steps:
            direction *= float(steps[-1] @ changes[-1]) / float(changes[-1] @ changes[-1])
        else:
            direction /= max(float(np.linalg.norm(gradient)), 1.0)
        for step, change, alpha in zip(steps, changes, reversed(alphas), strict=True):
            beta = float(change @ direction) / float(change @ step)
            direction = direction + (alpha - beta) * step
        slope = float(gradient @ direction)
        if slope >= 0:  # not a descent direction: start again from the gradient
            steps.clear()
            changes.clear()
            direction = -gradient / max(float(np.linalg.norm(gradient)), 1.0)
            slope = float(gradient @ direction)
        length = 1.0
        while True:
            candidate = point + length * direction
            new_value, new_gradient = loss(candidate)
            if new_value <= value + 1e-4 * length * slope or length < 1e-10:
                break
            length /= 2
        step, change = candidate - point, new_gradient - gradient
        if float(step @ change) > 1e-10:
            steps.append(step)
            changes.append(change)
            if len(steps) > _MEMORY:
                steps.pop(0)
                changes.pop(0)
        point, gradient = candidate, new_gradient
        improvement = value - new_value
        value = new_value
        if (
            np.abs(gradient).max() < _TOLERANCE
            or 0 <= improvement < _TOLERANCE * max(abs(value), 1.0) * 1e-3
        ):
            break
    return point
