"""One HTTP client per upstream, shared by the provider plugins.

Provider plugins call their data source through an :class:`Upstream`. It owns an aiohttp
session (aiohttp was chosen by measurement: under hundreds of concurrent calls it costs a
small fraction of httpx's CPU per request, see the performance budget) and turns every
transport outcome into the provider exception tree, so plugins only map *answers*.

API::

    upstream = Upstream(
        "svair",                     # name used in logs
        connect_timeout=3.0,         # seconds to obtain a connection (TCP + TLS)
        read_timeout=7.0,            # seconds for the rest: send, wait, read the body
        max_concurrency=100,         # in-flight calls; one more: ProviderUnavailable, retry 1 s
        ssl=None,                    # an ssl.SSLContext (mutual TLS), or None for default checks
        connect_retries=1,           # extra attempts after a *connection* failure only
        max_body_bytes=10 * 2**20,   # a larger answer → ProviderBadResponse
        breaker_failures=5,          # failures in a row that open the circuit
        breaker_cooldown=30.0,       # seconds the circuit stays open before one probe
    )
    await upstream.open()            # in the plugin's ``startup`` hook
    response = await upstream.request(
        "POST", url, data=b"..." or {"k": "v"}, headers={...}, params={...}, operation="submit",
        deadline=None,               # or a time.perf_counter() value shared by several calls
    )
    response.status, response.headers, response.body   # any HTTP status is returned as is
    await upstream.close()           # in the plugin's ``shutdown`` hook

The deadline of one call is ``connect_timeout + read_timeout``: retries happen inside it.
A lookup made of several calls (a form fetched, then posted) passes the same ``deadline``
(an absolute ``time.perf_counter()`` value) to each of them: every call then ends by the
earlier of its own deadline and that one, and the whole lookup needs no timer of its own.

Errors raised by :meth:`Upstream.request` (all from :mod:`api_particulier.errors`):

- :class:`ProviderTimeout` — the connection or the answer did not come in time;
- :class:`ProviderUnavailable` — connection refused/reset, DNS or TLS failure, the answer
  cut short, the concurrency cap reached (then with ``retry_after=1``), or the circuit
  open (then with ``retry_after`` the seconds left before a probe);
- :class:`ProviderBadResponse` — the body exceeds ``max_body_bytes``.

A call is retried only when the connection could not be established, i.e. when the
request cannot have reached the upstream: some upstreams (DGFiP) count every lookup
against an anti-bruteforce budget, so a request that may have arrived is never repeated.

Circuit breaker (:mod:`api_particulier.breaker`): timeouts, connection and transport
failures and 5xx answers count as failures; ``breaker_failures`` of them in a row open the
circuit, and for ``breaker_cooldown`` seconds every call is refused at once instead of
waiting for an upstream that is down. Then one call goes through as a probe: its success
closes the circuit. :meth:`Upstream.describe` gives the state (served by ``/api/plugins``).

Each call adds its time and outcome to the request being served, if any
(``Call.upstream_ms`` and ``Call.upstream_outcome``, read by ``record_call`` observers), and logs
one ``upstream_call`` line with the upstream name, the caller's operation
label, the HTTP status, the latency, the outcome and the number of attempts. The URL is
never logged: paths and query strings may carry a citizen's identifiers.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import structlog
from multidict import CIMultiDictProxy

from .breaker import CircuitBreaker
from .errors import ProviderBadResponse, ProviderTimeout, ProviderUnavailable
from .logs import current_call

__all__ = ["Upstream", "UpstreamResponse"]

_log = structlog.get_logger("api_particulier.upstream")


class UpstreamResponse:
    """A complete upstream answer: the body is fully read before it is handed over."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: CIMultiDictProxy[str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def text(self, encoding: str = "utf-8") -> str:
        """The body decoded, undecodable bytes replaced (never raises)."""
        return self.body.decode(encoding, errors="replace")


class Upstream:
    """An HTTP client bound to one upstream; see the module documentation."""

    def __init__(
        self,
        name: str,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 7.0,
        max_concurrency: int = 100,
        ssl: ssl_module.SSLContext | None = None,
        connect_retries: int = 1,
        max_body_bytes: int = 10 * 2**20,
        breaker_failures: int = 5,
        breaker_cooldown: float = 30.0,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.name = name
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_concurrency = max_concurrency
        self.connect_retries = max(0, connect_retries)
        self.max_body_bytes = max_body_bytes
        self._ssl = ssl
        self._session: aiohttp.ClientSession | None = None
        self._in_flight = 0
        self.breaker = CircuitBreaker(name, failures=breaker_failures, cooldown=breaker_cooldown)

    @property
    def deadline(self) -> float:
        return self.connect_timeout + self.read_timeout

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def is_open(self) -> bool:
        return self._session is not None and not self._session.closed

    def describe(self) -> dict[str, object]:
        """What an operator wants to know: calls in flight and the circuit's state."""
        return {"name": self.name, "in_flight": self._in_flight, "circuit": self.breaker.describe()}

    async def open(self) -> None:
        if self.is_open:
            return
        connector = aiohttp.TCPConnector(
            # The connector's own limit matches our cap: aiohttp's default of 100 would
            # silently queue calls behind each other.
            limit=self.max_concurrency,
            limit_per_host=0,
            ssl=self._ssl if self._ssl is not None else True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # No cookie jar: a session is shared by every citizen's call.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            raise_for_status=False,
        )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | str | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        operation: str = "call",
        allow_redirects: bool = False,
        deadline: float | None = None,
    ) -> UpstreamResponse:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError(f"upstream {self.name!r} used before open() or after close()")
        started = time.perf_counter()
        ends = started + self.deadline
        if deadline is not None and deadline < ends:
            ends = deadline
        if self._in_flight >= self.max_concurrency:
            self._log(operation, (time.perf_counter() - started) * 1000, None, "overloaded", 0)
            raise ProviderUnavailable(
                "Too many concurrent calls to the data provider", retry_after=1
            )
        breaker = self.breaker
        if not breaker.admit():
            self._log(operation, (time.perf_counter() - started) * 1000, None, "circuit_open", 0)
            raise ProviderUnavailable(
                "The data provider keeps failing: calls are suspended",
                retry_after=breaker.retry_after(),
            )
        self._in_flight += 1
        attempts = 0
        status: int | None = None
        outcome = "error"
        try:
            while True:
                attempts += 1
                remaining = ends - time.perf_counter()
                if remaining <= 0:
                    outcome = "timeout"
                    raise ProviderTimeout()
                timeout = aiohttp.ClientTimeout(
                    total=remaining,
                    connect=min(self.connect_timeout, remaining),
                    sock_read=self.read_timeout,
                )
                try:
                    response = await self._once(
                        session, method, url, data, headers, params, timeout, allow_redirects
                    )
                except aiohttp.ClientSSLError:
                    outcome = "tls_error"
                    raise ProviderUnavailable() from None
                except aiohttp.ClientConnectorError:
                    # Nothing was sent: trying again cannot count as a second lookup.
                    if attempts <= self.connect_retries:
                        continue
                    outcome = "connect_error"
                    raise ProviderUnavailable() from None
                status = response.status
                outcome = "ok" if status < 500 else "upstream_error"
                return response
        except TimeoutError:  # aiohttp's timeouts subclass it
            outcome = "timeout"
            raise ProviderTimeout() from None
        except _BodyTooLarge:
            outcome = "body_too_large"
            raise ProviderBadResponse() from None
        except aiohttp.ClientError:
            outcome = "transport_error"
            raise ProviderUnavailable() from None
        except asyncio.CancelledError:
            # The caller gave up (its deadline, the client gone): not the upstream's fault.
            outcome = "cancelled"
            raise
        finally:
            self._in_flight -= 1
            if outcome == "ok":
                breaker.succeeded()
            elif outcome in _FAILURES:
                breaker.failed()
            else:
                breaker.released()
            # One reading of the clock: the log line and the request's figures agree.
            elapsed_ms = (time.perf_counter() - started) * 1000
            self._log(operation, elapsed_ms, status, outcome, attempts)
            _observe(elapsed_ms, outcome)

    async def _once(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        data: Any,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        limits: aiohttp.ClientTimeout,
        allow_redirects: bool,
    ) -> UpstreamResponse:
        async with session.request(
            method,
            url,
            data=data,
            headers=headers,
            params=params,
            timeout=limits,
            allow_redirects=allow_redirects,
        ) as response:
            length = response.content_length
            if length is not None:
                if length > self.max_body_bytes:
                    raise _BodyTooLarge()
                # The announced length is all aiohttp reads: no chunk loop needed.
                return UpstreamResponse(response.status, response.headers, await response.read())
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(65536):
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise _BodyTooLarge()
                chunks.append(chunk)
            return UpstreamResponse(response.status, response.headers, b"".join(chunks))

    def _log(
        self, operation: str, elapsed_ms: float, status: int | None, outcome: str, attempts: int
    ) -> None:
        if not _log.is_enabled_for(logging.INFO):
            return
        _log.info(
            "upstream_call",
            upstream=self.name,
            operation=operation,
            status=status,
            latency_ms=round(elapsed_ms, 2),
            outcome=outcome,
            attempts=attempts,
        )


def _observe(elapsed_ms: float, outcome: str) -> None:
    """Add the call's time and outcome to the request being served, if any (for the
    ``record_call`` observers)."""
    call = current_call.get()
    if call is None:
        return
    previous = call.upstream_ms
    call.upstream_ms = elapsed_ms if previous is None else previous + elapsed_ms
    call.upstream_outcome = outcome


class _BodyTooLarge(Exception):
    pass


# Outcomes that say the upstream is not answering as it should: they count toward opening
# the circuit. A body too large, or a call cancelled by its caller, says nothing either way.
_FAILURES = frozenset(
    {"timeout", "tls_error", "connect_error", "transport_error", "upstream_error"}
)
