"""Time the /stats chart: matplotlib's first import, then the drawing itself.

Run with `python -m bench.chart` (or `make bench`). The chart is drawn from a busy campaign's
numbers (30 days of opt-ins, a funnel in the hundreds of thousands) in each offered language,
a few times each, as the bot draws it for /stats: `AdminView.chart`, then `draw_chart` to PNG.
The first drawing in a process also imports matplotlib; it is shown apart.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from bot.chart import draw_chart
from flows.admin import CHART_DAYS, AdminView, Stats
from flows.models import Funnel
from storage.content import load_content

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 28)
RUNS = 5  # per language
TARGET_S = 1.0
FUNNEL = (400_000, 240_000, 160_000, 100_000, 100_000)


def _stats() -> Stats:
    rng = random.Random(3)
    per_day = tuple(
        (TODAY - timedelta(days=CHART_DAYS - 1 - n), rng.choice((0, 0, 3, 40, 250, 900)))
        for n in range(CHART_DAYS)
    )
    return Stats(
        statuses={},
        new_7=0,
        new_30=sum(count for _, count in per_day),
        funnel_all=dict(zip(Funnel, FUNNEL, strict=True)),
        funnel_7={},
        questions_all={},
        questions_7={},
        new_per_day=per_day,
    )


def main() -> None:
    """Draw the chart several times in each language and print the timings."""
    content = load_content(ROOT / "content")
    stats = _stats()
    view = AdminView(content, content.campaign.default_language)
    start = time.perf_counter()
    size = len(draw_chart(view.chart(stats, TODAY)))
    first = time.perf_counter() - start
    times = []
    for lang in content.languages:
        chart = AdminView(content, lang).chart(stats, TODAY)
        for _ in range(RUNS):
            start = time.perf_counter()
            draw_chart(chart)
            times.append(time.perf_counter() - start)
    median, worst = statistics.median(times), max(times)
    ok = "ok" if median < TARGET_S else "SLOW"
    print(f"/stats chart: 800 × 800 PNG, about {size / 1024:.0f} KiB, {len(times)} drawings")
    print(f"{'what':<36}{'median s':>10}{'worst s':>10}  target (median)")
    print(f"{'first drawing (imports matplotlib)':<36}{first:>10.2f}{first:>10.2f}")
    print(f"{'drawing':<36}{median:>10.2f}{worst:>10.2f}  < {TARGET_S:.0f} s {ok}")


if __name__ == "__main__":
    main()
