"""A lean Redis client: RESP2 over one pipelined connection, with a deadline on every call.

The limiter needs three commands (EVALSHA, EVAL, PING) on the request path, where a
general-purpose client costs several times the whole per-request budget (see the plugin's
documentation for the measurements). Requests made during one turn of the event loop are
written a few at a time (one system call per group, the rest at the end of the turn):
Redis starts on the first ones while the turn's later requests are still being handled,
instead of idling until the turn ends and then keeping the server waiting. Replies arrive
in the same order and resolve a FIFO of futures. A call that misses its deadline closes the
connection: a hung server must not accumulate a backlog, and whatever it still owes is
failed at once; the next call reconnects.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORT = 6379
# Requests of one loop turn written per system call before the turn ends. Under load a
# turn holds the requests of dozens of connections; writing them only at its end runs the
# server and Redis in lock-step, each idle while the other works. 4 measured best among
# 1, 2, 4, 8, 16 and "at the end of the turn only" (docs/performance.md).
_WRITE_EVERY = 4
# Bound on the encoded commands kept for reuse (a few per active key).
_ENCODED_KEPT = 4096


class RedisError(Exception):
    """Redis gave no usable answer: unreachable, too slow, or the connection broke."""


class RedisTimeout(RedisError):
    pass


class ReplyError(RedisError):
    """Redis answered with an error reply (``-ERR …``)."""


class _Incomplete(Exception):
    pass


_INCOMPLETE = _Incomplete()


def _parse(buf: bytes, pos: int) -> tuple[Any, int]:
    """One RESP2 value starting at ``pos``: the value and where the next one starts."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _INCOMPLETE
    kind = buf[pos]
    if kind == 58:  # ':' integer
        return int(buf[pos + 1 : end]), end + 2
    if kind == 36:  # '$' bulk string
        size = int(buf[pos + 1 : end])
        if size < 0:
            return None, end + 2
        stop = end + 2 + size
        if len(buf) < stop + 2:
            raise _INCOMPLETE
        return buf[end + 2 : stop], stop + 2
    if kind == 42:  # '*' array
        count = int(buf[pos + 1 : end])
        if count < 0:
            return None, end + 2
        items: list[Any] = []
        at = end + 2
        for _ in range(count):
            item, at = _parse(buf, at)
            items.append(item)
        return items, at
    if kind == 43:  # '+' simple string
        return buf[pos + 1 : end].decode("utf-8", "replace"), end + 2
    if kind == 45:  # '-' error: delivered as a value, raised by the caller that sent it
        return ReplyError(buf[pos + 1 : end].decode("utf-8", "replace")), end + 2
    raise RedisError("unexpected data from Redis")


def encode(args: tuple[bytes | str | int, ...]) -> bytes:
    """A command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


class _Connection(asyncio.Protocol):
    """One connection: requests in flight, oldest first, each with its deadline.

    Rather than one timer per call, a watchdog looks at the oldest request every quarter
    of the timeout while requests are in flight: a call waits at most 1.25 × the timeout.
    """

    def __init__(self, timeout: float, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.pending: deque[asyncio.Future[Any]] = deque()
        self.deadlines: deque[float] = deque()
        self.watchdog: asyncio.TimerHandle | None = None
        self.buffer = b""
        self.closed = False
        # Requests not written yet: written once _WRITE_EVERY of them wait, the rest by a
        # callback at the end of this loop turn.
        self.outbox: list[bytes] = []
        self.flush_scheduled = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio.Transport but offer its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data if self.buffer else data
        pos, size, pending, deadlines = 0, len(buf), self.pending, self.deadlines
        try:
            while pos < size:
                try:
                    value, pos = _parse(buf, pos)
                except _Incomplete:
                    break
                future = pending.popleft()
                deadlines.popleft()
                if not future.done():
                    future.set_result(value)
        except (RedisError, ValueError, IndexError):
            # Garbage, or a reply nobody asked for: this connection cannot be trusted.
            self.abort()
            return
        self.buffer = buf[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        self.deadlines.clear()
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(RedisError("connection to Redis lost"))

    @property
    def usable(self) -> bool:
        transport = self.transport
        return not self.closed and transport is not None and not transport.is_closing()

    def send(self, payload: bytes, future: asyncio.Future[Any]) -> None:
        """Write one request; raise :class:`RedisError` if the connection is gone (its
        loss may not have been reported yet)."""
        if not self.usable:
            raise RedisError("connection to Redis closed")
        self.outbox.append(payload)
        self.pending.append(future)
        self.deadlines.append(self.loop.time() + self.timeout)
        if self.watchdog is None:
            self.watchdog = self.loop.call_later(self.timeout / 4, self._watch)
        if len(self.outbox) >= _WRITE_EVERY:
            self._flush()
        elif not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self._end_of_turn)

    def _end_of_turn(self) -> None:
        self.flush_scheduled = False
        self._flush()

    def _flush(self) -> None:
        outbox, self.outbox = self.outbox, []
        transport = self.transport
        if not outbox or self.closed or transport is None:
            return  # nothing left, or connection_lost failed what was waiting
        try:
            transport.write(b"".join(outbox) if len(outbox) > 1 else outbox[0])
        except (RuntimeError, OSError):
            # uvloop raises on a transport closed under our feet; the callers waiting on
            # these requests learn it from connection_lost.
            self.abort()

    def _watch(self) -> None:
        self.watchdog = None
        if self.closed or not self.pending:
            return
        if self.deadlines[0] <= self.loop.time():
            future = self.pending[0]
            if not future.done():
                future.set_exception(RedisTimeout("Redis did not answer in time"))
            # A hung server must not accumulate a backlog: drop the connection and fail
            # whatever it still owes.
            self.abort()
            return
        self.watchdog = self.loop.call_later(self.timeout / 4, self._watch)

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect, parsed from a Redis URL."""

    host: str | None = None
    port: int = DEFAULT_PORT
    path: str | None = None
    tls: bool = False
    username: str | None = None
    password: str | None = None
    db: int = 0

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        password = unquote(parts.password) if parts.password else None
        username = unquote(parts.username) if parts.username else None
        if "password" in query:
            password = query["password"][0]
        db_text = query.get("db", [""])[0]
        if parts.scheme == "unix":
            if not parts.path:
                raise ValueError("a unix:// Redis URL needs a socket path")
            return cls(path=parts.path, username=username, password=password, db=int(db_text or 0))
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
        db_path = parts.path.strip("/")
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or DEFAULT_PORT,
            tls=parts.scheme == "rediss",
            username=username,
            password=password,
            db=int(db_path or db_text or 0),
        )


@dataclass(frozen=True)
class Script:
    """A Lua script, called by its SHA-1 and sent in full only when Redis lacks it."""

    source: str

    @cached_property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode("utf-8"), usedforsecurity=False).hexdigest()


class RespClient:
    def __init__(self, url: str, *, timeout: float) -> None:
        self.endpoint = Endpoint.parse(url)
        self.timeout = timeout
        self._conn: _Connection | None = None
        self._lock = asyncio.Lock()
        # Encoded commands by their arguments: the limiter sends the same few commands
        # (one per key, quota and mode) over and over.
        self._encoded: dict[tuple[bytes | str | int, ...], bytes] = {}

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.usable

    async def connect(self, within: float | None = None) -> None:
        """Open the connection if it is not open, in at most ``within`` seconds (default:
        the call timeout); raise :class:`RedisError` on failure."""
        if self.connected:
            return
        try:
            await asyncio.wait_for(self._open(), within or self.timeout)
        except TimeoutError:
            raise RedisTimeout("connecting to Redis timed out") from None
        except OSError as exc:
            raise RedisError(f"cannot connect to Redis ({type(exc).__name__})") from None

    async def _open(self) -> None:
        async with self._lock:
            if self.connected:
                return
            loop = asyncio.get_running_loop()
            point = self.endpoint
            tls = ssl.create_default_context() if point.tls else None
            conn = _Connection(self.timeout, loop)
            if point.path is not None:
                await loop.create_unix_connection(lambda: conn, point.path)
            else:
                host = point.host or "localhost"
                await loop.create_connection(lambda: conn, host, point.port, ssl=tls)
            handshake: list[tuple[bytes | str | int, ...]] = []
            if point.password is not None:
                credentials = (
                    (point.username, point.password) if point.username else (point.password,)
                )
                handshake.append(("AUTH", *credentials))
            if point.db:
                handshake.append(("SELECT", point.db))
            try:
                for command in handshake:
                    future: asyncio.Future[Any] = loop.create_future()
                    conn.send(encode(command), future)
                    reply = await future
                    if isinstance(reply, ReplyError):
                        raise reply
            except BaseException:
                conn.abort()
                raise
            self._conn = conn

    async def execute(self, *args: bytes | str | int) -> Any:
        """Send one command and wait for its reply, at most ``self.timeout`` seconds (plus
        as much to reconnect first if the connection was closed)."""
        payload = self._encoded.get(args)
        if payload is None:
            payload = encode(args)
            if len(self._encoded) >= _ENCODED_KEPT:
                self._encoded.clear()
            self._encoded[args] = payload
        conn = self._conn
        if conn is None or not conn.usable:
            conn = await self._reconnect()
        future: asyncio.Future[Any] = conn.loop.create_future()
        try:
            conn.send(payload, future)
        except RedisError:
            # Closed before anything was sent (a restarted server, an idle connection
            # dropped by a proxy): one fresh connection, then the failure stands.
            conn = await self._reconnect()
            conn.send(payload, future)
        reply = await future
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    async def _reconnect(self) -> _Connection:
        await self.connect(self.timeout)
        conn = self._conn
        if conn is None:
            raise RedisError("connection to Redis closed")
        return conn

    async def run_script(
        self, script: Script, keys: tuple[str, ...], args: tuple[bytes | str | int, ...]
    ) -> Any:
        """EVALSHA, falling back to EVAL when the server does not know the script yet
        (first use, or a restarted server)."""
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except ReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self.execute("EVAL", script.source, len(keys), *keys, *args)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and conn.transport is not None and not conn.closed:
            conn.closed = True
            conn.transport.close()
