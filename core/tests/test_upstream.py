"""The shared upstream client, against real local HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import structlog
from aiohttp import web
from api_particulier.errors import ProviderBadResponse, ProviderTimeout, ProviderUnavailable
from api_particulier.upstream import Upstream

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context, backlog=2048)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    scheme = "https" if ssl_context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def opened(upstream: Upstream) -> AsyncIterator[Upstream]:
    await upstream.open()
    try:
        yield upstream
    finally:
        await upstream.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.anyio
async def test_returns_status_headers_and_body() -> None:
    seen: list[tuple[str, bytes, str | None]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.method, await request.read(), request.headers.get("X-Test")))
        return web.Response(status=201, body=b"hello", headers={"X-Answer": "yes"})

    async with serve(handler) as base, opened(Upstream("t")) as upstream:
        response = await upstream.request(
            "POST", base + "/x", data={"a": "1"}, headers={"X-Test": "v"}
        )
    assert response.status == 201
    assert response.body == b"hello"
    assert response.text() == "hello"
    assert response.headers["X-Answer"] == "yes"
    assert seen == [("POST", b"a=1", "v")]


@pytest.mark.anyio
async def test_upstream_5xx_is_returned_for_the_caller_to_map() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=500, body=b"boom")

    async with serve(handler) as base, opened(Upstream("t")) as upstream:
        response = await upstream.request("GET", base)
    assert response.status == 500


@pytest.mark.anyio
async def test_thousand_concurrent_calls_do_not_serialise() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.5)
        in_flight -= 1
        return web.Response(body=b"ok")

    upstream = Upstream("slow", connect_timeout=10, read_timeout=20, max_concurrency=1000)
    async with serve(handler) as base, opened(upstream):
        started = time.perf_counter()
        responses = await asyncio.gather(*(upstream.request("GET", base) for _ in range(1000)))
        elapsed = time.perf_counter() - started
    assert [r.status for r in responses] == [200] * 1000
    # All 1000 were held by the server at once; serialised they would take 500 s,
    # batched by a pool of 100 at least 5 s.
    assert peak == 1000
    assert elapsed < 4.5


@pytest.mark.anyio
async def test_concurrency_cap_refuses_with_retry_after() -> None:
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(body=b"ok")

    async with serve(handler) as base, opened(Upstream("t", max_concurrency=2)) as upstream:
        first = asyncio.ensure_future(upstream.request("GET", base))
        second = asyncio.ensure_future(upstream.request("GET", base))
        for _ in range(500):  # the two calls reach the server
            if upstream.in_flight == 2:
                break
            await asyncio.sleep(0.01)
        with pytest.raises(ProviderUnavailable) as caught:
            await upstream.request("GET", base)
        assert caught.value.retry_after == 1
        release.set()
        assert [(await first).status, (await second).status] == [200, 200]
        assert upstream.in_flight == 0


class LateServer:
    """A handler that answers after 5 s, counting the requests it received."""

    def __init__(self) -> None:
        self.hits = 0

    async def answer(self, request: web.Request) -> web.Response:
        self.hits += 1
        await asyncio.sleep(5)
        return web.Response(body=b"late")


@pytest.mark.anyio
async def test_read_timeout_is_504_and_never_retried() -> None:
    late = LateServer()
    upstream = Upstream("t", connect_timeout=1, read_timeout=0.3)
    async with serve(late.answer) as base, opened(upstream):
        started = time.perf_counter()
        with pytest.raises(ProviderTimeout):
            await upstream.request("POST", base, data=b"x")
        assert time.perf_counter() - started < 2
    assert late.hits == 1


@pytest.mark.anyio
async def test_shared_deadline_ends_a_call_before_its_own_timeouts() -> None:
    late = LateServer()
    upstream = Upstream("t", connect_timeout=5, read_timeout=5)
    async with serve(late.answer) as base, opened(upstream):
        started = time.perf_counter()
        with pytest.raises(ProviderTimeout):
            await upstream.request("GET", base, deadline=started + 0.3)
        assert time.perf_counter() - started < 2
        assert late.hits == 1
        # A deadline already past: nothing is sent.
        with pytest.raises(ProviderTimeout):
            await upstream.request("GET", base, deadline=time.perf_counter() - 1)
    assert late.hits == 1


@pytest.mark.anyio
async def test_later_shared_deadline_does_not_extend_the_call() -> None:
    upstream = Upstream("t", connect_timeout=0.1, read_timeout=0.2)
    async with serve(LateServer().answer) as base, opened(upstream):
        started = time.perf_counter()
        with pytest.raises(ProviderTimeout):
            await upstream.request("GET", base, deadline=started + 60)
        assert time.perf_counter() - started < 2


@pytest.mark.anyio
async def test_connection_refused_is_503_after_one_retry() -> None:
    upstream = Upstream("t", connect_timeout=1, read_timeout=1)
    async with opened(upstream):
        with structlog.testing.capture_logs() as logs, pytest.raises(ProviderUnavailable) as caught:
            await upstream.request("GET", f"http://127.0.0.1:{free_port()}/?secret=1")
    assert caught.value.retry_after is None
    [line] = [entry for entry in logs if entry["event"] == "upstream_call"]
    assert line["outcome"] == "connect_error"
    assert line["attempts"] == 2
    assert "secret" not in repr(line)


@pytest.mark.anyio
async def test_connection_dropped_after_request_is_503_without_retry() -> None:
    hits = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal hits
        hits += 1
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.2)
        return web.Response()

    async with serve(handler) as base, opened(Upstream("t")) as upstream:
        with pytest.raises(ProviderUnavailable):
            await upstream.request("POST", base, data=b"lookup")
    assert hits == 1


@pytest.mark.anyio
async def test_oversized_body_is_502() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async with serve(handler) as base, opened(Upstream("t", max_body_bytes=1000)) as upstream:
        with pytest.raises(ProviderBadResponse):
            await upstream.request("GET", base)


@pytest.mark.anyio
async def test_log_line_has_outcome_and_latency_but_no_url() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"ok")

    async with serve(handler) as base, opened(Upstream("svair")) as upstream:
        with structlog.testing.capture_logs() as logs:
            await upstream.request("GET", base + "/p/1234567890123?id=1234567890123", operation="f")
    [line] = logs
    assert line["event"] == "upstream_call"
    assert line["upstream"] == "svair"
    assert line["operation"] == "f"
    assert line["status"] == 200
    assert line["outcome"] == "ok"
    assert isinstance(line["latency_ms"], float)
    assert "1234567890123" not in repr(line)


@pytest.mark.anyio
async def test_use_before_open_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError):
        await Upstream("t").request("GET", "http://127.0.0.1:1/")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _make_pki(tmp: Path) -> None:
    """A throw-away CA signing a server and a client certificate for 127.0.0.1."""
    ext = tmp / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=Test CA", "-keyout", str(tmp / "ca.key"), "-out", str(tmp / "ca.pem"),
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=keyCertSign")  # fmt: skip
    for who in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                 "-keyout", str(tmp / f"{who}.key"), "-out", str(tmp / f"{who}.csr"))  # fmt: skip
        _openssl("x509", "-req", "-in", str(tmp / f"{who}.csr"), "-CA", str(tmp / "ca.pem"),
                 "-CAkey", str(tmp / "ca.key"), "-CAcreateserial", "-days", "2",
                 "-extfile", str(ext), "-out", str(tmp / f"{who}.pem"))  # fmt: skip


@pytest.mark.anyio
async def test_mutual_tls_through_an_ssl_context(tmp_path: Path) -> None:
    _make_pki(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server_ctx.load_verify_locations(tmp_path / "ca.pem")
    server_ctx.verify_mode = ssl.CERT_REQUIRED

    async def handler(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        return web.Response(body=b"client-ok" if peer else b"anonymous")

    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    client_ctx.load_cert_chain(tmp_path / "client.pem", tmp_path / "client.key")
    no_cert_ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))

    async with serve(handler, server_ctx) as base:
        async with opened(Upstream("tls", ssl=client_ctx)) as upstream:
            response = await upstream.request("GET", base)
        assert response.body == b"client-ok"
        async with opened(Upstream("tls", ssl=no_cert_ctx)) as upstream:
            with pytest.raises(ProviderUnavailable):
                await upstream.request("GET", base)
        async with opened(Upstream("tls")) as upstream:  # unknown CA: refused
            with pytest.raises(ProviderUnavailable):
                await upstream.request("GET", base)
