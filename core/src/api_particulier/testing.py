"""A test kit for plugin authors: settings in a temporary directory, an application with
its lifespan running, an HTTP client over ASGI, keys on demand, and a hook recorder.

Use it from a test module::

    from api_particulier.testing import app_client, make_settings

    async def test_my_provider(tmp_path):
        settings = make_settings(tmp_path, enabled=["mine"])
        async with app_client(settings, plugins={"mine": MyPlugin()}) as client:
            key = await client.key(["mine_scope"])
            response = await client.http.get("/api/mine", headers={"X-Api-Key": key})
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

from . import admin, hookimpl
from .app import ApiApp, create_app
from .settings import CoreConfig, JournalConfig, Settings
from .types import Call, CallRecord, Denial, Principal

TEST_PEPPER_ENV = "API_PARTICULIER_TEST_PEPPER"


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
            await self.app.key_store.update_application_settings(application.id, dict(settings))
        issued = await admin.issue_key(
            self.app.key_store, self.app.pepper, application, expires_at=expires_at
        )
        return issued.secret


@asynccontextmanager
async def app_client(
    settings: Settings, *, plugins: Mapping[str, object] | None = None
) -> AsyncIterator[TestClient]:
    """Build the app from ``settings`` and ``plugins`` (never from installed entry points
    unless ``plugins`` is None), run its lifespan, and give an HTTP client over ASGI."""
    app = create_app(settings, plugins=plugins if plugins is not None else {})
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield TestClient(app=app, http=http)


@dataclass
class HookRecorder:
    """A plugin that records every request-phase call it sees, in order."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    records: list[CallRecord] = field(default_factory=list)

    @hookimpl(trylast=True)
    def authenticate(self, call: Call) -> Principal | Denial | None:
        self.calls.append(("authenticate", call.route_path))
        return None

    @hookimpl(trylast=True)
    def check_consent(self, call: Call) -> Denial | None:
        self.calls.append(("check_consent", call.route_path))
        return None

    @hookimpl(trylast=True)
    def check_rate_limit(self, call: Call) -> Denial | None:
        self.calls.append(("check_rate_limit", call.route_path))
        return None

    @hookimpl
    def record_call(self, record: CallRecord) -> None:
        self.calls.append(("record_call", record.route))
        self.records.append(record)


@dataclass
class FakeClock:
    """A clock tests move by hand: ``clock()`` reads it, ``clock.advance(s)`` moves it."""

    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
