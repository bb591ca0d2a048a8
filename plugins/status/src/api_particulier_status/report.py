"""The status of every provider, as ``GET /api/status`` answers it and the page shows it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import msgspec

from .history import History, utc_day

DAY = 86400.0
DAYS_SHOWN = 90
WINDOWS = {"24h": DAY, "30d": 30 * DAY, "90d": 90 * DAY}


class DayUptime(msgspec.Struct, frozen=True):
    day: str
    # Percentage of healthy probes that day; None when it was not probed.
    uptime: float | None


class Incident(msgspec.Struct, frozen=True):
    start: str  # ISO 8601, UTC: the first failed probe
    end: str | None  # the next healthy probe; None while it lasts
    seconds: float | None  # its length, once it ended


class ProviderStatus(msgspec.Struct, frozen=True):
    name: str
    # "up", "down" (the last probe failed), or "unknown" (never probed).
    state: str
    checked_at: str | None
    # Percentage of healthy probes over the last 24 hours, 30 and 90 days (None: no probe).
    uptime: dict[str, float | None]
    days: list[DayUptime]
    incidents: list[Incident]


class Report(msgspec.Struct, frozen=True):
    generated_at: str
    interval: float
    # "up" when every provider is, "down" when one is not, "unknown" before any probe.
    state: str
    providers: list[ProviderStatus]


def iso(time: float) -> str:
    return dt.datetime.fromtimestamp(time, dt.UTC).isoformat(timespec="seconds")


def percent(total: int, healthy: int) -> float | None:
    return None if total == 0 else round(100.0 * healthy / total, 3)


async def build_report(
    history: History, providers: Sequence[str], *, now: float, interval: float
) -> Report:
    latest = await history.latest()
    windows = {name: await history.counts_since(now - span) for name, span in WINDOWS.items()}
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    first = today - dt.timedelta(days=DAYS_SHOWN - 1)
    since_first = dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC).timestamp()
    daily = await history.daily(since_first)
    incidents = await history.incidents(now - WINDOWS["90d"])
    # The enabled providers only: one disabled or renamed since keeps its history in the
    # store, but is no longer this service's to report (it would stay "down" for 90 days).
    names = sorted(providers)
    days = [(first + dt.timedelta(days=n)).isoformat() for n in range(DAYS_SHOWN)]
    statuses = [
        _provider(name, latest.get(name), windows, daily, incidents, days) for name in names
    ]
    states = {status.state for status in statuses}
    overall = "down" if "down" in states else "unknown" if states <= {"unknown"} else "up"
    return Report(generated_at=iso(now), interval=interval, state=overall, providers=statuses)


def _provider(
    name: str,
    last: tuple[float, bool] | None,
    windows: Mapping[str, Mapping[str, tuple[int, int]]],
    daily: Mapping[tuple[str, str], tuple[int, int]],
    incidents: Sequence[tuple[str, float, float | None]],
    days: Sequence[str],
) -> ProviderStatus:
    return ProviderStatus(
        name=name,
        state="unknown" if last is None else "up" if last[1] else "down",
        checked_at=None if last is None else iso(last[0]),
        uptime={window: percent(*counts.get(name, (0, 0))) for window, counts in windows.items()},
        days=[DayUptime(day, percent(*daily.get((name, day), (0, 0)))) for day in days],
        incidents=[
            Incident(
                start=iso(started),
                end=None if ended is None else iso(ended),
                seconds=None if ended is None else round(ended - started, 3),
            )
            for provider, started, ended in incidents
            if provider == name
        ],
    )


__all__ = ["Report", "build_report", "utc_day"]
