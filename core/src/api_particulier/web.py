"""Routes that are not data routes: pages, public JSON, webhooks, static files.

A plugin declares them with ``register_routes``; the core mounts them beside its own and
gives them what every answer of the service has: an ``X-Request-Id`` (the caller's when well
formed), the contract's error body for an unknown route, a wrong method or an
``HTTPException``, and, for anything they raise, the fixed 500 body, logged with
``plugin=`` and ``phase=route`` and never shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .bodies import close_forms
from .responses import INTERNAL_ERROR, STORE_UNAVAILABLE, error_response, request_id
from .store.base import StoreUnavailable

_log = structlog.get_logger("api_particulier.web")

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, kw_only=True)
class WebRoute:
    """One route: ``endpoint(request) -> Response`` for ``methods`` at ``path``, or the
    files of ``directory`` under ``path`` (:meth:`static`)."""

    path: str
    endpoint: Endpoint | None = None
    methods: tuple[str, ...] = ("GET",)
    directory: Path | None = None
    name: str | None = None
    # A page people should find from every other: its label in the site's menu (French).
    menu_label: str | None = None

    @classmethod
    def static(cls, path: str, directory: Path | str) -> WebRoute:
        """The files of ``directory`` served under ``path`` (``/static/dsfr``)."""
        return cls(path=path, directory=Path(directory))

    def __post_init__(self) -> None:
        if (self.endpoint is None) == (self.directory is None):
            raise ValueError(f"route {self.path}: give an endpoint or a directory, not both")
        if not self.path.startswith("/"):
            raise ValueError(f"route {self.path}: a path starts with /")
        if self.menu_label is not None and (self.directory is not None or "{" in self.path):
            raise ValueError(f"route {self.path}: only a page of its own can be in the menu")


@dataclass(frozen=True)
class MenuEntry:
    """A page of the site's menu: its label and its path."""

    label: str
    path: str


# Where the site's menu travels with each request to a web route, for the pages' layout.
MENU_SCOPE_KEY = "api_particulier.menu"


def site_menu(routes: tuple[tuple[str, WebRoute], ...]) -> tuple[MenuEntry, ...]:
    """The menu: every page declared with a ``menu_label``, in the plugins' plan order."""
    return tuple(
        MenuEntry(route.menu_label, route.path)
        for _, route in routes
        if route.menu_label is not None
    )


def mount(route: WebRoute, plugin: str, menu: tuple[MenuEntry, ...] = ()) -> BaseRoute:
    """The Starlette route serving ``route`` for ``plugin``; its requests carry ``menu``."""
    if route.directory is not None:
        files = StaticFiles(directory=route.directory, check_dir=True)
        return Mount(route.path, app=_Guarded(files, plugin, menu), name=route.name)
    assert route.endpoint is not None
    return Route(
        route.path,
        _Guarded(request_response(route.endpoint), plugin, menu),
        methods=list(route.methods),
        name=route.name,
    )


class _Guarded:
    """An ASGI app whose answers carry the request id, and whose failures answer the fixed
    500 body (once nothing has been sent yet)."""

    def __init__(self, app: ASGIApp, plugin: str, menu: tuple[MenuEntry, ...]) -> None:
        self.app = app
        self.plugin = plugin
        self.menu = menu

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[MENU_SCOPE_KEY] = self.menu
        request = Request(scope, receive)
        rid = request_id(request).encode("latin-1")
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                if not any(name == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", rid))
                message = {**message, "headers": headers}
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                await close_forms(scope)
        except HTTPException:
            raise  # the application's handler answers it with the error body
        except StoreUnavailable:
            # The store's outage, not the plugin's fault: the answer the data routes give.
            _log.warning("store_unavailable", plugin=self.plugin, phase="route")
            if started:
                raise
            headers = {"x-request-id": rid.decode(), "retry-after": "1"}
            await error_response(STORE_UNAVAILABLE, 503, headers)(scope, receive, send)
        except Exception as exc:
            _log.error("plugin_failed", plugin=self.plugin, phase="route", exc_info=exc)
            if started:
                raise
            response = error_response(INTERNAL_ERROR, 500, {"x-request-id": rid.decode()})
            await response(scope, receive, send)
