"""A bar chart of calls per day, as geometry the page template draws in inline SVG.

Drawn on the server: the page needs no script, and the chart is readable without colour —
its axes carry numbers and dates, each bar its own title, and the same figures are in a
table below it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WIDTH = 720
HEIGHT = 240
LEFT = 56  # room for the values of the vertical axis
RIGHT = 8
TOP = 12
BOTTOM = 40  # room for the dates
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # "12 décembre 2026 : 3 appels"


@dataclass(frozen=True)
class Tick:
    position: float
    text: str
    anchor: str = "end"  # SVG text-anchor: the first date starts at its bar, the last ends


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    bottom: float  # y of the horizontal axis
    right: float  # x of the plot's right edge
    bars: tuple[Bar, ...]
    values: tuple[Tick, ...]  # along the vertical axis (y positions)
    dates: tuple[Tick, ...]  # along the horizontal axis (x positions, centre of a bar)


MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def french_number(value: int) -> str:
    """12345 → "12 345" (a narrow no-break space between thousands, as French writes it)."""
    return f"{value:,}".replace(",", "\u202f")


def french_date(day: str, *, year: bool = True) -> str:
    date = dt.date.fromisoformat(day)
    text = f"{date.day} {MONTHS[date.month - 1]}"
    return f"{text} {date.year}" if year else text


def calls_text(value: int) -> str:
    return f"{french_number(value)} appel" + ("s" if value > 1 else "")


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at least ``value`` (an axis' top)."""
    if value <= 1:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def bar_chart(days: list[tuple[str, int]]) -> Chart:
    """The chart of ``(day, calls)`` in order."""
    top_value = nice_ceiling(max((calls for _, calls in days), default=0))
    slot = PLOT_WIDTH / max(len(days), 1)
    gap = min(2.0, slot * 0.2)
    bars = []
    for index, (day, calls) in enumerate(days):
        height = PLOT_HEIGHT * calls / top_value
        bars.append(
            Bar(
                x=round(LEFT + index * slot + gap / 2, 2),
                y=round(TOP + PLOT_HEIGHT - height, 2),
                width=round(slot - gap, 2),
                height=round(height, 2),
                label=f"{french_date(day)} : {calls_text(calls)}",
            )
        )
    values = tuple(
        Tick(position=round(TOP + PLOT_HEIGHT * (1 - share), 2), text=french_number(value))
        for share, value in ((0.0, 0), (0.5, top_value // 2), (1.0, top_value))
        if share != 0.5 or top_value % 2 == 0
    )
    marked = sorted({0, len(days) // 2, len(days) - 1}) if days else []
    anchors = ["middle"] if len(marked) == 1 else ["start", *["middle"] * (len(marked) - 2), "end"]
    dates = tuple(
        Tick(
            position=_date_position(index, slot, anchor),
            text=french_date(days[index][0], year=False),
            anchor=anchor,
        )
        for index, anchor in zip(marked, anchors, strict=True)
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        bottom=TOP + PLOT_HEIGHT,
        right=LEFT + PLOT_WIDTH,
        bars=tuple(bars),
        values=values,
        dates=dates,
    )


def _date_position(index: int, slot: float, anchor: str) -> float:
    """Where a date under bar ``index`` is written: the first from its bar's left edge, the
    last up to its bar's right edge (so neither leaves the picture), others centred."""
    offset = {"start": 0.0, "middle": slot / 2, "end": slot}[anchor]
    return round(LEFT + index * slot + offset, 2)
