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
    client over ASGI."""
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


def _leaves(
    tree: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], str]]:
    found: list[tuple[tuple[str, ...], str]] = []
    for key, node in tree.items():
        if isinstance(node, Mapping):
            found.extend(_leaves(node, (*prefix, key)))
        else:
            found.append(((*prefix, key), node))
    return found


def _containers(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for key, node in tree.items():
        if isinstance(node, Mapping):
            found.append((*prefix, key))
            found.extend(_containers(node, (*prefix, key)))
    return found


def _paths(body: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            found.add((*prefix, key))
            found |= _paths(value, (*prefix, key))
    return found


async def check_provider_contract(
    client: TestClient, provider: str, valid_params: Mapping[str, Mapping[str, str]]
) -> None:
    """The checks every provider plugin must pass, run against the plugin itself.

    ``valid_params`` gives, per route path, parameters for which the provider answers 200.
    For each route: no key → 401; a key without the route's scopes → 403; missing
    parameters → 400; each single scope unmasks exactly its fields (containers always
    present, nothing else); the OpenAPI document describes the route.
    """
    (declared,) = [p for p in client.app.providers if p.name == provider]
    document = client.app.openapi()
    for route in declared.routes:
        params = dict(valid_params[route.path])
        anonymous = await client.http.get(route.path, params=params)
        assert anonymous.status_code == 401, route.path
        outsider = await client.key(["scope_of_nothing"])
        refused = await client.http.get(route.path, params=params, headers={"X-Api-Key": outsider})
        assert refused.status_code == 403, route.path
        insider = await client.key(sorted(route.scopes))
        empty = await client.http.get(route.path, headers={"X-Api-Key": insider})
        assert empty.status_code == 400, route.path
        assert set(empty.json()) == {"error", "reason", "message"}
        containers = set(_containers(route.fields))
        by_scope: dict[str, list[tuple[str, ...]]] = {}
        for path, scope in _leaves(route.fields):
            by_scope.setdefault(scope, []).append(path)
        for scope, paths in by_scope.items():
            key = await client.key([scope])
            response = await client.http.get(route.path, params=params, headers={"X-Api-Key": key})
            assert response.status_code == 200, (route.path, scope, response.text)
            shown = _paths(response.json())
            # Only the containers and the fields this scope unmasks (with what they hold).
            extra = {
                p
                for p in shown
                if p not in containers and not any(p[: len(path)] == path for path in paths)
            }
            assert not extra, (route.path, scope, sorted(extra))
            assert containers <= shown, (route.path, scope)
        assert route.path in document["paths"], route.path
