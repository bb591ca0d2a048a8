"""The bounds of the HTTP server, over raw sockets against the protocol ``serve`` runs.

Each test serves an application with uvicorn and :class:`BoundedHttpToolsProtocol` on a
loopback port, with small limits, and speaks bytes to it. Durations are never asserted
beyond "it happened, eventually": a slow machine must not fail these tests.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import structlog
import uvicorn
from api_particulier.app import create_app
from api_particulier.http_protocol import BoundedHttpToolsProtocol
from api_particulier.testing import make_settings

from .support import EchoProvider

pytestmark = pytest.mark.anyio

MAX_CONNECTIONS = 4
LIMITS: dict[str, Any] = {
    "max_request_line": 1024,
    "max_header_bytes": 4096,
    "header_timeout": 0.3,
    "keep_alive_timeout": 0.3,
    "max_connections": MAX_CONNECTIONS,
}
# Generous: what "closed by the server" waits for at most, on the slowest machine.
PATIENCE = 20.0
PING = b"GET /api/ping HTTP/1.1\r\nHost: test\r\n\r\n"


class Server:
    """A served application's port, and the client connections a test opened to it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers.append(writer)
        return reader, writer

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()


@asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[Server]:
    settings = make_settings(tmp_path, http=LIMITS)
    app = create_app(settings, plugins={"echo": EchoProvider()})
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=BoundedHttpToolsProtocol,
        ws="none",
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=LIMITS["keep_alive_timeout"],
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    client = Server(server.servers[0].sockets[0].getsockname()[1])
    try:
        yield client
    finally:
        await client.close()
        server.should_exit = True
        await task


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(PATIENCE):
        try:
            return await reader.read()
        except ConnectionResetError:
            return b""


def parse(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return status, headers, json.loads(body) if body else None


async def ping(server: Server) -> int:
    reader, writer = await server.connect()
    writer.write(PING.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    status, _, _ = parse(await read_until_closed(reader))
    return status


def assert_error_body(headers: dict[str, str], body: Any) -> None:
    assert set(body) == {"error", "reason", "message"}
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert str(uuid.UUID(headers["x-request-id"])) == headers["x-request-id"]


async def test_a_head_over_the_limit_is_431_before_it_is_buffered(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        reader, writer = await server.connect()
        writer.write(b"GET /api/ping HTTP/1.1\r\nHost: test\r\nX-Big: ")
        # A 100 MB header, sent in chunks while the answer is awaited: the server must
        # answer long before the end, having buffered no more than the limit.
        answer = asyncio.create_task(read_until_closed(reader))
        sent = 0
        with structlog.testing.capture_logs() as logs:
            try:
                while sent < 100 * 2**20 and not answer.done():
                    writer.write(b"a" * 65536)
                    await writer.drain()
                    sent += 65536
            except ConnectionError:
                pass
            raw = await answer
        status, headers, body = parse(raw)
        assert status == 431
        assert_error_body(headers, body)
        assert sent < 100 * 2**20
        assert any(e["event"] == "http_refused" and e["reason"] == "head_too_large" for e in logs)
        assert await ping(server) == 200


async def test_a_head_just_within_the_limit_is_served(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        request = PING.replace(b"\r\n\r\n", b"\r\nConnection: close\r\nX-Pad: ")
        padding = LIMITS["max_header_bytes"] - len(request) - 4
        reader, writer = await server.connect()
        writer.write(request + b"p" * int(padding) + b"\r\n\r\n")
        status, _, body = parse(await read_until_closed(reader))
        assert (status, body) == (200, "pong")


async def test_a_long_request_target_is_414(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        reader, writer = await server.connect()
        writer.write(b"GET /api/ping?x=" + b"1" * 2000 + b" HTTP/1.1\r\nHost: test\r\n\r\n")
        status, headers, body = parse(await read_until_closed(reader))
        assert status == 414
        assert_error_body(headers, body)


async def test_a_malformed_request_gets_the_error_body_and_a_request_id(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        reader, writer = await server.connect()
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        status, headers, body = parse(await read_until_closed(reader))
        assert status == 400
        assert_error_body(headers, body)
        assert body["error"] == "bad_request"


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /api/ping HTTP/1.1\r\nHost: te", b"G"],
    ids=["nothing", "partial headers", "one byte"],
)
async def test_a_connection_that_does_not_finish_its_headers_is_closed(
    tmp_path: Path, sent: bytes
) -> None:
    async with served(tmp_path) as server:
        reader, writer = await server.connect()
        writer.write(sent)
        with structlog.testing.capture_logs() as logs:
            assert await read_until_closed(reader) == b""
        assert [e["reason"] for e in logs if e["event"] == "http_refused"] in (
            ["header_timeout"],
            [],  # logged already by an earlier test in this process, within the interval
        )


async def test_an_idle_kept_alive_connection_is_closed(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        reader, writer = await server.connect()
        writer.write(PING)
        raw = await read_until_closed(reader)
        status, _, body = parse(raw)
        assert (status, body) == (200, "pong")


async def test_a_slow_next_request_on_a_kept_alive_connection_is_closed(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        reader, writer = await server.connect()
        writer.write(PING)
        async with asyncio.timeout(PATIENCE):
            first = await reader.readuntil(b'"pong"')
        assert first.startswith(b"HTTP/1.1 200")
        # The next request starts, then stalls: the header timeout applies again.
        writer.write(b"GET /api/ping HTTP/1.1\r\n")
        assert await read_until_closed(reader) == b""


async def test_connections_beyond_the_cap_are_refused_until_room_is_made(
    tmp_path: Path,
) -> None:
    async with served(tmp_path) as server:
        idle = [await server.connect() for _ in range(MAX_CONNECTIONS)]
        await asyncio.sleep(0.05)
        reader, _writer = await server.connect()
        status, headers, body = parse(await read_until_closed(reader))
        assert status == 503
        assert_error_body(headers, body)
        assert headers["retry-after"] == "1"
        # The idle ones are closed by the header timeout; then there is room again.
        for idle_reader, _ in idle:
            await read_until_closed(idle_reader)
        assert await ping(server) == 200


async def test_pipelined_requests_are_answered_in_order(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        reader, writer = await server.connect()
        last = PING.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        writer.write(PING + PING + last)
        raw = await read_until_closed(reader)
        assert raw.count(b"HTTP/1.1 200") == 3
