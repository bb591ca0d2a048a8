"""Every hook a plugin may implement, grouped by when it runs.

The core calls each implementation itself, in the order of the frozen plan
(:mod:`api_particulier.plan`), through the hook runner (:mod:`api_particulier.hooks`): never
through pluggy's ``firstresult`` or wrappers, which only ever see coroutine objects of
``async def`` implementations.

Boot hooks are plain functions (an ``async def`` one is refused at start-up). Lifespan and
request hooks may be plain functions or ``async def``; whatever an implementation returns
that can be awaited (a coroutine, a task, a future) is awaited by the runner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec
import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    import click

    from .context import PluginContext
    from .types import Call, CallRecord, Denial, Principal, Provider
    from .web import WebRoute

PROJECT = "api_particulier"
_spec = pluggy.HookspecMarker(PROJECT)

# ---------------------------------------------------------------------------------------
# Boot: called once, in plan order, while the application is built. Plain functions.
# ---------------------------------------------------------------------------------------


@_spec
def config_schema() -> type[msgspec.Struct] | None:
    """Return the strict Struct that validates this plugin's ``[plugins.<name>]`` table.

    ``<name>`` is the plugin's name (its entry-point name): it is never written here. The
    core converts the table (``{}`` when the file has none) at boot, reports the problems
    of every table together, and hands the converted Struct to the plugin as ``config``
    (:func:`register_providers`, :func:`register_routes`, ``context.config``). A plugin
    without settings does not implement this hook, and then must not have a table.
    """


@_spec
def register_providers(register: Callable[[Provider], None], config: Any) -> None:
    """Declare the data sources this plugin serves: call ``register(provider)`` for each
    :class:`~api_particulier.Provider`. ``config`` is the plugin's converted table (None
    without :func:`config_schema`). Two providers declaring the same route is a boot error.
    """


@_spec
def register_routes(register: Callable[[WebRoute], None], config: Any) -> None:
    """Declare routes that are not data routes (HTML pages, public JSON, webhooks, static
    files): call ``register(route)`` with a :class:`~api_particulier.WebRoute`. They answer
    with the core's error bodies, request ids and logs; they call no request phase.
    """


@_spec
def store_migrations() -> str | Path | None:
    """Return the directory of this plugin's Alembic revisions, for the tables it keeps in
    the deployment's store (SQLite's ``keys.sqlite3``, or the PostgreSQL database).

    The first revision's ``branch_labels`` is ``("<plugin name>",)``; each later one
    follows it. ``api-particulier db upgrade`` applies them with the core's; the embedded
    SQLite store applies them itself. At run time the plugin reaches its tables through
    ``context.database`` (:class:`~api_particulier.StoreDatabase`). Portable SQL (``text()``
    with ``:name`` parameters, or SQLAlchemy Core) runs on both stores.
    """


@_spec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``api-particulier`` command line: ``cli`` is its click group.
    Only enabled plugins are asked. A command reaches the configuration and the stores
    through :class:`~api_particulier.CommandContext` (``click.pass_obj``).
    """


@_spec
def check_application_settings(settings: Mapping[str, Any]) -> list[str] | None:
    """Say what is wrong with an application's per-plugin settings before they are saved.

    ``settings`` maps plugin names to their values (``{"ratelimit": {"quota": 5}}``).
    Return a list of problems (one sentence each) with this plugin's own part, or ``None``.
    The command line refuses to save settings any enabled plugin finds wrong.
    """


@_spec
def amend_openapi(document: dict[str, Any]) -> None:
    """Document what this plugin changes in the API (a parameter, a header, a status) in
    the generated OpenAPI document: edit ``document`` in place. Called once, when the
    document is first served."""


# ---------------------------------------------------------------------------------------
# Lifespan: plain or async.
# ---------------------------------------------------------------------------------------


@_spec
def startup(context: PluginContext) -> Awaitable[None] | None:
    """Open what the plugin needs at run time, through ``context``: its configuration, the
    stores, the shared Redis client, background tasks, upstream clients, its logger.

    All implementations run, in plan order, after the providers' upstreams are open and
    before the first request. A failure stops the start.
    """


@_spec
def shutdown(context: PluginContext) -> Awaitable[None] | None:
    """Release what ``startup`` opened. All implementations run, in reverse plan order;
    one failing is logged and does not stop the others."""


# ---------------------------------------------------------------------------------------
# Request phases, in the order the core runs them. Plain or async.
# ---------------------------------------------------------------------------------------


@_spec
def authenticate(call: Call) -> Principal | Denial | Awaitable[Principal | Denial | None] | None:
    """Phase 1: say who is calling.

    Return a :class:`~api_particulier.Principal` to accept, a
    :class:`~api_particulier.Denial` to refuse with a specific answer, or ``None`` to let the
    next implementation try. The first non-``None`` result wins; when every implementation
    returns ``None`` the core answers 401 ``access_denied``.
    """


@_spec
def allows_citizen_bearer(principal: Principal) -> bool | None:
    """Phase 1½, run by the core when a request authenticated by ``X-Api-Key`` also carries
    ``Authorization: Bearer``: whether that bearer may be the citizen's own token (a
    FranceConnect token the consent phase checks). Any ``True`` accepts the pair; without
    one, the core answers 401 ``too_many_credentials_provided``. Plain function.
    """


@_spec
def check_consent(call: Call) -> Denial | Awaitable[Denial | None] | None:
    """Phase 2: check the citizen's consent for this call.

    Runs after the endpoint scope check and parameter validation, so ``call.params`` holds
    the validated parameters. May narrow ``call.scopes`` to what the citizen agreed to and
    set ``call.consent_evidence`` / ``call.recipient``. The first Denial ends the request.
    """


@_spec
def check_rate_limit(call: Call) -> Denial | Awaitable[Denial | None] | None:
    """Phase 3: admit or refuse the call under the caller's rate limit.

    May add headers to ``call.response_headers``; they are sent with whatever answer
    follows. The first Denial ends the request.
    """


@_spec
def fetch_cached(call: Call, fetch: Callable[[], Awaitable[Any]]) -> Any:
    """Phase 3½, data routes only: answer from a cache.

    Return the payload to answer with — from the cache (then set ``call.cache_hit``), or
    from ``fetch()``, which calls the route's provider once and gives its payload or raises
    its provider error —, or ``None`` to let the core call the provider itself. The first
    non-``None`` result wins. Masking applies to the payload either way.
    """


@_spec
def response_headers(call: Call, status: int) -> Awaitable[None] | None:
    """Add headers to the answer of an authenticated request, whatever its status and
    however far it went: write into ``call.response_headers``; headers set by the answer
    itself win. All implementations run; failures are logged."""


@_spec
def journal_subject(call: Call) -> str | None:
    """Phase 4½, data calls whose parameters were validated, whatever their outcome: the
    pseudonym of the citizen the call is about, written in the journal row (``subject``).
    Never the identifiers themselves: a keyed digest of ``call.subject()``. The first
    non-``None`` result wins; a failure is logged and leaves the row without one. Plain
    function (it runs on every data call).
    """


@_spec
def record_call(record: CallRecord, call: Call) -> Awaitable[None] | None:
    """Phase 5: observe what happened. Runs exactly once per request that reached
    authentication — after denials and errors too, and when the client went away —, after
    the journal has the row. ``call`` is the request's state, for what the row does not
    hold (``refused_in``, ``upstream_ms``, ``upstream_outcome``). All implementations run;
    what they return is ignored, their failures are logged and never change the answer."""
