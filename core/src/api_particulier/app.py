"""Building the application: plugins, plan, configurations, providers, stores and routes;
and running it: the lifespan that opens and closes everything in order."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
import pluggy
import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import hooks, keys
from .builtins.keyauth import KeyAuthPlugin
from .chain import Signer, load_signer
from .context import RunningContext
from .credentials import Credentials
from .errors import ConfigError
from .faults import Faults
from .journal import Journal
from .openapi import build_openapi
from .pages import DSFR_FILES, DSFR_URL, home_page
from .pipeline import Endpoint, Pipeline
from .plan import Phase, Plan, build_plan, steps_from_manager
from .plugins import build_manager, installed_plugins, load_enabled
from .providers import check_paths, collect_providers, collect_web_routes
from .redis_client import close_redis, open_redis
from .responses import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    SERVICE_UNAVAILABLE,
    STORE_UNAVAILABLE,
    error_response,
    json_response,
    request_id,
)
from .settings import HttpConfig, Settings, load_settings
from .store import (
    JournalStore,
    KeyStore,
    StoreDatabase,
    StoreUnavailable,
    open_stores,
    plugin_database,
)
from .store.schema import PluginMigrations, SchemaOutdated
from .types import Call, Provider
from .web import WebRoute, mount, site_menu

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger("api_particulier.app")

# Health answers are cached so a monitoring probe cannot hammer an upstream (contract §7).
HEALTH_TTL = 60.0
STATS_TTL = 60.0
STATS_WINDOW = 30 * 86400.0


class StartupError(ConfigError):
    """A plugin's ``startup`` failed: the service does not start. The one problem names the
    plugin and the exception's type, never its text (which could hold a secret)."""


class ApiApp:
    """One running configuration of the service; an ASGI application."""

    def __init__(
        self,
        settings: Settings,
        pm: pluggy.PluginManager,
        plan: Plan,
        providers: tuple[Provider, ...],
        web_routes: tuple[tuple[str, WebRoute], ...],
        key_store: KeyStore,
        journal_store: JournalStore,
        pepper: bytes,
        configs: Mapping[str, Any],
        redis: Redis | None = None,
        database: StoreDatabase | None = None,
        migrations: PluginMigrations | None = None,
        faults: Faults | None = None,
        signer: Signer | None = None,
    ) -> None:
        self.settings = settings
        # The plugins' own tables (context.database) and their revisions (db upgrade).
        self.database = database if database is not None else plugin_database(settings)
        self.migrations = migrations if migrations is not None else PluginMigrations()
        self.pm = pm
        self.plan = plan
        self.providers = providers
        self.key_store = key_store
        self.journal_store = journal_store
        self.pepper = pepper
        self.redis = redis
        self.faults = faults if faults is not None else Faults()
        # The key signing the journal's checkpoints (None: a deployment that set none).
        self.signer = signer
        self.journal = Journal(journal_store, settings.core.journal, self.faults, signer)
        self.pipeline = Pipeline(plan, self.journal)
        self.credentials = Credentials(key_store, pepper, self._forget_cached_keys)
        self.contexts = {
            name: RunningContext(
                name=name,
                config=configs.get(name),
                data_dir=settings.data_dir,
                workers=settings.core.workers,
                key_store=key_store,
                journal_store=journal_store,
                redis=redis,
                database=self.database,
                credentials=self.credentials,
                providers=providers,
                faults=self.faults,
                journal=self.journal,
                embedded=settings.embedded,
            )
            for name in self.plugin_names()
        }
        self._health: dict[str, tuple[bool, float]] = {}
        self._stats: tuple[int, float] | None = None
        self._openapi: dict[str, Any] | None = None
        # The data routes by their exact path: a GET on one goes straight to the pipeline,
        # which renders every answer itself (Starlette's router and exception middleware
        # would cost a fifth of the request for nothing). The same routes are also in
        # Starlette's router, which answers HEAD, 405 and everything else.
        self._data_routes: dict[str, _PipelineEndpoint] = {}
        self._starlette = Starlette(
            routes=self._routes(web_routes),
            exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        )
        # Never a redirect: Starlette builds its Location from the Host header and the
        # query string, which would send a citizen's identifiers and the caller's key to
        # whatever host the request named (contract §5).
        self._starlette.router.redirect_slashes = False
        self._app: ASGIApp = self._dispatch
        self._started = False

    def add_middleware(
        self, middleware: Callable[..., ASGIApp], *args: Any, **options: Any
    ) -> None:
        """Wrap every route, data routes included, in an ASGI middleware (Starlette's
        signature: the class, then its options). The last added is the outermost. It sees
        ``http`` and ``websocket`` scopes; the lifespan stays the application's."""
        if self._started:
            raise RuntimeError("middleware is added before the application starts")
        self._app = middleware(self._app, *args, **options)

    def _forget_cached_keys(self, changed: str) -> None:
        """Make this process's key cache forget a key or application changed here."""
        keyauth = self.pm.get_plugin("keyauth")
        if isinstance(keyauth, KeyAuthPlugin):
            keyauth.forget(changed)

    @property
    def routes(self) -> list[BaseRoute]:
        """Every route the application answers, data routes first."""
        return self._starlette.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self._app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # Paths are matched exactly: a trailing or doubled slash matches no route; an
            # encoded "/" is decoded into the path by the server, so it is refused here.
            raw_path = scope.get("raw_path") or b""
            if b"%" in raw_path and b"%2f" in raw_path.lower():
                await _not_found(scope, receive, send)
                return
            if scope["method"] == "GET":
                data_route = self._data_routes.get(scope["path"])
                if data_route is not None:
                    await data_route(scope, receive, send)
                    return
        await self._starlette(scope, receive, send)

    # -- lifecycle -------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """The ASGI lifespan protocol, answered by :meth:`running`: a failing start is one
        message (the plugin and the exception's type), never a traceback."""
        started = anyio.Event()
        stopping = anyio.Event()
        failure: list[str] = []

        async def run() -> None:
            try:
                async with self.running():
                    started.set()
                    await stopping.wait()
            except StartupError as exc:
                failure.append("; ".join(exc.problems))
                started.set()

        message: Message = await receive()
        assert message["type"] == "lifespan.startup"
        async with anyio.create_task_group() as group:
            group.start_soon(run)
            await started.wait()
            if failure:
                await send({"type": "lifespan.startup.failed", "message": failure[0]})
                return
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            stopping.set()
        await send({"type": "lifespan.shutdown.complete"})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the stores, the providers and every plugin; undo it all on exit, in reverse.

        A plugin's ``shutdown`` runs when its ``startup`` completed (or it has none), even
        if a later plugin's ``startup`` fails. A failing start raises :class:`StartupError`.
        """
        self._started = True
        await self.connect_stores()
        failed: hooks.PluginFailure | None = None
        try:
            async with anyio.create_task_group() as task_group:
                self.journal.start(task_group)
                for context in self.contexts.values():
                    context.task_group = task_group
                startups = self.plan.for_phase(Phase.startup)
                starting = {step.plugin for step in startups}
                started = set(self.plugin_names()) - starting
                opened: list[Provider] = []
                try:
                    for provider in self.providers:
                        opened.append(provider)
                        await _open_provider(provider)
                    for step in startups:
                        await hooks.call(step, {}, per_plugin={"context": self.contexts.get})
                        started.add(step.plugin)
                except hooks.PluginFailure as failure:
                    failed = failure
                except Exception as exc:
                    failed = hooks.PluginFailure(opened[-1].name or "?", "startup", exc)
                try:
                    if failed is None:
                        log.info(
                            "started",
                            plugins=self.plugin_names(),
                            providers=[p.name for p in self.providers],
                        )
                        yield
                finally:
                    with anyio.CancelScope(shield=True):
                        await self._stop(started, opened)
                    task_group.cancel_scope.cancel()
        finally:
            if self.redis is not None:
                await close_redis(self.redis)
            await self.database.close()
            await self.journal_store.close()
            await self.key_store.close()
        if failed is not None:
            # The frames, for whoever looks for them; the one line is the exception's.
            log.debug(
                "startup_failed", plugin=failed.plugin, phase=failed.phase, exc_info=failed.error
            )
            if isinstance(failed.error, ConfigError):
                # Written for deployers: said as it is.
                raise StartupError(failed.error.problems)
            raise StartupError(
                [f"plugin {failed.plugin!r} failed to start ({type(failed.error).__name__})"]
            )

    async def connect_stores(self) -> None:
        """Open both stores, or neither: a store that cannot serve (unreachable, or at an
        older schema) stops the start with one line."""
        try:
            await self.key_store.open()
        except (SchemaOutdated, StoreUnavailable) as exc:
            raise StartupError([f"[core] store: {exc}"]) from None
        try:
            await self.journal_store.open()
        except BaseException as exc:
            await self.key_store.close()
            if isinstance(exc, SchemaOutdated | StoreUnavailable):
                raise StartupError([f"[core] store: {exc}"]) from None
            raise

    async def _stop(self, started: set[str], opened: list[Provider]) -> None:
        steps = [s for s in self.plan.for_phase(Phase.shutdown) if s.plugin in started]
        await hooks.each(
            steps, failures="log", reverse=True, per_plugin={"context": self.contexts.get}
        )
        for context in self.contexts.values():
            await context.close_upstreams()
        for provider in reversed(opened):
            try:
                await _close_provider(provider)
            except Exception as exc:
                log.error("plugin_failed", plugin=provider.name, phase="shutdown", exc_info=exc)
        await self.journal.stop()

    @property
    def http_limits(self) -> HttpConfig:
        """The bounds the HTTP server applies to this application's connections."""
        return self.settings.core.http

    def plugin_names(self) -> list[str]:
        return sorted(name for name, _ in self.pm.list_name_plugin())

    # -- routes ----------------------------------------------------------------------------

    def _routes(self, web_routes: tuple[tuple[str, WebRoute], ...]) -> list[BaseRoute]:
        routes: list[BaseRoute] = []
        for provider in self.providers:
            assert provider.name is not None
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
        menu = site_menu(web_routes)
        # The design system's files, for every plugin's pages (api_particulier.pages), and
        # the home page leading to the pages of the menu.
        routes.append(mount(WebRoute.static(DSFR_URL, DSFR_FILES), "core"))
        routes.append(mount(WebRoute(path="/", endpoint=home_page), "core", menu))
        routes += [mount(route, plugin, menu) for plugin, route in web_routes]
        return routes

    def _pipeline_route(self, endpoint: Endpoint) -> Route:
        app = _PipelineEndpoint(self.pipeline, endpoint)
        self._data_routes[endpoint.path] = app
        return Route(endpoint.path, app, methods=["GET"])

    def _health_endpoint(self, provider: Provider) -> Callable[[Request], Awaitable[Response]]:
        check = provider.health
        name = provider.name or ""
        assert check is not None

        async def health(request: Request) -> Response:
            cached = self._health.get(name)
            if cached is not None and cached[1] > time.monotonic():
                healthy = cached[0]
            else:
                try:
                    healthy = await check()
                except Exception as exc:
                    log.warning("health_failed", plugin=name, error=type(exc).__name__)
                    healthy = False
                self._health[name] = (healthy, time.monotonic() + HEALTH_TTL)
            headers = {"x-request-id": request_id(request)}
            if healthy:
                return json_response(b'"pong"', headers=headers)
            return error_response(SERVICE_UNAVAILABLE, 503, headers)

        return health

    async def _stats_endpoint(self, request: Request) -> Response:
        cached = self._stats
        headers = {"x-request-id": request_id(request)}
        if cached is None or cached[1] <= time.monotonic():
            since = time.time() - STATS_WINDOW
            try:
                count = await self.journal_store.count_successful_data_calls(since)
            except StoreUnavailable:
                self.faults.report("store")
                return error_response(STORE_UNAVAILABLE, 503, {**headers, "retry-after": "1"})
            cached = self._stats = (count, time.monotonic() + STATS_TTL)
        return json_response(cached[0], headers=headers)

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
    """A data route's ASGI application: the pipeline renders every answer itself."""

    __slots__ = ("endpoint", "pipeline")

    def __init__(self, pipeline: Pipeline, endpoint: Endpoint) -> None:
        self.pipeline = pipeline
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.pipeline.serve(scope, receive, send, self.endpoint)


async def _open_provider(provider: Provider) -> None:
    for upstream in provider.upstreams:
        await upstream.open()
    if provider.open is not None:
        await provider.open()


async def _close_provider(provider: Provider) -> None:
    if provider.close is not None:
        await provider.close()
    for upstream in provider.upstreams:
        await upstream.close()


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
    if exc.status_code == 413:
        return error_response(PAYLOAD_TOO_LARGE, 413, headers)
    if exc.status_code == 400:
        # A request the route could not read (a malformed form): the caller's to fix.
        return error_response(BAD_REQUEST, 400, headers)
    return error_response(INTERNAL_ERROR, 500, headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled_error", exc_info=exc)
    return error_response(INTERNAL_ERROR, 500, {"x-request-id": request_id(request)})


def _plugin_configs(plan: Plan, settings: Settings) -> dict[str, Any]:
    """Each plugin's converted table, by plugin name (the name said once: its registration)."""
    schemas: dict[str, type[msgspec.Struct]] = {}
    problems: list[str] = []
    for step in plan.for_phase(Phase.config_schema):
        schema = hooks.call_now(step, {})
        if schema is None:
            continue
        if not (isinstance(schema, type) and issubclass(schema, msgspec.Struct)):
            problems.append(f"plugin {step.plugin!r}: config_schema must return a Struct type")
            continue
        schemas[step.plugin] = schema
    if problems:
        raise ConfigError(problems)
    settings.bind_plugin_schemas(schemas)
    return {name: settings.plugin_config(name) for name in schemas}


def collect_migrations(plan: Plan, migrations: PluginMigrations) -> None:
    """The plugins' revision directories (``store_migrations``), checked."""
    for step in plan.for_phase(Phase.store_migrations):
        directory = hooks.call_now(step, {})
        if directory is not None:
            migrations.add(step.plugin, Path(directory))
    problems = migrations.problems()
    if problems:
        raise ConfigError(problems)


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
    migrations = PluginMigrations()
    key_store, journal_store = open_stores(settings, plugins=migrations)
    # Every problem of the configuration is reported at once: the pepper's with the tables'.
    problems: list[str] = []
    pepper = b""
    try:
        pepper = keys.load_pepper(settings)
    except ConfigError as exc:
        problems.extend(exc.problems)
    signer = None
    try:
        signer = journal_signer(settings)
    except ConfigError as exc:
        problems.extend(exc.problems)
    # One count of the store's and Redis's faults for the whole application.
    faults = Faults()
    builtins = {"keyauth": KeyAuthPlugin(key_store, pepper, settings.core.auth, faults)}
    pm = build_manager(chosen, builtins)
    plan = build_plan(steps_from_manager(pm))
    try:
        try:
            configs = _plugin_configs(plan, settings)
        except ConfigError as exc:
            raise ConfigError([*exc.problems, *problems]) from None
        if problems:
            raise ConfigError(problems)
        providers = collect_providers(plan, configs)
        web_routes = collect_web_routes(plan, configs)
        collect_migrations(plan, migrations)
    except hooks.PluginFailure as failure:
        if isinstance(failure.error, ConfigError):
            raise failure.error from None
        raise ConfigError(
            [
                f"plugin {failure.plugin!r} failed in {failure.phase} "
                f"({type(failure.error).__name__}: {failure.error})"
            ]
        ) from None
    check_paths(providers, web_routes)
    return ApiApp(
        settings,
        pm,
        plan,
        providers,
        web_routes,
        key_store,
        journal_store,
        pepper,
        configs,
        redis=open_redis(settings.core.redis),
        database=plugin_database(settings),
        migrations=migrations,
        faults=faults,
        signer=signer,
    )


def journal_signer(settings: Settings) -> Signer | None:
    """The key signing the journal's checkpoints: ``[core.journal] signing_key``,
    ``$API_PARTICULIER_JOURNAL_SIGNING_KEY`` or, in embedded mode, a generated file."""
    configured = settings.core.journal.signing_key
    if not settings.core.journal.chain:
        return None  # nothing to sign
    return load_signer(
        configured.reveal() if configured is not None else None,
        settings.embedded,
        settings.data_dir,
    )
