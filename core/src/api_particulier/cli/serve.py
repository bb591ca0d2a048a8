"""``api-particulier serve``: run the HTTP service."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import admin
from ..app import ApiApp, create_app
from ..http_protocol import BoundedHttpToolsProtocol
from ..runtime import allow_connections, prepare_for_serving
from ..settings import Settings
from .common import all_scopes, with_stores

DEMO_APPLICATION = "demo"


def add_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the HTTP service",
        description="Run the HTTP service. On an empty store, create a demo application "
        "holding every scope of the enabled providers and print its key once.",
    )
    serve.add_argument("--host", help="address to listen on (default from [core] host)")
    serve.add_argument("--port", type=int, help="port to listen on (default from [core] port)")
    serve.add_argument("--workers", type=int, help="worker processes (default from [core])")


async def ensure_demo_key(app: ApiApp, host: str, port: int) -> None:
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


def run(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    host = args.host or settings.core.host
    port = args.port if args.port is not None else settings.core.port
    workers = args.workers or settings.core.workers
    app = create_app(settings)

    async def prepare() -> int:
        await ensure_demo_key(app, host, port)
        return 0

    with_stores(app, prepare)
    print(f"Serving on http://{host}:{port} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    # uvicorn's access log would print query strings, which carry citizens' identifiers:
    # it stays off, and the journal records every call instead.
    limits = settings.core.http
    allow_connections(limits.max_connections)
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
    if workers > 1:
        # Each worker process builds its own app from the environment: give it the file,
        # and the number of workers (policies that count per process read it).
        if settings.source is not None:
            os.environ["API_PARTICULIER_CONFIG"] = str(settings.source.resolve())
        os.environ["API_PARTICULIER_WORKERS"] = str(workers)
        uvicorn.run("api_particulier.asgi:app", workers=workers, **options)
    else:
        prepare_for_serving()
        uvicorn.run(app, **options)
    return 0
