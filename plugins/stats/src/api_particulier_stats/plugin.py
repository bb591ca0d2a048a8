"""Public statistics: ``GET /api/stats/daily?days=30`` and the page ``/stats``.

Both read the journal's daily aggregate (``JournalStore.daily_successful_data_calls``):
successful data calls per UTC day and provider. ``GET /api/stats`` (the core's 30-day
counter) is left as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api_particulier import (
    Denial,
    JournalStore,
    Pages,
    PluginContext,
    WebRoute,
    denial_response,
    hookimpl,
    json_response,
)
from starlette.requests import Request
from starlette.responses import Response

from .chart import bar_chart, calls_text, french_date, french_number
from .config import StatsConfig
from .daily import Daily, daily, first_day, since_timestamp
from .openapi import document_daily

PAGE_DAYS = 30
pages = Pages(Path(__file__).parent / "templates")


class StatsPlugin:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.config = StatsConfig()
        self._journal: JournalStore | None = None
        self._providers: tuple[str, ...] = ()
        # What the page calls each provider: its own label, or the deployer's.
        self._labels: dict[str, str] = {}
        # days → (answer, good until on the monotonic clock)
        self._cache: dict[int, tuple[Daily, float]] = {}

    @hookimpl
    def config_schema(self) -> type[StatsConfig]:
        return StatsConfig

    @hookimpl
    def register_routes(self, register: Callable[[WebRoute], None], config: StatsConfig) -> None:
        self.config = config
        register(WebRoute(path="/api/stats/daily", endpoint=self.daily_endpoint))
        register(WebRoute(path="/stats", endpoint=self.page, menu_label="Statistiques"))

    @hookimpl
    def amend_openapi(self, document: dict[str, Any]) -> None:
        document_daily(document, self.config.max_days)

    @hookimpl
    def startup(self, context: PluginContext) -> None:
        self._journal = context.journal_store
        self._providers = tuple(p.name for p in context.providers if p.name is not None)
        self._labels = {
            **{p.name: p.display_name for p in context.providers if p.name is not None},
            **self.config.labels,
        }
        self._cache.clear()

    async def figures(self, days: int) -> Daily:
        """The period of ``days`` days ending today (UTC), from the journal (or kept for
        ``cache_ttl`` seconds)."""
        kept = self._cache.get(days)
        if kept is not None and kept[1] > time.monotonic():
            return kept[0]
        assert self._journal is not None
        start = first_day(self._clock(), days)
        counts = await self._journal.daily_successful_data_calls(since_timestamp(start))
        answer = daily(counts, start=start, days=days, providers=self._providers)
        if len(self._cache) > self.config.max_days:
            self._cache.clear()
        self._cache[days] = (answer, time.monotonic() + self.config.cache_ttl)
        return answer

    async def daily_endpoint(self, request: Request) -> Response:
        days = _days(request.query_params.get("days"), self.config.max_days)
        if days is None:
            return denial_response(
                Denial(
                    status=400,
                    error="bad_request",
                    reason="Invalid parameters: days",
                    message=f"Le nombre de jours doit être un entier de 1 à {self.config.max_days}",
                )
            )
        # A store outage (StoreUnavailable) answers the core's 503 service_unavailable.
        answer = await self.figures(days)
        return json_response(
            answer, headers={"cache-control": f"public, max-age={int(self.config.cache_ttl)}"}
        )

    async def page(self, request: Request) -> Response:
        figures = await self.figures(PAGE_DAYS)
        providers = [
            {
                "name": name,
                "label": self._labels.get(name, name),
                "total": french_number(figures.totals[name]),
                "chart": bar_chart([(day.day, day.calls[name]) for day in figures.daily]),
            }
            for name in figures.providers
        ]
        rows = [
            {
                "day": french_date(day.day),
                "calls": [french_number(day.calls[name]) for name in figures.providers],
                "total": french_number(day.total),
            }
            for day in reversed(figures.daily)
        ]
        return pages.render(
            request,
            "stats.html",
            {
                "total": french_number(figures.total),
                "total_text": calls_text(figures.total),
                "days": PAGE_DAYS,
                "since": french_date(figures.since),
                "until": french_date(figures.until),
                "providers": providers,
                "rows": rows,
            },
        )


def _days(raw: str | None, most: int) -> int | None:
    if raw is None:
        return min(PAGE_DAYS, most)
    # ASCII digits only: str.isdigit() admits "²" and other digits int() refuses or reads.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 5:
        return None
    days = int(raw)
    return days if 1 <= days <= most else None
