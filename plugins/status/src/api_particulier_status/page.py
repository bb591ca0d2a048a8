"""What the page ``/status`` shows, from a :class:`~.report.Report`: French texts, and the
geometry of the 90 daily bars drawn as inline SVG by the template."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .report import Report

try:
    PARIS: dt.tzinfo = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # a system without time zone data
    PARIS = dt.UTC

BAR_WIDTH = 6
BAR_GAP = 2
BAR_HEIGHT = 36
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
STATES = {
    "up": ("Opérationnel", "fr-badge--success"),
    "down": ("Indisponible", "fr-badge--error"),
    "unknown": ("Pas encore mesuré", "fr-badge--info"),
}
HEADLINES = {
    "up": "Tous les services fonctionnent normalement.",
    "down": "Un service au moins est indisponible en ce moment.",
    "unknown": "L'état des services n'a pas encore été mesuré.",
}


def french_percent(value: float | None) -> str:
    if value is None:
        return "pas de mesure"
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "\u202f%"


def french_day(day: str) -> str:
    date = dt.date.fromisoformat(day)
    return f"{date.day} {MONTHS[date.month - 1]} {date.year}"


def french_moment(iso: str) -> str:
    moment = dt.datetime.fromisoformat(iso).astimezone(PARIS)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year} à {moment:%H:%M}"


def french_duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} j"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    return " ".join(parts)


def bar_colour(uptime: float | None) -> str:
    """DSFR's colours; the bar's height and its title say the same without colour."""
    if uptime is None:
        return "#929292"  # grey: not measured
    if uptime >= 99.9:
        return "#18753c"  # green
    if uptime >= 95:
        return "#b34000"  # orange
    return "#ce0500"  # red


def page_context(report: Report, labels: Mapping[str, str]) -> dict[str, Any]:
    providers = []
    for status in report.providers:
        state_text, badge = STATES[status.state]
        bars = []
        for index, day in enumerate(status.days):
            measured = day.uptime is not None
            height = BAR_HEIGHT * max(day.uptime or 0, 8) / 100 if measured else BAR_HEIGHT / 4
            bars.append(
                {
                    "x": index * (BAR_WIDTH + BAR_GAP),
                    "y": round(BAR_HEIGHT - height, 2),
                    "height": round(height, 2),
                    "colour": bar_colour(day.uptime),
                    "title": f"{french_day(day.day)} : {french_percent(day.uptime)}",
                }
            )
        providers.append(
            {
                "name": status.name,
                "label": labels.get(status.name, status.name),
                "state": state_text,
                "badge": badge,
                "checked_at": french_moment(status.checked_at) if status.checked_at else None,
                "uptime": [
                    ("24 dernières heures", french_percent(status.uptime["24h"])),
                    ("30 derniers jours", french_percent(status.uptime["30d"])),
                    ("90 derniers jours", french_percent(status.uptime["90d"])),
                ],
                "bars": bars,
                "first_day": french_day(status.days[0].day),
                "last_day": french_day(status.days[-1].day),
                "incidents": [
                    {
                        "start": french_moment(incident.start),
                        "end": french_moment(incident.end) if incident.end else None,
                        "duration": french_duration(incident.seconds)
                        if incident.seconds is not None
                        else None,
                    }
                    for incident in status.incidents
                ],
            }
        )
    return {
        "headline": HEADLINES[report.state],
        "state": report.state,
        "providers": providers,
        "width": len(report.providers[0].days) * (BAR_WIDTH + BAR_GAP) if providers else 0,
        "bar_width": BAR_WIDTH,
        "bar_height": BAR_HEIGHT,
        "interval": round(report.interval),
    }
