"""``GET /api/status`` and the page ``/status``: each provider's health, probed on a
schedule, with 90 days of history.

Every process runs the prober; each round, the one holding the lease in the store probes
(so a deployment of several workers and hosts probes once per interval), and the others
wait. Probes call each provider's health check (``Provider.health``), what its health
route answers, without that route's 60-second cache.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api_particulier import (
    Pages,
    PluginContext,
    StoreUnavailable,
    WebRoute,
    hookimpl,
    json_response,
)
from starlette.requests import Request
from starlette.responses import Response

from .config import StatusConfig
from .history import History
from .openapi import document_status
from .page import page_context
from .prober import Probe, Prober
from .report import Report, build_report

pages = Pages(Path(__file__).parent / "templates")


class StatusPlugin:
    def __init__(self, clock: Callable[[], float] = time.time, *, run: bool = True) -> None:
        self._clock = clock
        # False: no background rounds (a test drives them with probe_round()).
        self._run = run
        self.config = StatusConfig()
        self.prober: Prober | None = None
        self._history: History | None = None
        self._providers: tuple[str, ...] = ()
        # What the page calls each provider: its own label, or the deployer's.
        self._labels: dict[str, str] = {}
        self._kept: tuple[Report, float] | None = None

    @hookimpl
    def config_schema(self) -> type[StatusConfig]:
        return StatusConfig

    @hookimpl
    def store_migrations(self) -> Path:
        return Path(__file__).parent / "migrations"

    @hookimpl
    def register_routes(self, register: Callable[[WebRoute], None], config: StatusConfig) -> None:
        self.config = config
        register(WebRoute(path="/api/status", endpoint=self.status_endpoint))
        register(WebRoute(path="/status", endpoint=self.page, menu_label="État du service"))

    @hookimpl
    def amend_openapi(self, document: dict[str, Any]) -> None:
        document_status(document)

    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        config: StatusConfig = context.config
        self._history = History(context.database)
        probes = [
            Probe(provider.name, provider.health)
            for provider in context.providers
            if provider.name is not None and provider.health is not None
        ]
        self._providers = tuple(probe.provider for probe in probes)
        self._labels = {
            **{p.name: p.display_name for p in context.providers if p.name is not None},
            **config.labels,
        }
        self._kept = None
        self.prober = Prober(
            self._history,
            probes,
            interval=config.interval,
            timeout=config.timeout,
            retention_days=config.retention_days,
            clock=self._clock,
            log=context.log,
        )
        if self._run:
            context.background(self.prober.run_forever)

    @hookimpl
    async def shutdown(self, context: PluginContext) -> None:
        if self.prober is not None:
            # Another process may take over at once (the store may be gone: then it waits).
            with contextlib.suppress(StoreUnavailable):
                await self.prober.stop()

    async def probe_round(self) -> bool:
        """One round now (the background task runs one every ``interval``)."""
        assert self.prober is not None
        self._kept = None
        return await self.prober.round()

    async def report(self) -> Report:
        """The report, computed at most once per 10 seconds per process."""
        kept = self._kept
        if kept is not None and kept[1] > time.monotonic():
            return kept[0]
        assert self._history is not None
        report = await build_report(
            self._history, self._providers, now=self._clock(), interval=self.config.interval
        )
        self._kept = (report, time.monotonic() + min(10.0, self.config.interval))
        return report

    async def status_endpoint(self, request: Request) -> Response:
        # A store outage (StoreUnavailable) answers the core's 503 service_unavailable.
        report = await self.report()
        return json_response(report, headers={"cache-control": "public, max-age=10"})

    async def page(self, request: Request) -> Response:
        report = await self.report()
        return pages.render(request, "status.html", page_context(report, self._labels))
