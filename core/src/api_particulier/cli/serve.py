"""``api-particulier serve``: run the HTTP service."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import click
import uvicorn

from .. import admin
from ..app import ApiApp
from ..commands import CommandContext
from ..http_protocol import BoundedHttpToolsProtocol
from ..runtime import allow_connections, prepare_for_serving
from .common import all_scopes

DEMO_APPLICATION = "demo"


class _Server(uvicorn.Server):
    """uvicorn's server, whose stop on SIGINT or SIGTERM returns to the caller.

    uvicorn raises the signal again once it stopped serving, so that a program around it
    dies as it would have; here the plugins and the journal still have to be shut down
    after the server stopped, which a re-raised SIGTERM would cut short.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def ensure_demo_key(app: ApiApp, host: str, port: int) -> None:
    """On an empty store, create the demo application and print its key once."""
    if not app.settings.core.create_demo_key or await app.key_store.list_applications():
        return
    application = await admin.ensure_application(
        app.key_store,
        DEMO_APPLICATION,
        all_scopes(app),
        details={"simplification": "Demonstration application holding every scope"},
    )
    issued = await admin.issue_key(app.key_store, app.pepper, application)
    shown_host = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host  # noqa: S104
    print(
        f"Demo application created. Its key, shown only this once:\n\n    {issued.secret}\n\n"
        f"Try it:\n\n    curl -H 'X-Api-Key: {issued.secret}' "
        f"http://{shown_host}:{port}/api/introspect\n",
        file=sys.stderr,
        flush=True,
    )


@click.command(
    help="Run the HTTP service. On an empty store, create a demo application holding every "
    "scope of the enabled providers and print its key once. A plugin that cannot start "
    "stops it before anything is served: one line, status 2.",
    short_help="run the HTTP service",
)
@click.option("--host", help="address to listen on (default from [core] host)")
@click.option("--port", type=int, help="port to listen on (default from [core] port)")
@click.option("--workers", type=int, help="worker processes (default from [core])")
@click.pass_obj
def serve(ctx: CommandContext, host: str | None, port: int | None, workers: int | None) -> int:
    settings = ctx.settings
    host = host or settings.core.host
    port = port if port is not None else settings.core.port
    workers = workers or settings.core.workers
    app = ctx.app
    limits = settings.core.http
    allow_connections(limits.max_connections)
    # uvicorn's access log would print query strings, which carry citizens' identifiers:
    # it stays off, and the journal records every call instead.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,
        "log_level": "warning",
        "proxy_headers": False,
        "server_header": False,
        # The bounds of [core.http]: see api_particulier.http_protocol.
        "http": BoundedHttpToolsProtocol,
        "ws": "none",
        "timeout_keep_alive": limits.keep_alive_timeout,
    }
    if limits.trusted_proxies:
        # The client's address (per-address limits of the citizen page and of sign-in
        # links) is then the one the trusted proxies report.
        options["proxy_headers"] = True
        options["forwarded_allow_ips"] = list(limits.trusted_proxies)
    serving = f"Serving on http://{host}:{port} (Ctrl-C to stop)"
    if workers > 1:
        # Each worker builds its application from the environment: give it the file, and
        # the number of workers (policies that count per process read it). A start tried
        # here first fails as one line, before any worker runs.
        async def trial() -> None:
            async with app.running():
                await ensure_demo_key(app, host, port)

        anyio.run(trial)
        if settings.source is not None:
            os.environ["API_PARTICULIER_CONFIG"] = str(settings.source.resolve())
        os.environ["API_PARTICULIER_WORKERS"] = str(workers)
        print(serving, file=sys.stderr, flush=True)
        uvicorn.run("api_particulier.asgi:app", workers=workers, **options)
        return 0

    server = _Server(uvicorn.Config(app, lifespan="off", **options))

    async def run() -> None:
        # The lifespan is driven here rather than by uvicorn, so that a failing start is
        # one line and "Serving on" is printed only once every plugin started.
        async with app.running():
            await ensure_demo_key(app, host, port)
            prepare_for_serving()
            print(serving, file=sys.stderr, flush=True)
            await server.serve()

    anyio.run(run)
    return 0
