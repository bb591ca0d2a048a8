"""The lean RESP client: the wire format, and its behaviour against a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
from api_particulier_ratelimit.resp import (
    Endpoint,
    RedisError,
    RedisTimeout,
    ReplyError,
    RespClient,
    Script,
    _Connection,
    _parse,
    encode,
)
from hypothesis import given
from hypothesis import strategies as st

from .redis_server import RedisServer

pytestmark = pytest.mark.anyio

# RESP2 values as Redis sends them.
_values = st.recursive(
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.binary(max_size=40), st.none()),
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=20,
)


def _wire(value: Any) -> bytes:
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, bytes):
        return b"$%d\r\n%b\r\n" % (len(value), value)
    return b"*%d\r\n" % len(value) + b"".join(_wire(item) for item in value)


@given(st.lists(_values, min_size=1, max_size=6), st.data())
def test_replies_split_anywhere_are_parsed_in_order(values: list[Any], data: st.DataObject) -> None:
    loop = asyncio.new_event_loop()
    try:
        conn = _Connection(1.0, loop)
        futures = [loop.create_future() for _ in values]
        conn.pending.extend(futures)
        conn.deadlines.extend([float("inf")] * len(futures))
        stream = b"".join(_wire(value) for value in values)
        cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
        start = 0
        for cut in [*cuts, len(stream)]:
            if cut > start:
                conn.data_received(stream[start:cut])
                start = cut
        assert [future.result() for future in futures] == values
        assert conn.buffer == b""
    finally:
        loop.close()


class _RecordingTransport:
    """Stands in for the socket: what each system call would carry."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False

    def abort(self) -> None:
        pass


async def test_requests_of_one_turn_are_written_a_few_at_a_time() -> None:
    loop = asyncio.get_running_loop()
    conn = _Connection(1.0, loop)
    transport = _RecordingTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    commands = [encode(("INCR", f"k{n}")) for n in range(9)]
    futures = [loop.create_future() for _ in range(13)]
    for command, future in zip(commands, futures, strict=False):
        conn.send(command, future)
    # Two groups went out during the turn; the ninth waits for its end.
    assert transport.writes == [b"".join(commands[:4]), b"".join(commands[4:8])]
    await asyncio.sleep(0)
    assert transport.writes[2:] == [commands[8]]
    assert b"".join(transport.writes) == b"".join(commands)
    # A turn whose requests filled whole groups leaves nothing to write at its end.
    for command, future in zip(commands[:4], futures[9:], strict=True):
        conn.send(command, future)
    await asyncio.sleep(0)
    assert transport.writes[3:] == [b"".join(commands[:4])]
    # Replies still resolve the requests in the order they were sent.
    conn.data_received(b"".join(b":%d\r\n" % n for n in range(13)))
    assert [future.result() for future in futures] == list(range(13))


def test_simple_strings_and_errors() -> None:
    assert _parse(b"+PONG\r\n", 0) == ("PONG", 7)
    error, end = _parse(b"-NOSCRIPT No matching script\r\n", 0)
    assert isinstance(error, ReplyError)
    assert str(error).startswith("NOSCRIPT")
    assert end == 30


def test_encode() -> None:
    assert encode(("EVALSHA", "ab", 1, b"k")) == (
        b"*4\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$1\r\nk\r\n"
    )


def test_urls() -> None:
    assert Endpoint.parse("redis://127.0.0.1:6390/2") == Endpoint(host="127.0.0.1", port=6390, db=2)
    point = Endpoint.parse("rediss://user:p%40ss@cache.example:6380")
    assert (point.tls, point.username, point.password, point.port) == (
        True,
        "user",
        "p@ss",
        6380,
    )
    assert Endpoint.parse("unix:///run/redis.sock?db=3") == Endpoint(path="/run/redis.sock", db=3)
    with pytest.raises(ValueError):
        Endpoint.parse("http://localhost")


async def test_commands_scripts_and_pipelining(redis_server: RedisServer) -> None:
    client = RespClient(redis_server.url, timeout=0.5)
    try:
        assert await client.execute("PING") == "PONG"
        assert await client.execute("SET", "k", "v") == "OK"
        assert await client.execute("GET", "k") == b"v"
        with pytest.raises(ReplyError):
            await client.execute("INCR", "k")
        script = Script("return {tonumber(ARGV[1]) + 1, KEYS[1]}")
        # The first call finds no cached script (NOSCRIPT) and sends it whole.
        assert await client.run_script(script, ("a",), (41,)) == [42, b"a"]
        assert await client.run_script(script, ("b",), (1,)) == [2, b"b"]
        replies = await asyncio.gather(*(client.execute("INCR", "n") for _ in range(200)))
        assert sorted(replies) == list(range(1, 201))
    finally:
        await client.close()


async def test_reconnects_after_a_restart(redis_server: RedisServer) -> None:
    client = RespClient(redis_server.url, timeout=0.5)
    try:
        assert await client.execute("PING") == "PONG"
        redis_server.restart()
        # The old connection is gone: the first call fails or reconnects, never hangs.
        with contextlib.suppress(RedisError):
            await client.execute("PING")
        assert await client.execute("PING") == "PONG"
    finally:
        await client.close()


async def test_refused_connection_fails_fast(redis_server: RedisServer) -> None:
    url = redis_server.url
    redis_server.kill()
    client = RespClient(url, timeout=0.05)
    started = time.monotonic()
    with pytest.raises(RedisError):
        await client.execute("PING")
    assert time.monotonic() - started < 0.2


async def test_a_hung_server_costs_the_timeout_only(redis_server: RedisServer) -> None:
    client = RespClient(redis_server.url, timeout=0.05)
    try:
        assert await client.execute("PING") == "PONG"
        redis_server.pause()
        started = time.monotonic()
        results = await asyncio.gather(
            *(client.execute("PING") for _ in range(20)), return_exceptions=True
        )
        elapsed = time.monotonic() - started
        # The first to expire closes the connection; the others fail with it.
        assert all(isinstance(r, RedisError) for r in results)
        assert any(isinstance(r, RedisTimeout) for r in results)
        assert elapsed < 0.3
        assert not client.connected
        redis_server.resume()
        assert await client.execute("PING") == "PONG"
    finally:
        redis_server.resume()
        await client.close()
