"""Successful data calls per UTC day and provider, every day of the period present."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import msgspec


class Count(Protocol):
    """A row of ``JournalStore.daily_successful_data_calls``."""

    @property
    def day(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def calls(self) -> int: ...


class Day(msgspec.Struct, frozen=True):
    day: str
    total: int
    calls: dict[str, int]


class Daily(msgspec.Struct, frozen=True):
    """The answer of ``GET /api/stats/daily``."""

    days: int
    since: str
    until: str
    total: int
    providers: list[str]
    totals: dict[str, int]
    daily: list[Day]


def first_day(now: float, days: int) -> dt.date:
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return today - dt.timedelta(days=days - 1)


def since_timestamp(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def daily(counts: Sequence[Count], *, start: dt.date, days: int, providers: Sequence[str]) -> Daily:
    """The period from ``start``, ``days`` long, each day listed with each provider (the
    ones given, and any other the journal names), zeros included."""
    names = sorted({*providers, *(count.provider for count in counts)})
    by_day: dict[str, dict[str, int]] = {}
    for count in counts:
        by_day.setdefault(count.day, {})[count.provider] = count.calls
    listed: list[Day] = []
    totals = dict.fromkeys(names, 0)
    for offset in range(days):
        day = (start + dt.timedelta(days=offset)).isoformat()
        found = by_day.get(day, {})
        calls = {name: found.get(name, 0) for name in names}
        for name, number in calls.items():
            totals[name] += number
        listed.append(Day(day=day, total=sum(calls.values()), calls=calls))
    return Daily(
        days=days,
        since=listed[0].day,
        until=listed[-1].day,
        total=sum(totals.values()),
        providers=names,
        totals=totals,
        daily=listed,
    )
