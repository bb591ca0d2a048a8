"""The two backends behind one interface, and how the configuration picks one."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Protocol

from api_particulier import ConfigError

from .config import RateLimitConfig
from .memory import Clock, MemoryLimiter
from .redis_limiter import RedisLimiter
from .resp import Endpoint
from .window import Decision


class Limiter(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def hit(self, key_id: str, quota: int) -> Decision: ...
    async def peek(self, key_id: str, quota: int) -> Decision: ...
    # The same decisions when they can be made without waiting, else None (then the
    # caller awaits hit or peek): this spares a coroutine per call on the request path.
    def hit_now(self, key_id: str, quota: int) -> Decision | None: ...
    def peek_now(self, key_id: str, quota: int) -> Decision | None: ...
    def state(self) -> dict[str, object]: ...


class MemoryBackend:
    """Counts in this process only: exact for one process. With several processes and no
    Redis, ``replicas`` divides the quota between them."""

    def __init__(self, config: RateLimitConfig, *, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.limiter = MemoryLimiter(float(config.window), clock)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def hit(self, key_id: str, quota: int) -> Decision:
        return self.hit_now(key_id, quota)

    async def peek(self, key_id: str, quota: int) -> Decision:
        return self.peek_now(key_id, quota)

    # Nothing here waits: every decision is made at once.
    def hit_now(self, key_id: str, quota: int) -> Decision:
        return self.limiter.hit(key_id, self.config.share(quota))

    def peek_now(self, key_id: str, quota: int) -> Decision:
        return self.limiter.peek(key_id, self.config.share(quota))

    def state(self) -> dict[str, object]:
        return {
            "backend": "memory",
            "mode": "memory",
            "degraded": False,
            "keys": len(self.limiter.logs),
        }


def build_limiter(
    config: RateLimitConfig,
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock = time.monotonic,
) -> Limiter:
    if config.backend == "memory":
        return MemoryBackend(config, clock=clock)
    url = config.resolved_redis_url(environ)
    if not url:
        raise ConfigError(
            ['[plugins.ratelimit]: backend = "redis" needs redis_url or API_PARTICULIER_REDIS_URL']
        )
    try:
        Endpoint.parse(url)
    except ValueError as exc:
        # The message names the problem, never the URL (it may hold a password).
        raise ConfigError([f"[plugins.ratelimit]: redis_url: {exc}"]) from None
    return RedisLimiter(config, url, clock=clock)
