"""What a plugin may use at run time: its :class:`PluginContext`.

``startup`` and ``shutdown`` receive one, made for the plugin: its own typed configuration,
the stores, the shared Redis client, background tasks, upstream clients the core closes for
it, and a logger that names it. It is the whole of what the core lends a plugin; the
application object itself is never handed out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio.abc
import structlog

from .faults import Faults
from .upstream import Upstream

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .credentials import Credentials
    from .journal import Journal
    from .store import JournalStore, KeyStore, StoreDatabase
    from .types import Provider


class PluginContext(Protocol):
    """The run-time services the core lends one plugin (``startup(context)``)."""

    @property
    def name(self) -> str:
        """The plugin's name: its entry-point name, table name and ``plugin=`` log field."""

    @property
    def config(self) -> Any:
        """The plugin's converted ``[plugins.<name>]`` table (the Struct of its
        ``config_schema``), or None when it declares none."""

    @property
    def data_dir(self) -> Path:
        """The deployment's data directory (embedded files, SQLite stores)."""

    @property
    def workers(self) -> int:
        """How many worker processes serve on this host (per-process policies divide by it)."""

    @property
    def embedded(self) -> bool:
        """Whether the service runs on its embedded defaults (no configuration file): a
        plugin may then generate its secrets in ``data_dir`` and run sandboxes, as the core
        does with its pepper."""

    @property
    def key_store(self) -> KeyStore:
        """Applications and keys (read them; the command line changes them)."""

    @property
    def journal_store(self) -> JournalStore:
        """The journal of calls (read it for statistics; the core writes it)."""

    @property
    def database(self) -> StoreDatabase:
        """The plugin's own tables in the deployment's store (see ``store_migrations``)."""

    @property
    def credentials(self) -> Credentials:
        """Save applications, issue keys, revoke them at once (an access-request workflow)."""

    @property
    def redis(self) -> Redis | None:
        """The deployment's shared Redis client (``[core.redis]``), or None without one."""

    @property
    def log(self) -> structlog.typing.FilteringBoundLogger:
        """A logger whose lines carry ``plugin=<name>``."""

    @property
    def providers(self) -> tuple[Provider, ...]:
        """Every provider the service serves (all plugins'): their routes, scopes, scope
        labels and health checks, for a plugin that lists or watches them."""

    @property
    def faults(self) -> Faults:
        """This process's count of store and Redis faults: report one with
        ``context.faults.report("redis")`` where a fault is caught and the service carries
        on; an observer reads ``context.faults.totals()``."""

    @property
    def journal_uncommitted(self) -> int:
        """Journal rows this process has taken and not yet committed to the store."""

    @property
    def journal_lag(self) -> float:
        """Seconds the oldest of those rows has waited (0 when none waits)."""

    def background(self, task: Callable[[], Awaitable[None]]) -> None:
        """Run ``task()`` in the background while the service runs; it is cancelled after
        every ``shutdown`` ran. An exception it raises is logged, never propagated."""

    async def open_upstream(self, name: str, **options: Any) -> Upstream:
        """An open :class:`~api_particulier.Upstream` (``options`` as its constructor's),
        closed by the core after this plugin's ``shutdown``."""


@dataclass
class RunningContext:
    """The core's :class:`PluginContext`, one per plugin of a running application."""

    name: str
    config: Any
    data_dir: Path
    workers: int
    key_store: KeyStore
    journal_store: JournalStore
    redis: Redis | None
    database: StoreDatabase
    credentials: Credentials
    providers: tuple[Provider, ...] = ()
    faults: Faults = field(default_factory=Faults)
    journal: Journal | None = None
    embedded: bool = False
    task_group: anyio.abc.TaskGroup | None = None
    upstreams: list[Upstream] = field(default_factory=list)

    @property
    def journal_uncommitted(self) -> int:
        return 0 if self.journal is None else self.journal.uncommitted

    @property
    def journal_lag(self) -> float:
        return 0.0 if self.journal is None else self.journal.lag()

    @property
    def log(self) -> structlog.typing.FilteringBoundLogger:
        logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(
            f"api_particulier.plugins.{self.name}"
        ).bind(plugin=self.name)
        return logger

    def background(self, task: Callable[[], Awaitable[None]]) -> None:
        if self.task_group is None:
            raise RuntimeError("background tasks start in startup, once the service runs")
        self.task_group.start_soon(self._contained, task)

    async def _contained(self, task: Callable[[], Awaitable[None]]) -> None:
        try:
            await task()
        except Exception as exc:
            self.log.error("background_task_failed", exc_info=exc)

    async def open_upstream(self, name: str, **options: Any) -> Upstream:
        upstream = Upstream(name, **options)
        await upstream.open()
        self.upstreams.append(upstream)
        return upstream

    async def close_upstreams(self) -> None:
        upstreams, self.upstreams = self.upstreams, []
        for upstream in upstreams:
            await upstream.close()
