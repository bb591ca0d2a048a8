"""Building the application: plugins, plan, providers, stores and routes."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import msgspec
import pluggy
import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from . import keys
from .errors import ConfigError
from .openapi import build_openapi
from .pipeline import Endpoint, Pipeline
from .plan import Phase, Plan, build_plan, sort_key, steps_from_manager
from .plugins import build_manager, installed_plugins, load_enabled
from .responses import (
    INTERNAL_ERROR,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    SERVICE_UNAVAILABLE,
    error_response,
    json_response,
    request_id,
)
from .settings import HttpConfig, Settings, load_settings
from .store import JournalStore, KeyStore, open_stores
from .types import Call, Provider

log = structlog.get_logger("api_particulier.app")

# Health answers are cached so a monitoring probe cannot hammer an upstream (contract §7).
HEALTH_TTL = 60.0
STATS_TTL = 60.0
STATS_WINDOW = 30 * 86400.0


class ApiApp:
    """One running configuration of the service; an ASGI application."""

    task_group: anyio.abc.TaskGroup

    def __init__(
        self,
        settings: Settings,
        pm: pluggy.PluginManager,
        plan: Plan,
        providers: tuple[Provider, ...],
        key_store: KeyStore,
        journal_store: JournalStore,
        pepper: bytes,
    ) -> None:
        self.settings = settings
        self.pm = pm
        self.plan = plan
        self.providers = providers
        self.key_store = key_store
        self.journal_store = journal_store
        self.pepper = pepper
        self.pipeline = Pipeline(plan)
        self._health: dict[str, tuple[bool, float]] = {}
        self._stats: tuple[int, float] | None = None
        self._openapi: dict[str, Any] | None = None
        routes = self._routes()
        self._direct = {
            route.path: route.app
            for route in routes
            if isinstance(route, Route) and isinstance(route.app, _PipelineEndpoint)
        }
        self.starlette = Starlette(
            routes=routes,
            lifespan=self._lifespan,
            exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        )
        # Never a redirect: Starlette builds its Location from the Host header and the
        # query string, which would send a citizen's identifiers and the caller's key to
        # whatever host the request named (contract §5).
        self.starlette.router.redirect_slashes = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # Paths are matched exactly: a trailing or doubled slash matches no route (and
            # Starlette's redirects are off); an encoded "/" is decoded into the path by the
            # server, so it is refused here, before any route can match it.
            if b"%" in scope.get("raw_path", b"") and _encodes_a_slash(scope):
                await _not_found(scope, receive, send)
                return
            # Data routes skip Starlette's middleware and router: their pipeline renders
            # every answer itself, and they carry the traffic. Everything else (HEAD,
            # unknown paths, wrong methods) goes through Starlette.
            if scope["method"] == "GET":
                direct = self._direct.get(scope["path"])
                if direct is not None:
                    await self.pipeline.serve(scope, receive, send, direct.endpoint)
                    return
        await self.starlette(scope, receive, send)

    # -- lifecycle -------------------------------------------------------------------------

    @asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        async with self.running():
            yield

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the stores, start every plugin, and undo it all on exit."""
        await self.key_store.open()
        await self.journal_store.open()
        async with anyio.create_task_group() as task_group:
            self.task_group = task_group
            # A plugin's shutdown runs when its startup completed (or it has none), even if
            # a later plugin's startup fails.
            starting = {step.plugin for step in self.plan.for_phase(Phase.startup)}
            to_shut = [s for s in self.plan.for_phase(Phase.shutdown) if s.plugin not in starting]
            try:
                for step in self.plan.for_phase(Phase.startup):
                    await _await(step.call(app=self))
                    to_shut.extend(
                        s for s in self.plan.for_phase(Phase.shutdown) if s.plugin == step.plugin
                    )
                log.info(
                    "started",
                    plugins=self.plugin_names(),
                    providers=[p.name for p in self.providers],
                )
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    for step in sorted(to_shut, key=sort_key, reverse=True):
                        try:
                            await _await(step.call(app=self))
                        except Exception as exc:
                            log.error(
                                "plugin_failed", plugin=step.plugin, phase="shutdown", exc_info=exc
                            )
                    task_group.cancel_scope.cancel()
        await self.journal_store.close()
        await self.key_store.close()

    @property
    def http_limits(self) -> HttpConfig:
        """The bounds the HTTP server applies to this application's connections."""
        return self.settings.core.http

    def plugin_names(self) -> list[str]:
        return sorted(name for name, _ in self.pm.list_name_plugin())

    # -- routes ----------------------------------------------------------------------------

    def _routes(self) -> list[BaseRoute]:
        # Data routes first: the router tries routes in order, and they carry the traffic.
        routes: list[BaseRoute] = []
        for provider in self.providers:
            for route in provider.routes:
                routes.append(self._pipeline_route(Endpoint.for_provider(provider.name, route)))
        routes.append(self._pipeline_route(Endpoint(path="/api/introspect", handler=_introspect)))
        for provider in self.providers:
            if provider.health_path and provider.health:
                routes.append(
                    Route(provider.health_path, self._health_endpoint(provider), methods=["GET"])
                )
        routes += [
            Route("/api/ping", _ping, methods=["GET"]),
            Route("/api/stats", self._stats_endpoint, methods=["GET"]),
            Route("/api/open-api.json", self._openapi_json, methods=["GET"]),
            Route("/api/open-api.yml", self._openapi_yaml, methods=["GET"]),
            Route("/api/plugins", self._plugins_endpoint, methods=["GET"]),
        ]
        return routes

    def _pipeline_route(self, endpoint: Endpoint) -> Route:
        return Route(endpoint.path, _PipelineEndpoint(self.pipeline, endpoint), methods=["GET"])

    def _health_endpoint(self, provider: Provider) -> Callable[[Request], Awaitable[Response]]:
        check = provider.health
        assert check is not None

        async def health(request: Request) -> Response:
            cached = self._health.get(provider.name)
            if cached is not None and cached[1] > time.monotonic():
                healthy = cached[0]
            else:
                try:
                    healthy = await check()
                except Exception as exc:
                    log.warning("health_failed", plugin=provider.name, error=type(exc).__name__)
                    healthy = False
                self._health[provider.name] = (healthy, time.monotonic() + HEALTH_TTL)
            headers = {"x-request-id": request_id(request)}
            if healthy:
                return json_response(b'"pong"', headers=headers)
            return error_response(SERVICE_UNAVAILABLE, 503, headers)

        return health

    async def _stats_endpoint(self, request: Request) -> Response:
        cached = self._stats
        if cached is None or cached[1] <= time.monotonic():
            count = await self.journal_store.count_successful_data_calls(time.time() - STATS_WINDOW)
            cached = self._stats = (count, time.monotonic() + STATS_TTL)
        return json_response(cached[0], headers={"x-request-id": request_id(request)})

    def openapi(self) -> dict[str, Any]:
        if self._openapi is None:
            self._openapi = build_openapi(self)
        return self._openapi

    async def _openapi_json(self, request: Request) -> Response:
        return json_response(self.openapi(), headers={"x-request-id": request_id(request)})

    async def _openapi_yaml(self, request: Request) -> Response:
        body = msgspec.yaml.encode(self.openapi())
        return Response(
            body,
            media_type="application/yaml; charset=utf-8",
            headers={"x-request-id": request_id(request)},
        )

    def describe_plugins(self) -> dict[str, Any]:
        installed = installed_plugins()
        return {
            "installed": [
                {
                    "name": p.name,
                    "distribution": p.distribution,
                    "version": p.version,
                    "enabled": p.name in self.plugin_names(),
                }
                for p in installed.values()
            ],
            "registered": self.plugin_names(),
            "providers": [
                {
                    "name": p.name,
                    "routes": [r.path for r in p.routes],
                    "health": p.health_path,
                    "upstreams": [upstream.describe() for upstream in p.upstreams],
                }
                for p in self.providers
            ],
            "plan": self.plan.describe(),
        }

    async def _plugins_endpoint(self, request: Request) -> Response:
        return json_response(self.describe_plugins(), headers={"x-request-id": request_id(request)})


class _PipelineEndpoint:
    """A route's ASGI application: the pipeline, without Starlette's request, response and
    endpoint wrapper (the pipeline renders every answer itself)."""

    __slots__ = ("endpoint", "serve")

    def __init__(self, pipeline: Pipeline, endpoint: Endpoint) -> None:
        self.serve = pipeline.serve
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.serve(scope, receive, send, self.endpoint)


async def _await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


def _encodes_a_slash(scope: Scope) -> bool:
    raw: bytes = scope["raw_path"]
    return b"%2f" in raw.lower()


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    response = error_response(NOT_FOUND, 404, {"x-request-id": request_id(request)})
    await response(scope, receive, send)


async def _ping(request: Request) -> Response:
    return json_response(b'"pong"', headers={"x-request-id": request_id(request)})


async def _introspect(call: Call) -> dict[str, Any]:
    principal = call.principal
    assert principal is not None
    return {
        "_id": principal.key_id,
        "name": principal.application_name,
        "scopes": sorted(principal.scopes),
        "expiresAt": principal.expires_at,
    }


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = {**(exc.headers or {}), "x-request-id": request_id(request)}
    if exc.status_code == 405:
        return error_response(METHOD_NOT_ALLOWED, 405, headers)
    if exc.status_code == 404:
        return error_response(NOT_FOUND, 404, headers)
    return error_response(INTERNAL_ERROR, 500, headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled_error", exc_info=exc)
    return error_response(INTERNAL_ERROR, 500, {"x-request-id": request_id(request)})


def _collect_providers(plan: Plan, settings: Settings) -> tuple[Provider, ...]:
    providers: list[Provider] = []
    for step in plan.for_phase(Phase.register_providers):
        step.call(register=providers.append, settings=settings)
    problems: list[str] = []
    seen: dict[str, str] = {
        path: "core"
        for path in (
            "/api/ping",
            "/api/stats",
            "/api/introspect",
            "/api/open-api.json",
            "/api/open-api.yml",
            "/api/plugins",
        )
    }
    for provider in sorted(providers, key=lambda p: p.name):
        paths = [r.path for r in provider.routes]
        if provider.health_path:
            paths.append(provider.health_path)
        for path in paths:
            if path in seen:
                problems.append(f"route {path} declared by both {seen[path]} and {provider.name}")
            seen[path] = provider.name
    if problems:
        raise ConfigError(problems)
    return tuple(sorted(providers, key=lambda p: p.name))


def create_app(
    settings: Settings | None = None, *, plugins: Mapping[str, object] | None = None
) -> ApiApp:
    """Build an application.

    ``plugins`` maps plugin names to plugin objects (modules, classes or instances); when
    given, installed entry points are not read at all, which is what tests want. When
    omitted, the enabled installed plugins are loaded.
    """
    settings = settings if settings is not None else load_settings()
    chosen = dict(plugins) if plugins is not None else load_enabled(settings)
    pm = build_manager(chosen)

    schemas: dict[str, type[msgspec.Struct]] = {}
    problems: list[str] = []

    def register(name: str, schema: type[msgspec.Struct]) -> None:
        if name in schemas:
            problems.append(f"configuration table {name!r} registered twice")
        schemas[name] = schema

    plan = build_plan(steps_from_manager(pm))
    for step in plan.for_phase(Phase.register_config):
        step.call(register=register)
    if problems:
        raise ConfigError(problems)
    settings.bind_plugin_schemas(schemas)
    providers = _collect_providers(plan, settings)
    key_store, journal_store = open_stores(settings)
    return ApiApp(
        settings, pm, plan, providers, key_store, journal_store, keys.load_pepper(settings)
    )
