"""A local upstream to test a provider's HTTP backend against: a real HTTP server on
127.0.0.1 that answers what the test registers and records what it receives.

::

    async with UpstreamServer() as upstream:
        upstream.answer("GET", "/v1/students/1234", json={"ine": "1234", "boursier": True})
        upstream.answer("GET", "/v1/students/0000", status=404)
        backend = MyHttpBackend(base_url=upstream.url)
        ...
        assert upstream.received[0].query == {"fields": "all"}

An unregistered path answers 404. ``delay`` holds an answer back (a timeout test);
``hang=True`` never answers. Only loopback is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import msgspec
from aiohttp import web


@dataclass(frozen=True)
class Received:
    """One request the upstream received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False


class UpstreamServer:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: dict[tuple[str, str], _Answer] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    def answer(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        text: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        hang: bool = False,
    ) -> None:
        """What ``method path`` answers from now on (the last registration wins)."""
        if json is not None:
            payload, kind = msgspec.json.encode(json), "application/json"
        elif text is not None:
            payload, kind = text.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            payload, kind = body or b"", "application/octet-stream"
        self._answers[(method.upper(), path)] = _Answer(
            status, payload, content_type or kind, headers or {}, delay, hang
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(
            Received(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        found = self._answers.get((request.method, request.path))
        if found is None:
            return web.Response(status=404, text="not registered")
        if found.hang:
            await asyncio.Event().wait()
        if found.delay:
            await asyncio.sleep(found.delay)
        response = web.Response(status=found.status, body=found.body, headers=found.headers)
        response.content_type = found.content_type.split(";")[0]
        return response

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> UpstreamServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()
