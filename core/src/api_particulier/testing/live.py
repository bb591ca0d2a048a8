"""The service on a real loopback port, for tests that need a real client (a browser)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import uvicorn

from ..app import ApiApp, create_app
from ..settings import Settings


class LiveServer:
    """``app`` served by uvicorn on 127.0.0.1 in a thread of its own (with its own event
    loop), so that a synchronous client — Playwright's — can use it from the test."""

    def __init__(self, app: ApiApp) -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the service did not start (see the log above)")
            if waited >= timeout:
                raise RuntimeError(f"the service did not start within {timeout} s")
            self._thread.join(0.02)
            waited += 0.02

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)
        self._socket.close()


@contextmanager
def serve_live(settings: Settings, *, plugins: Mapping[str, object] | None = None) -> Iterator[str]:
    """Serve the app built from ``settings`` and exactly ``plugins`` (as
    :func:`~api_particulier.testing.app_client` does) and give its base URL."""
    server = LiveServer(create_app(settings, plugins=plugins if plugins is not None else {}))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
