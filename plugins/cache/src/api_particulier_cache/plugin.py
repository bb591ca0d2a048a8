"""The response cache (contract §10), in the core's cache phase (``fetch_cached``).

Per (route, normalised parameters), shared between keys: masking runs after the cache, so
a key only ever sees its own scopes. Only what a provider answered successfully is kept.
``Cache-Control: no-cache`` neither reads nor writes. Concurrent misses of one entry make
one upstream call: one fetch per process (single flight), and across hosts a short Redis
lock that the others wait on, within the route's deadline. When the backend fails, calls
go to the provider as if there were no cache.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import click
import msgspec
import structlog
from api_particulier import Call, CommandContext, ConfigError, Faults, PluginContext, hookimpl

from .backends import Backend, MemoryBackend, RedisBackend
from .config import CacheConfig
from .sealing import MIN_SECRET, Sealer

log = structlog.get_logger("api_particulier.cache")

CACHED = "x-response-cached"
EXPIRES = "x-cache-expires-in"
_POLL = 0.02  # seconds between looks at an entry another host is fetching


class _Flight:
    """One fetch in progress in this process, that calls of the same entry wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.payload: Any = None
        self.ok = False


class _Envelope(msgspec.Struct, array_like=True, frozen=True):
    expires_at: float
    as_struct: bool  # decode the payload as the route's response Struct
    payload: bytes


class CachePlugin:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.config = CacheConfig()
        self.backend: Backend | None = None
        self._sealer: Sealer | None = None
        self._flights: dict[str, _Flight] = {}
        self._down = False
        # Where each failed backend call is counted (context.faults, read by observers).
        self._faults = Faults()

    @hookimpl
    def config_schema(self) -> type[CacheConfig]:
        return CacheConfig

    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        config: CacheConfig = context.config
        self.config = config
        self._faults = context.faults
        self._sealer = Sealer(*_secrets(config))
        if config.backend == "redis":
            if context.redis is None:
                raise ConfigError(
                    [
                        "[plugins.cache] backend = 'redis' needs the deployment's Redis: "
                        "[core.redis] url, or API_PARTICULIER_REDIS_URL"
                    ]
                )
            self.backend = RedisBackend(context.redis, config.redis_prefix)
        else:
            self.backend = MemoryBackend(config.max_entries, config.max_bytes, self._clock)

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        cli.add_command(cache_commands)

    @hookimpl
    def amend_openapi(self, document: dict[str, Any]) -> None:
        headers = document.setdefault("components", {}).setdefault("headers", {})
        headers["X-Response-Cached"] = {
            "description": "Whether the answer came from the response cache (§10).",
            "schema": {"type": "string", "enum": ["true", "false"]},
        }
        headers["X-Cache-Expires-in"] = {
            "description": "Seconds before the cached answer expires (answers from the cache).",
            "schema": {"type": "integer", "minimum": 0},
        }

    def _ttl(self, call: Call) -> float | None:
        route = call.route
        if route is None:
            return None
        ttl = self.config.ttl.get(call.provider or "", route.cache_ttl)
        return ttl if ttl else None

    @hookimpl
    def response_headers(self, call: Call) -> None:
        """Answers of a cacheable route refused before the cache phase (400, 403, 429)
        were not served from the cache either: they say so too. (A 401 has no key, so no
        route-dependent headers at all.)"""
        if self.backend is not None and self._ttl(call) is not None:
            call.response_headers.setdefault(CACHED, "false")

    @hookimpl
    async def fetch_cached(self, call: Call, fetch: Callable[[], Awaitable[Any]]) -> Any:
        ttl = self._ttl(call)
        if ttl is None or self.backend is None or self._sealer is None:
            return None  # not a cacheable route: the core calls the provider
        assert call.route is not None
        call.response_headers[CACHED] = "false"
        if "no-cache" in call.headers.get("cache-control", "").lower():
            return await fetch()
        name = self._sealer.name(call.route.path, msgspec.json.encode(call.params, order="sorted"))
        found = await self._read(name, call)
        if found is not None:
            return found
        flight = self._flights.get(name)
        if flight is not None:
            return await self._follow(flight, call, fetch, name)
        flight = self._flights[name] = _Flight()
        try:
            payload = await self._lead(name, call, fetch, ttl)
            flight.payload, flight.ok = payload, True
            return payload
        finally:
            del self._flights[name]
            flight.done.set()

    async def _follow(
        self, flight: _Flight, call: Call, fetch: Callable[[], Awaitable[Any]], name: str
    ) -> Any:
        """Wait for this process's fetch of the entry; fetch alone if it fails or is late."""
        with anyio.move_on_after(self._wait_bound(call)):
            await flight.done.wait()
        if flight.ok:
            call.cache_hit = True
            call.response_headers[CACHED] = "true"
            return flight.payload
        found = await self._read(name, call)
        return found if found is not None else await fetch()

    async def _lead(
        self, name: str, call: Call, fetch: Callable[[], Awaitable[Any]], ttl: float
    ) -> Any:
        """Fetch the entry for every caller of this host, after the host that holds the
        entry's lock, if another does."""
        assert self.backend is not None
        bound = self._wait_bound(call)
        locked = await self._guarded(self.backend.lock(name, bound), default=True)
        if not locked:
            with anyio.move_on_after(bound):
                while True:
                    await anyio.sleep(_POLL)
                    found = await self._read(name, call)
                    if found is not None:
                        return found
        try:
            payload = await fetch()  # a provider error is raised as it is, and not kept
            await self._write(name, call, payload, ttl)
            return payload
        finally:
            if locked:
                await self._guarded(self.backend.unlock(name), default=None)

    def _wait_bound(self, call: Call) -> float:
        deadline = call.route.deadline if call.route is not None else None
        return min(deadline or self.config.lock_timeout, self.config.lock_timeout)

    async def _read(self, name: str, call: Call) -> Any:
        assert self.backend is not None and self._sealer is not None and call.route is not None
        sealed = await self._guarded(self.backend.get(name), default=None)
        if sealed is None:
            return None
        plain = self._sealer.open(name, sealed)
        try:
            if plain is None:
                raise ValueError("sealed under an unknown key, or altered")
            envelope = msgspec.msgpack.decode(plain, type=_Envelope)
            remaining = envelope.expires_at - self._clock()
            if remaining <= 0:
                return None
            response = call.route.response
            payload = (
                msgspec.msgpack.decode(envelope.payload, type=response)
                if envelope.as_struct
                else msgspec.msgpack.decode(envelope.payload)
            )
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
            log.warning("cache_entry_unreadable", route=call.route.path)
            await self._guarded(self.backend.delete(name), default=None)
            return None
        call.cache_hit = True
        call.response_headers[CACHED] = "true"
        call.response_headers[EXPIRES] = str(math.ceil(remaining))
        return payload

    async def _write(self, name: str, call: Call, payload: Any, ttl: float) -> None:
        assert self.backend is not None and self._sealer is not None and call.route is not None
        envelope = _Envelope(
            expires_at=self._clock() + ttl,
            as_struct=type(payload) is call.route.response,
            payload=msgspec.msgpack.encode(payload),
        )
        sealed = self._sealer.seal(name, msgspec.msgpack.encode(envelope))
        await self._guarded(self.backend.put(name, sealed, ttl), default=None)

    async def _guarded(self, operation: Awaitable[Any], default: Any) -> Any:
        """The backend's answer; on its failure ``default``, logged once per outage."""
        try:
            result = await operation
        except (OSError, TimeoutError, ConnectionError) as exc:
            return self._failed(exc, default)
        except Exception as exc:
            if type(exc).__module__.startswith("redis"):
                return self._failed(exc, default)
            raise
        if self._down:
            self._down = False
            log.info("cache_available")
        return result

    def _failed(self, error: BaseException, default: Any) -> Any:
        self._faults.report("redis")
        if not self._down:
            self._down = True
            log.warning("cache_unavailable", error=type(error).__name__)
        return default


def _secret_bytes(value: str, what: str) -> bytes:
    if len(value) < MIN_SECRET:
        raise ConfigError([f"[plugins.cache] {what}: at least {MIN_SECRET} characters"])
    return value.encode()


def _secrets(config: CacheConfig) -> tuple[bytes, list[bytes]]:
    """(lookup secret, [current key, older keys…]). With the memory backend and no key,
    random ones: the cache dies with the process, so do its keys."""
    if config.backend == "redis" and (config.key is None or config.lookup_secret is None):
        raise ConfigError(
            [
                "[plugins.cache] backend = 'redis' needs key and lookup_secret, as "
                '{ env = "NAME" }: the same on every host'
            ]
        )
    lookup = (
        _secret_bytes(config.lookup_secret.reveal(), "lookup_secret")
        if config.lookup_secret is not None
        else os.urandom(32)
    )
    current = (
        _secret_bytes(config.key.reveal(), "key") if config.key is not None else os.urandom(32)
    )
    older = [_secret_bytes(k.reveal(), "previous_keys") for k in config.previous_keys]
    return lookup, [current, *older]


@click.group(name="cache", help="the response cache")
def cache_commands() -> None:
    pass


@cache_commands.command(help="empty the response cache (every host's, on Redis)")
@click.pass_obj
def purge(ctx: CommandContext) -> int:
    config: CacheConfig = ctx.plugin_config("cache")
    if config.backend == "memory":
        print("the memory cache lives in each running process: it is emptied by a restart")
        return 0
    client = ctx.redis
    if client is None:
        raise ConfigError(["[plugins.cache] backend = 'redis' needs [core.redis]"])

    async def work() -> int:
        try:
            return await RedisBackend(client, config.redis_prefix).purge()
        finally:
            await client.aclose()

    removed = anyio.run(work)
    print(f"{removed} cached entries removed")
    return 0
