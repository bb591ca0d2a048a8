"""``GET /metrics``: the service's figures in Prometheus's text format.

Every worker counts its calls in memory (``record_call``) and writes its totals to its
files in a shared directory every ``flush_interval`` seconds; the worker that is scraped
adds up every worker's files, so ``serve --workers N`` reports each worker once.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import anyio
from api_particulier import Call, CallRecord, ConfigError, PluginContext, WebRoute, hookimpl
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from .access import Access, networks
from .config import MetricsConfig
from .figures import Figures
from .files import WorkerFiles

PATH = "/metrics"
_ENVIRONMENT_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


class MetricsPlugin:
    def __init__(self) -> None:
        self.figures = Figures()
        self.config = MetricsConfig()
        self._files: WorkerFiles | None = None
        self._registry: CollectorRegistry | None = None
        self._access = Access(None, ())
        self._refresh: Callable[[], None] = lambda: None

    @hookimpl
    def config_schema(self) -> type[MetricsConfig]:
        return MetricsConfig

    @hookimpl
    def register_routes(self, register: Callable[[WebRoute], None], config: MetricsConfig) -> None:
        self.config = config
        # Checked at boot: a typo in a network is a configuration error.
        allowed = networks(config.allow_from)
        self._access = Access(None, allowed)
        register(WebRoute(path=PATH, endpoint=self.metrics))

    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        config: MetricsConfig = context.config
        token = config.token.reveal() if config.token is not None else None
        if token is not None and not token.strip():
            # An empty variable would let any "Bearer" through.
            raise ConfigError(["[plugins.metrics] token: the secret it names is empty"])
        self._access = Access(token, networks(config.allow_from))
        directory = Path(
            config.directory
            or os.environ.get(_ENVIRONMENT_DIRECTORY)
            or context.data_dir / "metrics"
        )
        files = WorkerFiles(directory)
        files.prepare()
        self._files = files
        registry = CollectorRegistry(auto_describe=True)
        MultiProcessCollector(registry, path=str(directory))
        registry.register(BuildInfo())
        self._registry = registry

        figures = self.figures

        def refresh() -> None:
            for dependency, total in context.faults.totals().items():
                figures.faults.set_total((dependency,), total)
            figures.journal_uncommitted.set((), context.journal_uncommitted)
            figures.journal_lag.set((), round(context.journal_lag, 3))

        self._refresh = refresh
        context.background(self._flush_forever)

    @hookimpl
    async def shutdown(self, context: PluginContext) -> None:
        if self._files is not None:
            self.flush()
            self._files.close()
            self._files = None

    @hookimpl
    def record_call(self, record: CallRecord, call: Call) -> None:
        self.figures.record(record, call)

    def flush(self) -> None:
        """Write this worker's current figures to its files."""
        if self._files is not None:
            self._refresh()
            self._files.write(self.figures.families())

    async def _flush_forever(self) -> None:
        while True:
            await anyio.sleep(self.config.flush_interval)
            self.flush()

    async def metrics(self, request: Request) -> Response:
        refusal = self._access.refusal(request)
        if refusal is not None:
            return refusal
        registry = self._registry
        if registry is None:
            return Response(status_code=503)
        self.flush()
        # Reading every worker's files is the one costly step: off the event loop, so that
        # a scrape under load does not hold requests back.
        body = await anyio.to_thread.run_sync(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


class BuildInfo(Collector):
    """``api_particulier_build_info``: the running version, from the scraped process."""

    def __init__(self) -> None:
        try:
            self.version = version("api-particulier-core")
        except PackageNotFoundError:
            self.version = "unknown"

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "api_particulier_build_info",
            "The version of the service and of Python it runs on (always 1).",
            labels=["version", "python"],
        )
        family.add_metric([self.version, platform.python_version()], 1.0)
        yield family
