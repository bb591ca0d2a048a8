"""The redis backend against the reference model, on a real redis-server and its clock.

Every decision Redis makes comes back with the Redis time it was made at (the script
returns it), so the model replays each one exactly. The window is shortened to 50 ms so
that real time can be spent in the test; the script takes the window as an argument.
"""

from __future__ import annotations

import asyncio
from typing import Any

from api_particulier.testing.redis import RedisServer
from api_particulier_ratelimit.config import RateLimitConfig
from api_particulier_ratelimit.redis_limiter import RedisLimiter
from api_particulier_ratelimit.window import Decision
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from redis.asyncio import Redis

from .model import ReferenceLog, busiest_window

KEYS = ("a", "b")
WINDOW_US = 50_000
keys = st.sampled_from(KEYS)


class RecordingScript:
    """The limiter's script, keeping every reply (in the order they come back)."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.replies: list[tuple[str, list[int]]] = []

    async def __call__(self, *, keys: list[str], args: list[int]) -> Any:
        reply = await self.script(keys=keys, args=args)
        self.replies.append((keys[0], reply))
        return reply


def machine_for(url: str) -> type[RuleBasedStateMachine]:
    class RedisMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.model = ReferenceLog(WINDOW_US)
            self.admitted: dict[str, list[int]] = {key: [] for key in KEYS}
            self.refused: dict[str, Decision] = {}
            self.quotas: dict[str, int] = {}
            self.limiter: RedisLimiter | None = None
            self.redis: Redis | None = None
            self.client: RecordingScript | None = None
            self.seen = 0

        def run(self, coroutine: Any) -> Any:
            return self.loop.run_until_complete(coroutine)

        @initialize(quota=st.integers(1, 5), own=st.dictionaries(keys, st.integers(1, 5)))
        def setup(self, quota: int, own: dict[str, int]) -> None:
            config = RateLimitConfig(backend="redis", quota=quota, redis_timeout=1.0)
            self.quotas = {key: own.get(key, quota) for key in KEYS}
            self.redis = Redis.from_url(url)
            limiter = RedisLimiter(config, self.redis, window=WINDOW_US / 1_000_000)
            self.client = RecordingScript(limiter.script)
            limiter.script = self.client  # type: ignore[assignment]
            self.limiter = limiter
            self.run(limiter.start())
            self.run(self.redis.flushall())
            assert not limiter.degraded

        def teardown(self) -> None:
            if self.limiter is not None:
                self.run(self.limiter.close())
            if self.redis is not None:
                self.run(self.redis.aclose())
            self.loop.close()

        def replay(self, consume: bool) -> None:
            """Check each new Redis decision against the model, in Redis's order: concurrent
            calls travel on several connections, so replies may arrive in another order than
            Redis ran them; each carries Redis's clock, and within one microsecond an
            admission leaves one more entry in the log."""
            assert self.client is not None
            fresh = sorted(
                self.client.replies[self.seen :], key=lambda item: (item[1][3], item[1][1])
            )
            for full_key, reply in fresh:
                key = full_key.rsplit(":", 1)[1]
                admitted, count, reset, now = reply
                expected = self.model.decide(key, now, self.quotas[key], consume)
                assert (admitted == 1, max(self.quotas[key] - count, 0), reset) == expected
                if admitted:
                    self.admitted[key].append(now)
            self.seen = len(self.client.replies)

        def hits(self, key: str, count: int) -> list[Decision]:
            assert self.limiter is not None
            limiter = self.limiter
            quota = self.quotas[key]

            async def together() -> list[Decision]:
                return list(await asyncio.gather(*(limiter.hit(key, quota) for _ in range(count))))

            decisions: list[Decision] = self.run(together())
            self.replay(consume=True)
            for decision in decisions:
                if decision.admitted:
                    self.refused.pop(key, None)
                else:
                    assert decision.reset > 0
                    self.refused[key] = decision
            return decisions

        @rule(key=keys, count=st.integers(1, 8))
        def hit(self, key: str, count: int) -> None:
            self.hits(key, count)

        @rule(key=keys)
        def peek(self, key: str) -> None:
            assert self.limiter is not None
            decision = self.run(self.limiter.peek(key, self.quotas[key]))
            assert not decision.admitted
            self.replay(consume=False)

        @rule(milliseconds=st.sampled_from([0, 5, 20, 49, 50, 51, 75]))
        def wait(self, milliseconds: int) -> None:
            self.run(asyncio.sleep(milliseconds / 1000))

        # Whether a call was refused depends on real time: no precondition nor draw may
        # depend on it, or Hypothesis could not replay a run.
        @rule(key=keys)
        def retry_when_told(self, key: str) -> None:
            if key not in self.refused:
                return
            # 1 ms of slack: Redis's clock and this process's monotonic clock are not the
            # same clock.
            self.run(asyncio.sleep(self.refused[key].reset + 0.001))
            (decision,) = self.hits(key, 1)
            assert decision.admitted

        @invariant()
        def never_more_than_the_quota_in_any_window(self) -> None:
            for key, times in self.admitted.items():
                if self.quotas:
                    assert busiest_window(times, WINDOW_US) <= self.quotas[key]

    return RedisMachine


def test_redis_backend_matches_the_model(redis_server: RedisServer) -> None:
    run_state_machine_as_test(
        machine_for(redis_server.url),
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
