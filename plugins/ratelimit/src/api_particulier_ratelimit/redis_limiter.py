"""The redis backend: one shared sliding log per key, and what to do when Redis is away.

Normal mode: each decision is one call of :data:`.script.SLIDING_LOG` through the
deployment's shared Redis client (redis-py), bounded by ``redis_timeout``. A refusal is
remembered locally until the moment Redis said a call would
be admissible again, so a key hammered far above its quota costs Redis one call per
admission, not one per request (refusing early never breaks the bound).

Any failure (refused connection, timeout, broken connection, error reply) switches the
process to its fallback, chosen by ``fail``:

* ``degrade``: count locally, ``quota // replicas`` per key, so that all the processes
  counting alone together stay within the quota. The first window after the switch admits
  nothing: Redis may have admitted up to the whole quota just before it went away, and
  this process cannot know how much.
* ``open``: admit everything.
* ``closed``: refuse everything (503, not the caller's fault).

A background probe pings Redis every ``probe_interval``; when it answers, the process goes
back to it and writes the calls it admitted alone during the last window into the shared
log (at each key's first call), so that they still count.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, cast

import structlog
from api_particulier import Faults
from redis.exceptions import RedisError

from .config import RateLimitConfig
from .memory import SWEEP_INTERVAL, Clock, MemoryLimiter
from .script import SLIDING_LOG
from .window import Decision

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger("api_particulier_ratelimit")

DEGRADED_POLICY = "degraded"
UNENFORCED_POLICY = "unenforced"
UNAVAILABLE_POLICY = "unavailable"

# What talking to Redis may raise: all mean "no usable answer", never a 500. (A reply of
# the wrong shape is a fault of this plugin or of the script, and is one.)
_FAULTS = (RedisError, OSError, TimeoutError)


class RedisLimiter:
    def __init__(
        self,
        config: RateLimitConfig,
        redis: Redis,
        *,
        clock: Clock = time.monotonic,
        window: float | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.config = config
        self.redis = redis
        # Where each failed Redis call is counted (context.faults, read by observers).
        self.faults = faults if faults is not None else Faults()
        self.script = redis.register_script(SLIDING_LOG)
        # ``window`` (seconds) overrides the configured whole seconds; tests use short ones.
        self.window = float(config.window) if window is None else window
        self.window_us = round(self.window * 1_000_000)
        self.prefix = config.key_prefix
        self.clock = clock
        self.degraded = False
        self.degraded_since: float | None = None
        self.failures = 0
        self.local: MemoryLimiter | None = None
        self.hold_until = 0.0
        # Local admission times per key, carried into Redis after an outage.
        self.carry: dict[str, list[float]] = {}
        self.carry_until = 0.0
        # Keys Redis refused, with the local time before which it would refuse again.
        self.blocked: dict[str, float] = {}
        self._next_sweep = clock() + SWEEP_INTERVAL
        self._probe: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._ping()
        except _FAULTS as exc:
            self.faults.report("redis")
            self._degrade(exc)

    async def _ping(self) -> None:
        async with asyncio.timeout(max(self.config.redis_timeout, 1.0)):
            # redis-py types its commands for its sync and async clients at once.
            await cast("Awaitable[bool]", self.redis.ping())

    async def close(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
        # The client is the deployment's: the core closes it.

    def state(self) -> dict[str, object]:
        """What an operator wants to know: mode, since when, how many switches."""
        return {
            "backend": "redis",
            "mode": self.config.fail if self.degraded else "redis",
            "degraded": self.degraded,
            "degraded_for": (
                round(self.clock() - self.degraded_since, 3)
                if self.degraded_since is not None
                else None
            ),
            "failures": self.failures,
        }

    # -- decisions ------------------------------------------------------------------------

    async def peek(self, key_id: str, quota: int) -> Decision:
        return await self.hit(key_id, quota, consume=False)

    async def hit(self, key_id: str, quota: int, consume: bool = True) -> Decision:
        if self.degraded:
            return self._fallback(key_id, quota, consume)
        now = self.clock()
        if now >= self._next_sweep:
            self._sweep(now)
        until = self.blocked.get(key_id)
        if until is not None:
            if until > now:
                return Decision(False, quota, 0, until - now)
            del self.blocked[key_id]
        args: tuple[int, ...] = (quota, self.window_us, 1 if consume else 0)
        if self.carry:
            args += self._carried(key_id, now)
        try:
            async with asyncio.timeout(self.config.redis_timeout):
                reply = await self.script(keys=[self.prefix + key_id], args=list(args))
            admitted, count, reset_us, _ = reply
        except _FAULTS as exc:
            self.faults.report("redis")
            self._degrade(exc)
            return self._fallback(key_id, quota, consume)
        reset = reset_us / 1_000_000
        if consume and not admitted:
            # Measured from the reply, later than Redis's own clock: never too early.
            self.blocked[key_id] = self.clock() + reset
        return Decision(admitted == 1, quota, max(quota - count, 0), reset)

    def _carried(self, key_id: str, now: float) -> tuple[int, ...]:
        if now >= self.carry_until:
            self.carry = {}
            return ()
        times = self.carry.pop(key_id, None)
        if not times:
            return ()
        return tuple(int((now - at) * 1_000_000) for at in times if now - at < self.window)

    def _sweep(self, now: float) -> None:
        self.blocked = {key: until for key, until in self.blocked.items() if until > now}
        self._next_sweep = now + SWEEP_INTERVAL

    # -- without Redis --------------------------------------------------------------------

    def _fallback(self, key_id: str, quota: int, consume: bool) -> Decision:
        fail = self.config.fail
        if fail == "open":
            return Decision(True, quota, quota, 0.0, UNENFORCED_POLICY)
        if fail == "closed":
            return Decision(
                False, quota, 0, self.config.probe_interval, UNAVAILABLE_POLICY, unavailable=True
            )
        share = self.config.share(quota)
        now = self.clock()
        if now < self.hold_until:
            return Decision(False, share, 0, self.hold_until - now, DEGRADED_POLICY)
        local = self.local
        assert local is not None
        return local.hit(key_id, share) if consume else local.peek(key_id, share)

    def _degrade(self, exc: Exception) -> None:
        if self.degraded:
            return
        now = self.clock()
        self.degraded = True
        self.degraded_since = now
        self.failures += 1
        self.local = MemoryLimiter(self.window, self.clock, DEGRADED_POLICY)
        self.hold_until = now + self.window
        self.blocked = {}
        self.carry = {}
        log.warning(
            "ratelimit_degraded",
            fail=self.config.fail,
            reason=type(exc).__name__,
            replicas=self.config.replicas,
        )
        with contextlib.suppress(RuntimeError):  # no running loop: start() will probe
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_back())

    async def _probe_until_back(self) -> None:
        while self.degraded:
            await asyncio.sleep(self.config.probe_interval)
            try:
                await self._ping()
            except _FAULTS:
                self.faults.report("redis")
                continue
            self._recover()

    def _recover(self) -> None:
        now = self.clock()
        local = self.local
        self.carry = local.recent(now) if local is not None else {}
        self.carry_until = now + self.window
        self.local = None
        self.degraded = False
        outage = now - self.degraded_since if self.degraded_since is not None else 0.0
        self.degraded_since = None
        self._probe = None
        log.info("ratelimit_recovered", outage_seconds=round(outage, 3))
