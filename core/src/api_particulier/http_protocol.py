"""The HTTP/1.1 protocol ``serve`` runs: uvicorn's httptools protocol, with the bounds the
service keeps by itself (the embedded default has no proxy in front of it).

uvicorn with httptools sets no limit on the size of a request's head and no time limit on
reading it: one anonymous 100 MB header, or thousands of connections that never send a
byte, were enough to stall or starve the service. This protocol adds, per process:

- **a bounded head**: the request line and headers together hold at most
  ``max_header_bytes``; beyond, 431, before the parser has buffered more than that;
- **a bounded request line**: a request target longer than ``max_request_line`` is a 414;
- **a header-read timeout**: a connection has ``header_timeout`` seconds from its opening
  (or from the first byte of each next request) to complete the request's headers, or it
  is closed; an idle kept-alive connection is closed after ``keep_alive_timeout``;
- **a cap on open connections**: beyond ``max_connections``, a new connection is answered
  503 and closed;
- **one error shape**: a malformed request gets the contract's JSON error body and an
  ``X-Request-Id``, like any other refusal, instead of uvicorn's plain text.

Refusals are logged as one ``http_refused`` line per reason, at most every
``_LOG_EVERY`` seconds, with the count since the last line: a flood cannot flood the logs.

What it cannot change: after a malformed request on a kept-alive connection whose earlier
pipelined request is still being answered, that answer is lost with the connection (the
parser cannot resume after an error).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httptools
import msgspec
import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .responses import new_request_id
from .settings import HttpConfig
from .types import ErrorBody

_log = structlog.get_logger("api_particulier.http")
_LOG_EVERY = 10.0
# After a refusal is written, what the client still sends is read and dropped for this long
# before the connection closes: closing a socket with unread data resets it, and the reset
# can destroy the refusal before the client reads it.
LINGER = 1.0


class _RefusalLog:
    """Counts refusals by reason; logs the first at once, then at most every few seconds."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._next: dict[str, float] = {}

    def count(self, reason: str, status: int | None, **fields: Any) -> None:
        self._counts[reason] = self._counts.get(reason, 0) + 1
        now = time.monotonic()
        if now < self._next.get(reason, 0.0):
            return
        self._next[reason] = now + _LOG_EVERY
        count, self._counts[reason] = self._counts[reason], 0
        _log.warning("http_refused", reason=reason, status=status, count=count, **fields)


# One per process, like the server whose connections it counts.
_refusals = _RefusalLog()


@dataclass(frozen=True)
class _Refusal:
    """An answer written by the protocol itself, before any application code runs."""

    status: int
    phrase: bytes
    body: ErrorBody
    retry_after: int | None = None

    def encode(self) -> bytes:
        body = msgspec.json.encode(self.body)
        head = [
            b"HTTP/1.1 %d %s" % (self.status, self.phrase),
            b"content-type: application/json; charset=utf-8",
            b"content-length: %d" % len(body),
            b"x-request-id: " + new_request_id().encode("ascii"),
            b"connection: close",
        ]
        if self.retry_after is not None:
            head.append(b"retry-after: %d" % self.retry_after)
        return b"\r\n".join(head) + b"\r\n\r\n" + body


_MALFORMED = _Refusal(
    400,
    b"Bad Request",
    ErrorBody("bad_request", "Malformed HTTP request", "La requête HTTP est mal formée"),
)
_HEAD_TOO_LARGE = _Refusal(
    431,
    b"Request Header Fields Too Large",
    ErrorBody(
        "bad_request",
        "Request line and headers too large",
        "Les en-têtes de la requête sont trop volumineux",
    ),
)
_TARGET_TOO_LONG = _Refusal(
    414,
    b"URI Too Long",
    ErrorBody("bad_request", "Request target too long", "L'adresse de la requête est trop longue"),
)
_OVER_CAPACITY = _Refusal(
    503,
    b"Service Unavailable",
    ErrorBody(
        "service_unavailable",
        "Too many open connections",
        "Le service est momentanément saturé, veuillez réessayer",
    ),
    retry_after=1,
)


def _limits_of(app: object) -> HttpConfig:
    """The ``http_limits`` of the application, looked for through the middlewares uvicorn
    may wrap it in (proxy headers, message logging); the defaults for any other one."""
    for _ in range(8):
        limits = getattr(app, "http_limits", None)
        if isinstance(limits, HttpConfig):
            return limits
        app = getattr(app, "app", None)
        if app is None:
            break
    return HttpConfig()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds above. The limits come from the
    application served (``ApiApp.http_limits``), else :class:`HttpConfig`'s defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = _limits_of(self.app)
        self._refused = False
        # False for a connection refused at once: uvicorn's side of it was never set up.
        self._accepted = False
        # Bytes of the current request's head received so far; None once it is complete.
        self._head_bytes: int | None = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None

    # -- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            _refusals.count("over_capacity", 503, max_connections=self.limits.max_connections)
            self._answer_and_close(transport, _OVER_CAPACITY)
            return
        super().connection_made(transport)
        self._accepted = True
        # A new connection has header_timeout to complete its first request's headers.
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        if self._linger is not None:
            self._linger.cancel()
        if self._accepted:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        # While a head is being read, feed the parser no more than what the head may hold:
        # it buffers a header until the header ends, so this is what bounds its memory.
        # (Most requests arrive whole, in one piece far below the bound.)
        while data and self._head_bytes is not None:
            room = self.limits.max_header_bytes - self._head_bytes
            if room <= 0:
                self._refuse(_HEAD_TOO_LARGE, "head_too_large")
                return
            if len(data) <= room:
                chunk, data = data, b""
            else:
                chunk, data = data[:room], data[room:]
            self._head_bytes += len(chunk)
            if not self._feed(chunk):
                return
        if data and not self._feed(data):
            return
        # A head begun but not complete has header_timeout to be: the timer is armed only
        # then, so a request that arrives whole (the usual case) costs no timer at all.
        if self._head_bytes and self._head_timer is None:
            self._start_head_timer()

    def _feed(self, data: bytes) -> bool:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no WebSocket here: the request was answered as a plain one
        except httptools.HttpParserError:
            self._refuse(_MALFORMED, "malformed")
            return False
        return not self._refused

    # -- parser callbacks (the parser goes on with the rest of a chunk after a refusal:
    # what follows one is ignored) ---------------------------------------------------------

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._stop_head_timer()
        if len(self.url) > self.limits.max_request_line:
            self._refuse(_TARGET_TOO_LONG, "target_too_long")
            return
        # A body may follow: it is not part of the head.
        self._head_bytes = None
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        # What follows on this connection is the head of the next request.
        self._head_bytes = 0

    # -- refusals --------------------------------------------------------------------------

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timeout)

    def _stop_head_timer(self) -> None:
        timer, self._head_timer = self._head_timer, None
        if timer is not None:
            timer.cancel()

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        _refusals.count("header_timeout", None, header_timeout=self.limits.header_timeout)
        self.transport.close()

    def _refuse(self, refusal: _Refusal, reason: str) -> None:
        self._refused = True
        self._stop_head_timer()
        _refusals.count(reason, refusal.status)
        if not self.transport.is_closing():
            self._answer_and_close(self.transport, refusal)

    def _answer_and_close(self, transport: asyncio.Transport, refusal: _Refusal) -> None:
        transport.write(refusal.encode())
        if transport.can_write_eof():
            transport.write_eof()
        # data_received drops what comes next; the client may also close first.
        self._linger = asyncio.get_running_loop().call_later(LINGER, transport.close)
