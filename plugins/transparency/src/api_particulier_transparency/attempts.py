"""Attempts per client address: a citizen asks a few times; whoever tries tokens or
identifiers in a loop is stopped before anything is asked of FranceConnect or a provider.

With the deployment's Redis (``[core.redis]``), every worker and host counts together, so
the bound holds for the whole deployment; without it, or while Redis cannot be reached,
each process counts alone.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import structlog
from api_particulier import Faults, PluginContext
from redis.exceptions import RedisError

from .config import TransparencyConfig

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger("api_particulier_transparency")

# Addresses remembered at most by one process: the oldest is forgotten first.
_MAX_ADDRESSES = 100_000
# What Redis being unreachable or failing raises; anything else is a bug, not an outage.
_REDIS_FAULTS = (RedisError, OSError, TimeoutError)


class Counter(Protocol):
    async def admit(self, address: str) -> float | None: ...


class Attempts:
    """The attempts of this process alone."""

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    async def admit(self, address: str) -> float | None:
        """Count an attempt; None when admitted, else the seconds until the next one is."""
        now = self._clock()
        times = self._seen.pop(address, None) or deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        self._seen[address] = times
        if len(self._seen) > _MAX_ADDRESSES:
            self._seen.popitem(last=False)
        if len(times) >= self._limit:
            return max(1.0, times[0] + self._window - now)
        times.append(now)
        return None


# KEYS[1] the address's log (a sorted set of attempt times, µs of the Redis server's clock)
# ARGV[1] limit    ARGV[2] window, µs
# Returns µs until the next attempt is admitted, 0 when this one is.
_SLIDING_LOG = """
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.ceil(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', key, now, string.format('%.0f', now) .. '.' .. count)
redis.call('PEXPIRE', key, math.floor(window / 1000) + 1)
return 0
"""


class SharedAttempts:
    """The attempts of every process sharing the deployment's Redis.

    The key names a keyed digest of the address, never the address itself. While Redis
    cannot be reached, this process counts alone (reported as a Redis fault)."""

    def __init__(
        self,
        redis: Redis,
        limit: int,
        window: float,
        *,
        secret: bytes,
        faults: Faults,
        prefix: str = "api-particulier:transparency:attempts:",
    ) -> None:
        self._script = redis.register_script(_SLIDING_LOG)
        self._limit = limit
        self._window_us = int(window * 1_000_000)
        self._secret = secret
        self._faults = faults
        self._prefix = prefix
        self._alone = Attempts(limit, window)

    async def admit(self, address: str) -> float | None:
        digest = hmac.new(self._secret, address.encode("utf-8"), hashlib.sha256).hexdigest()
        try:
            wait = await self._script(
                keys=[self._prefix + digest[:32]], args=[self._limit, self._window_us]
            )
        except _REDIS_FAULTS as exc:
            self._faults.report("redis")
            log.warning("citizen_attempts_counted_alone", error=type(exc).__name__)
            return await self._alone.admit(address)
        if not isinstance(wait, int):
            raise TypeError("the attempts script answered something else than an integer")
        return None if wait == 0 else max(1.0, wait / 1_000_000)


def attempts_counter(config: TransparencyConfig, context: PluginContext, secret: bytes) -> Counter:
    """Shared through the deployment's Redis when it has one; this process's own else."""
    if context.redis is None:
        return Attempts(config.max_attempts, config.attempts_window)
    return SharedAttempts(
        context.redis,
        config.max_attempts,
        config.attempts_window,
        secret=secret,
        faults=context.faults,
    )
