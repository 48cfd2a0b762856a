"""Charts as PNG bytes: weekly stories per trend, for /trends and on top of the digest.

matplotlib draws off-screen (the Agg canvas, no display, no pyplot state), so it is safe in
a worker thread. Labels are trend numbers, keys and dates only: a server may have no CJK
font, and words would render as boxes; the message around the chart carries the names.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: never look for a display

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from trends.delivery.periods import WEEK
from trends.models import Digest, Trend

__all__ = ["digest_chart", "trends_chart"]

Series = tuple[str, Sequence[int]]  # label, stories per week (oldest first)

_COLUMNS = 5
_BAR_COLOUR = "#3b6ea8"
_THIS_WEEK_COLOUR = "#e07b39"


def trends_chart(
    trends: Sequence[Trend], weekly: Mapping[int, Sequence[int]], week_starts: Sequence[datetime]
) -> bytes:
    """Small multiples: one bar chart per trend of its stories in each week."""
    weeks = len(week_starts)
    series = [(_label(trend), weekly.get(trend.number) or [0] * weeks) for trend in trends]
    return _draw(series, week_starts)


@lru_cache(maxsize=16)
def digest_chart(digest: Digest) -> bytes:
    """The digest's trends, week by week up to the digest's end (cached: one draw per digest).

    Sections built without weekly counts chart last week against this week.
    """
    weeks = max((len(section.weekly) for section in digest.sections), default=0) or 2
    series = []
    for section in digest.sections:
        counts = section.weekly or (section.previous_count, section.count)
        series.append((_label(section.trend), (0,) * (weeks - len(counts)) + tuple(counts)))
    starts = [digest.until - WEEK * (weeks - index) for index in range(weeks)]
    return _draw(series, starts)


def _label(trend: Trend) -> str:
    return f"{trend.number} {trend.key}"


def _draw(series: Sequence[Series], week_starts: Sequence[datetime]) -> bytes:
    rows = max(1, -(-len(series) // _COLUMNS))
    columns = min(_COLUMNS, max(1, len(series)))
    figure = Figure(figsize=(2.4 * columns, 2.1 * rows + 0.3), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    top = max((max(counts, default=0) for _, counts in series), default=0)
    positions = list(range(len(week_starts)))
    ticks = [positions[0], positions[-1]] if positions else []
    tick_labels = [week_starts[i].strftime("%m-%d") for i in ticks]
    for index, ax in enumerate(axes.flat):
        if index >= len(series):
            ax.set_visible(False)
            continue
        label, counts = series[index]
        colours = [_BAR_COLOUR] * (len(counts) - 1) + [_THIS_WEEK_COLOUR]
        ax.bar(positions[: len(counts)], counts, color=colours, width=0.8)
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_ylim(0, max(top, 1) * 1.1)
        ax.set_xticks(ticks, tick_labels, fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
