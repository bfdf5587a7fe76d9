"""Measure the FAQ matcher against a plain fuzzy baseline: accuracy, honesty and speed.

Run with `python -m bench.faq` (or `make bench`). Reads the knowledge file from
content/ and the evaluation questions from bench/faq_eval.yaml; prints plain tables.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process, utils

from flows.content import FaqEntry, LanguagePack, load_content
from flows.faq import FaqIndex

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
EVAL = ROOT / "bench" / "faq_eval.yaml"
SYNTHETIC_ENTRIES = 2000
LATENCY_ROUNDS = 5

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


def _load_pack() -> LanguagePack:
    return load_content(CONTENT).pack("en")


def _load_questions() -> list[_Question]:
    if not EVAL.is_file():
        return []
    data = yaml.safe_load(EVAL.read_text(encoding="utf-8")) or {}
    return [
        _Question(q=str(item["q"]), expect=item.get("expect"), kind=str(item.get("kind", "")))
        for item in data.get("questions", [])
    ]


# -- the two matchers ----------------------------------------------------------------------


def _engine(entries: Sequence[FaqEntry], synonyms: Mapping[str, str]) -> Matcher:
    index = FaqIndex.build(entries, "en", synonyms)

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


if __name__ == "__main__":
    main()
