"""The two backends behind one interface, and how the configuration picks one."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from api_particulier import ConfigError, Faults

from .config import RateLimitConfig
from .memory import Clock, MemoryLimiter
from .redis_limiter import RedisLimiter
from .window import Decision

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Limiter(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def hit(self, key_id: str, quota: int) -> Decision: ...
    async def peek(self, key_id: str, quota: int) -> Decision: ...
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
        return self.limiter.hit(key_id, self.config.share(quota))

    async def peek(self, key_id: str, quota: int) -> Decision:
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
    redis: Redis | None,
    *,
    clock: Clock = time.monotonic,
    faults: Faults | None = None,
) -> Limiter:
    if config.backend == "memory":
        return MemoryBackend(config, clock=clock)
    if redis is None:
        raise ConfigError(
            [
                '[plugins.ratelimit]: backend = "redis" needs the deployment\'s Redis: '
                "[core.redis] url, or API_PARTICULIER_REDIS_URL"
            ]
        )
    return RedisLimiter(config, redis, clock=clock, faults=faults)
