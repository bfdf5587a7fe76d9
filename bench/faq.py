"""Measure the FAQ matcher against a plain fuzzy baseline: accuracy, honesty and speed.

Run with `python -m bench.faq` (or `make bench`). Reads the knowledge file from
content/ and the evaluation questions from bench/faq_eval.yaml; prints plain tables.

The engine's numbers (weights, threshold, margin) are fitted to this very set, so the
bench also cross-validates them: in 5 folds, the knobs are tuned on four fifths of the
questions and scored on the fifth they never saw. A held-out figure well below the tuned
one means the knobs learnt the questions rather than the language. `--tune` prints the
knobs tuned on the whole set, to copy into `FaqTuning`'s defaults.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process, utils

from flows.content import FaqEntry, LanguagePack, load_content
from flows.faq import DEFAULT_TUNING, FaqIndex, FaqTuning

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
EVAL = ROOT / "bench" / "faq_eval.yaml"
SYNTHETIC_ENTRIES = 2000
LATENCY_ROUNDS = 5
FOLDS = 5
# The grid the cross-validation searches: every combination of these weights (around the
# shipped defaults, with "off" for the story focus and the word pairs), then the decision.
WEIGHT_GRID: dict[str, tuple[float, ...]] = {
    "bm25_share": (0.3, 0.4, 0.5),
    "dilution": (0.3, 0.4, 0.5),
    "context_weight": (0.5, 0.7, 1.0),
    "pair_weight": (0.0, 0.2, 0.4, 0.6),
    "unknown_weight": (1.0, 1.5, 2.0),
}
THRESHOLDS = tuple(round(0.30 + step * 0.01, 2) for step in range(31))  # ascending
MARGINS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05)
WRONG_COST = 1  # a wrong answer costs as much as a right one earns: declining is better

Matcher = Callable[[str], tuple[str | None, float]]


@dataclass(frozen=True)
class _Question:
    q: str
    expect: str | None
    kind: str


@dataclass(frozen=True)
class _Outcome:
    question: _Question
    got: str | None
    score: float

    @property
    def right(self) -> bool:
        return self.got == self.question.expect


def _load_pack(lang: str = "en") -> LanguagePack:
    return load_content(CONTENT).pack(lang)


def _load_questions(path: Path = EVAL) -> list[_Question]:
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        _Question(q=str(item["q"]), expect=item.get("expect"), kind=str(item.get("kind", "")))
        for item in data.get("questions", [])
    ]


# -- the two matchers ----------------------------------------------------------------------


def _engine(
    entries: Sequence[FaqEntry],
    synonyms: Mapping[str, str],
    tuning: FaqTuning = DEFAULT_TUNING,
    lang: str = "en",
) -> Matcher:
    index = FaqIndex.build(entries, lang, synonyms, tuning)

    def match(question: str) -> tuple[str | None, float]:
        found = index.match(question)
        return (found.entry.id if found.entry else None), found.score

    return match


def _baseline(entries: Sequence[FaqEntry], threshold: float) -> Matcher:
    """Best WRatio against any phrasing; answer when it reaches `threshold`."""
    phrasings = [question for entry in entries for question in entry.questions]
    owners = [entry.id for entry in entries for _ in entry.questions]

    def match(question: str) -> tuple[str | None, float]:
        found = process.extractOne(
            question, phrasings, scorer=fuzz.WRatio, processor=utils.default_process
        )
        if found is None:
            return None, 0.0
        _, score, position = found
        return (owners[position] if score >= threshold else None), score / 100

    return match


def _best_baseline(entries: Sequence[FaqEntry], questions: Sequence[_Question]) -> float:
    """Return the baseline threshold with the best balanced score on the set (its best case)."""
    best, best_threshold = -1.0, 0.0
    for threshold in range(50, 100, 5):
        outcomes = _run(_baseline(entries, threshold), questions)
        in_scope, declined = _rates(outcomes)
        if in_scope + declined > best:
            best, best_threshold = in_scope + declined, float(threshold)
    return best_threshold


# -- measuring ------------------------------------------------------------------------------


def _run(matcher: Matcher, questions: Sequence[_Question]) -> list[_Outcome]:
    outcomes = []
    for question in questions:
        got, score = matcher(question.q)
        outcomes.append(_Outcome(question, got, score))
    return outcomes


def _share(outcomes: Sequence[_Outcome]) -> float:
    return sum(outcome.right for outcome in outcomes) / len(outcomes) if outcomes else 0.0


def _rates(outcomes: Sequence[_Outcome]) -> tuple[float, float]:
    in_scope = [outcome for outcome in outcomes if outcome.question.expect is not None]
    out_scope = [outcome for outcome in outcomes if outcome.question.expect is None]
    return _share(in_scope), _share(out_scope)


def _latency(
    matcher: Matcher, questions: Sequence[_Question], rounds: int = LATENCY_ROUNDS
) -> tuple[float, float]:
    """Return p50 and p99 in milliseconds over the questions, each the median of its runs.

    The median of a few runs per question keeps a busy machine's hiccups out of the tail;
    the garbage collector is paused while timing, as `timeit` does.
    """
    for question in questions[:20]:
        matcher(question.q)
    runs: list[list[float]] = [[] for _ in questions]
    gc.disable()
    try:
        for _ in range(rounds):
            for number, question in enumerate(questions):
                start = time.perf_counter_ns()
                matcher(question.q)
                runs[number].append((time.perf_counter_ns() - start) / 1e6)
    finally:
        gc.enable()
    samples = sorted(statistics.median(times) for times in runs)
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def _synthetic(entries: Sequence[FaqEntry], count: int, seed: int = 2014) -> list[FaqEntry]:
    """Return `entries` plus `count` made-up entries of realistic lengths, the same every run."""
    rng = random.Random(seed)
    text = " ".join(entry.answer for entry in entries).lower()
    real = sorted({word.strip("?.,!:;()\"'") for word in text.split()})
    vowels = ("a", "e", "i", "o", "u", "ai", "ou")
    syllables = [consonant + vowel for consonant in "bcdfghjklmnprstvwz" for vowel in vowels]
    made_up = sorted(
        {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(3000)} - set(real)
    )
    vocabulary = [word for word in real if word] + made_up
    rng.shuffle(vocabulary)
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]  # Zipf-like
    openers = ["what is", "how do", "can i", "why does", "who decides", "where can i", "does the"]

    def words(low: int, high: int) -> str:
        return " ".join(rng.choices(vocabulary, weights, k=rng.randint(low, high)))

    made = [
        FaqEntry(
            id=f"synthetic-{number:04d}",
            questions=[f"{rng.choice(openers)} {words(3, 9)}?" for _ in range(rng.randint(3, 6))],
            answer=f"{words(40, 110)}.",
            source="synthetic",
        )
        for number in range(count)
    ]
    return [*entries, *made]


# -- cross-validation -----------------------------------------------------------------------

# What the engine says of one question before it decides: best id, best and second score.
_Top = tuple[str | None, float, float]


def _tunings() -> Iterator[FaqTuning]:
    """Yield every combination of the weight grid, the shipped defaults first."""
    yield DEFAULT_TUNING
    names = list(WEIGHT_GRID)
    for values in itertools.product(*(WEIGHT_GRID[name] for name in names)):
        tuning = dataclasses.replace(DEFAULT_TUNING, **dict(zip(names, values, strict=True)))
        if tuning != DEFAULT_TUNING:
            yield tuning


def _weights_of(tuning: FaqTuning) -> FaqTuning:
    """Return `tuning` with the default decision, as the grid holds it."""
    return dataclasses.replace(
        tuning, threshold=DEFAULT_TUNING.threshold, margin=DEFAULT_TUNING.margin
    )


def _tops(index: FaqIndex, questions: Sequence[_Question]) -> list[_Top]:
    tops: list[_Top] = []
    for question in questions:
        ranked = index.ranked(question.q, limit=2)
        if not ranked:
            tops.append((None, 0.0, 0.0))
            continue
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        tops.append((ranked[0][0].id, ranked[0][1], second))
    return tops


def _decide(top: _Top, question: _Question, tuning: FaqTuning) -> _Outcome:
    got, best, second = top
    answered = got is not None and tuning.accepts(best, second)
    return _Outcome(question, got if answered else None, best)


def _utility(outcomes: Sequence[_Outcome]) -> int:
    """Return right answers and honest declines, less WRONG_COST for each wrong answer."""
    right = sum(outcome.right for outcome in outcomes)
    wrong = sum(1 for outcome in outcomes if outcome.got is not None and not outcome.right)
    return right - WRONG_COST * wrong


def _sweep(
    tops: Sequence[_Top], questions: Sequence[_Question], keep: Sequence[int], margin: float
) -> list[int]:
    """Return `_utility` at each of THRESHOLDS for one set of weights and `margin`."""
    utility = sum(questions[n].expect is None for n in keep)  # everything declined
    # What answering (rather than declining) each question adds, by its best score.
    gains = []
    for n in keep:
        got, best, second = tops[n]
        if got is not None and best - second >= margin:
            expect = questions[n].expect
            gains.append((best, (1 if got == expect else -WRONG_COST) - (expect is None)))
    gains.sort(reverse=True)
    utilities = []
    position = 0
    for threshold in reversed(THRESHOLDS):  # from the highest: answer more and more
        while position < len(gains) and gains[position][0] >= threshold:
            utility += gains[position][1]
            position += 1
        utilities.append(utility)
    return utilities[::-1]


def _fit(
    runs: Mapping[FaqTuning, list[_Top]], questions: Sequence[_Question], keep: Sequence[int]
) -> FaqTuning:
    """Return the weights, threshold and margin that do best on the questions in `keep`."""
    best_key: tuple[int, float] | None = None
    best = DEFAULT_TUNING
    for weights, tops in runs.items():
        for margin in MARGINS:
            utilities = _sweep(tops, questions, keep, margin)
            top = max(utilities)
            plateau = [
                threshold
                for threshold, utility in zip(THRESHOLDS, utilities, strict=True)
                if utility == top
            ]
            # The middle of the best thresholds is the safest guess for unseen questions;
            # on a tie, the wider margin and then the grid's first (the defaults) win.
            key = (top, margin)
            if best_key is None or key > best_key:
                best_key = key
                best = dataclasses.replace(
                    weights, threshold=plateau[len(plateau) // 2], margin=margin
                )
    return best


def _folds(questions: Sequence[_Question], count: int, seed: int = 7) -> list[list[int]]:
    """Split question numbers into `count` folds, in and out of scope spread evenly."""
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(count)]
    for in_scope in (True, False):
        numbers = [n for n, q in enumerate(questions) if (q.expect is not None) == in_scope]
        rng.shuffle(numbers)
        for position, number in enumerate(numbers):
            folds[position % count].append(number)
    return folds


@dataclass(frozen=True)
class _CrossValidation:
    tuned: tuple[float, float]  # in-scope top-1, out-of-scope declined: fitted on all, scored
    held_out: tuple[float, float]  # each question decided by knobs fitted without its fold
    fitted: FaqTuning  # the knobs fitted on the whole set


def _cross_validate(
    entries: Sequence[FaqEntry], synonyms: Mapping[str, str], questions: Sequence[_Question]
) -> _CrossValidation:
    """Fit the knobs on all questions, and on each four folds to score the fifth."""
    runs = {
        tuning: _tops(FaqIndex.build(entries, "en", synonyms, tuning), questions)
        for tuning in _tunings()
    }
    everything = list(range(len(questions)))

    def rates(tuning_of: Callable[[int], FaqTuning]) -> tuple[float, float]:
        return _rates(
            [
                _decide(runs[_weights_of(tuning_of(n))][n], question, tuning_of(n))
                for n, question in enumerate(questions)
            ]
        )

    fitted = _fit(runs, questions, everything)
    fold_of: dict[int, FaqTuning] = {}
    for held in _folds(questions, FOLDS):
        held_set = set(held)
        tuning = _fit(runs, questions, [n for n in everything if n not in held_set])
        fold_of.update(dict.fromkeys(held, tuning))
    return _CrossValidation(
        tuned=rates(lambda _: fitted), held_out=rates(fold_of.__getitem__), fitted=fitted
    )


# -- printing -------------------------------------------------------------------------------


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(cell) for cell in header], *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    print(title)
    for number, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))
    print()


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def main() -> None:
    """Print accuracy, decline and latency tables for the engine and the baseline."""
    pack = _load_pack()
    entries, synonyms = list(pack.faq), pack.synonyms
    questions = _load_questions()
    print(f"knowledge file: content/en/faq.yaml, {len(entries)} entries")
    print(f"evaluation set: {EVAL.relative_to(ROOT)}, {len(questions)} questions")
    print()

    threshold = _best_baseline(entries, questions)
    baseline_name = f"baseline (WRatio >= {threshold:.0f})"
    matchers = {"engine": _engine(entries, synonyms), baseline_name: _baseline(entries, threshold)}
    results = {name: _run(matcher, questions) for name, matcher in matchers.items()}

    rows = []
    for name, outcomes in results.items():
        in_scope, declined = _rates(outcomes)
        wrong = sum(1 for outcome in outcomes if outcome.got is not None and not outcome.right)
        rows.append([name, _percent(in_scope), _percent(declined), wrong])
    in_count = sum(question.expect is not None for question in questions)
    _table(
        f"accuracy ({in_count} in scope, {len(questions) - in_count} out of scope)",
        ["matcher", "in-scope top-1", "out-of-scope declined", "wrong answers given"],
        rows,
    )

    cv = _cross_validate(entries, synonyms, questions)
    print(
        f"cross-validation ({FOLDS}-fold, {sum(1 for _ in _tunings())} weight settings x "
        f"{len(THRESHOLDS)} thresholds x {len(MARGINS)} margins): "
        f"tuned on all {_percent(cv.tuned[0])} in-scope / {_percent(cv.tuned[1])} declined; "
        f"held-out {_percent(cv.held_out[0])} / {_percent(cv.held_out[1])}"
    )
    if cv.fitted != DEFAULT_TUNING:
        print("the shipped FaqTuning is not the one tuned on all: see --tune")
    if "--tune" in sys.argv:
        print(f"tuned on all: {cv.fitted}")
    print()

    kinds = sorted({question.kind for question in questions})
    _table(
        "per kind (out-of-scope: declined; others: right entry)",
        ["kind", "n", *results],
        [
            [
                kind,
                sum(question.kind == kind for question in questions),
                *[
                    _percent(_share([o for o in outcomes if o.question.kind == kind]))
                    for outcomes in results.values()
                ],
            ]
            for kind in kinds
        ],
    )

    synthetic = _synthetic(entries, SYNTHETIC_ENTRIES)
    start = time.perf_counter()
    big_engine = _engine(synthetic, synonyms)
    build_ms = (time.perf_counter() - start) * 1000
    big_in, big_declined = _rates(_run(big_engine, questions))
    latency_rows = []
    for name, matcher, kb, rounds in (
        ("engine", matchers["engine"], len(entries), LATENCY_ROUNDS),
        ("engine", big_engine, len(synthetic), LATENCY_ROUNDS),
        (baseline_name, matchers[baseline_name], len(entries), LATENCY_ROUNDS),
        (baseline_name, _baseline(synthetic, threshold), len(synthetic), 1),  # slow: one run
    ):
        p50, p99 = _latency(matcher, questions, rounds)
        latency_rows.append([name, kb, rounds, f"{p50:.3f}", f"{p99:.3f}"])
    _table(
        "latency per question, in-process (median of its runs; p50 and p99 over the set)",
        ["matcher", "entries", "runs", "p50 ms", "p99 ms"],
        latency_rows,
    )
    print(
        f"engine with {len(synthetic)} entries: built in {build_ms:.0f} ms; "
        f"in-scope top-1 {_percent(big_in)}, out-of-scope declined {_percent(big_declined)}"
    )
    print()
    _other_languages()

    wrong_rows = [
        [o.question.q[:70], o.question.expect or "-", o.got or "-", f"{o.score:.3f}"]
        for o in results["engine"]
        if not o.right
    ]
    _table(
        f"engine misses ({len(wrong_rows)})",
        ["question", "expected", "got", "score"],
        wrong_rows or [["(none)", "", "", ""]],
    )


def _other_languages() -> None:
    """Score the engine on the Spanish and Portuguese sets, with each language's own entries."""
    rows = []
    for lang in ("es", "pt"):
        questions = _load_questions(ROOT / "bench" / f"faq_eval_{lang}.yaml")
        if not questions:
            continue
        pack = _load_pack(lang)
        outcomes = _run(_engine(pack.faq, pack.synonyms, lang=lang), questions)
        in_scope, declined = _rates(outcomes)
        wrong = sum(1 for outcome in outcomes if outcome.got is not None and not outcome.right)
        in_count = sum(question.expect is not None for question in questions)
        rows.append(
            [
                lang,
                in_count,
                len(questions) - in_count,
                _percent(in_scope),
                _percent(declined),
                wrong,
            ]
        )
    if rows:
        _table(
            "other languages (engine with the shipped tuning, which was fitted on English)",
            ["lang", "in scope", "out of scope", "in-scope top-1", "declined", "wrong answers"],
            rows,
        )


if __name__ == "__main__":
    main()
