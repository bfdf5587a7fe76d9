"""The /stats picture: new opt-ins per day and the funnel, drawn with matplotlib as a PNG.

matplotlib takes a second or more to import, so it is imported by the first drawing, not when
the bot starts. Drawing uses the Agg canvas and a `Figure` of its own (no pyplot and its
global state), so it needs no display and may run in a worker thread.
"""

from __future__ import annotations

import io

from flows.admin import Chart

__all__ = ["draw_chart"]

_SIZE = (8.0, 8.0)  # inches, at _DPI: an 800 × 800 picture, readable on a phone
_DPI = 100
_DAYS_COLOR = "#2b6cb0"
_FUNNEL_COLOR = "#2f855a"
_HEADROOM = 1.18  # room above the tallest bar for its number
_DAY_TICKS = 6  # at most this many day labels under the bars, the last day always


def draw_chart(chart: Chart) -> bytes:
    """Draw new opt-ins per day (bars) above the funnel (bars), titled; return PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(_text(chart.title), fontsize=15, fontweight="bold")
    days, funnel = figure.subplots(2, 1)

    counts = [count for _, count in chart.days]
    days.bar(range(len(counts)), counts, color=_DAYS_COLOR, width=0.8)
    days.set_title(_text(chart.days_title), loc="left")
    days.set_ylabel(_text(chart.people))
    ticks = _ticks(len(counts))
    days.set_xticks(ticks, [_text(chart.days[i][0]) for i in ticks])
    days.set_xlim(-0.6, max(len(counts), 1) - 0.4)
    days.set_ylim(0, max([*counts, 1]) * _HEADROOM)
    days.yaxis.set_major_locator(MaxNLocator(integer=True))
    days.spines[["top", "right"]].set_visible(False)

    steps = [count for _, count in chart.funnel]
    bars = funnel.barh(range(len(steps)), steps, color=_FUNNEL_COLOR, height=0.7)
    funnel.set_yticks(range(len(steps)), [_text(name) for name, _ in chart.funnel])
    funnel.invert_yaxis()  # the first step on top
    funnel.bar_label(bars, padding=4)
    funnel.set_title(_text(chart.funnel_title), loc="left")
    funnel.set_xlabel(_text(chart.people))
    funnel.set_xlim(0, max([*steps, 1]) * _HEADROOM)
    funnel.xaxis.set_major_locator(MaxNLocator(integer=True))
    funnel.spines[["top", "right"]].set_visible(False)

    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _ticks(days: int) -> list[int]:
    """Pick evenly spaced day positions to label, ending on the last day."""
    if days <= 0:
        return []
    step = max(1, -(-days // _DAY_TICKS))
    return sorted({*range(days - 1, -1, -step)})


def _text(text: str) -> str:
    """Keep a label literal: a `$` would start matplotlib's math notation."""
    return text.replace("$", r"\$")
