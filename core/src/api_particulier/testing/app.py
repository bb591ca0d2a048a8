"""An application for a test: settings in a temporary directory, the lifespan running, an
HTTP client over ASGI, and keys on demand."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec

from .. import admin
from ..app import ApiApp, create_app
from ..settings import CoreConfig, JournalConfig, Settings


def make_settings(
    data_dir: Path,
    *,
    enabled: Iterable[str] = (),
    plugins: Mapping[str, Mapping[str, Any]] | None = None,
    journal: Mapping[str, Any] | None = None,
    **core: Any,
) -> Settings:
    """Settings for a test: the store in ``data_dir``, only ``enabled`` plugins, a fast
    journal (flushes every 10 ms) and no demo key."""
    journal_config = msgspec.convert({"flush_interval": 0.01, **(journal or {})}, JournalConfig)
    core_config = msgspec.convert(
        {"data_dir": str(data_dir), "create_demo_key": False, **core}, CoreConfig
    )
    core_config = msgspec.structs.replace(core_config, journal=journal_config)
    return Settings(
        core=core_config,
        enabled=tuple(enabled),
        plugin_tables={name: dict(table) for name, table in (plugins or {}).items()},
        # Embedded mode: the pepper is generated in data_dir.
        source=None,
    )


@dataclass
class TestClient:
    app: ApiApp
    http: httpx.AsyncClient

    __test__ = False  # not a pytest test class

    async def key(
        self,
        scopes: Iterable[str],
        *,
        name: str | None = None,
        expires_at: float | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> str:
        """Issue a key for a new application holding ``scopes``; return the key."""
        name = name or f"app-{time.monotonic_ns()}"
        application = await admin.ensure_application(self.app.key_store, name, scopes)
        if settings:
            application = await admin.update_settings(
                self.app.key_store, application, {k: dict(v) for k, v in settings.items()}
            )
        issued = await admin.issue_key(
            self.app.key_store, self.app.pepper, application, expires_at=expires_at
        )
        return issued.secret


@asynccontextmanager
async def app_client(
    settings: Settings, *, plugins: Mapping[str, object] | None = None
) -> AsyncIterator[TestClient]:
    """Build the app from ``settings`` and exactly the ``plugins`` given (installed entry
    points are never read: a test states what it runs), run its lifespan, and give an HTTP
    client over ASGI. A plugin that cannot start raises ``StartupError``, one line, as
    ``serve`` would stop."""
    app = create_app(settings, plugins=plugins if plugins is not None else {})
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield TestClient(app=app, http=http)
