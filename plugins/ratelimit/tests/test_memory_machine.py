"""The in-process limiters against the reference model, under any interleaving of calls,
looks and clock moves (a fake clock): the memory backend, and the redis backend while it
counts alone because Redis is unreachable."""

from __future__ import annotations

import asyncio
from typing import Any

from api_particulier.testing import FakeClock
from api_particulier.testing.redis import free_port
from api_particulier_ratelimit.backends import Limiter, MemoryBackend
from api_particulier_ratelimit.config import RateLimitConfig
from api_particulier_ratelimit.headers import rate_limit_headers, retry_after
from api_particulier_ratelimit.redis_limiter import DEGRADED_POLICY, RedisLimiter
from api_particulier_ratelimit.window import DEFAULT_POLICY, Decision
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from redis.asyncio import Redis

from .model import ReferenceLog, busiest_window

KEYS = ("a", "b", "c")
WINDOW = 1.0
keys = st.sampled_from(KEYS)
# Exact boundaries matter most: an entry leaves at exactly entry + window.
steps = st.one_of(
    st.sampled_from([0.0, 1e-6, 0.25, 0.5, 0.999999, 1.0, 1.000001]),
    st.floats(0, 2.5, allow_nan=False),
    st.just(11.0),  # past the idle-key sweep
)


class LimiterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.model = ReferenceLog(WINDOW)
        self.limiter: Limiter | None = None
        self.quotas: dict[str, int] = {}
        self.shares: dict[str, int] = {}
        self.admitted: dict[str, list[float]] = {key: [] for key in KEYS}
        self.refused: dict[str, Decision] = {}
        self.hold_until = 0.0
        self.policy = DEFAULT_POLICY

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @initialize(
        quota=st.integers(1, 6),
        replicas=st.integers(1, 3),
        own=st.dictionaries(keys, st.integers(1, 6)),
        degraded=st.booleans(),
    )
    def setup(self, quota: int, replicas: int, own: dict[str, int], degraded: bool) -> None:
        config = RateLimitConfig(quota=quota, replicas=replicas, fail="degrade")
        self.quotas = {key: own.get(key, quota) for key in KEYS}
        self.shares = {key: q // replicas for key, q in self.quotas.items()}
        if degraded:
            # Nothing listens on that port: the first contact fails and the limiter counts
            # alone, admitting nothing during the first window.
            client = Redis.from_url(f"redis://127.0.0.1:{free_port()}")
            redis = RedisLimiter(config, client, clock=self.clock)
            self.run(redis.start())
            assert redis.degraded
            self.limiter = redis
            self.hold_until = self.clock() + WINDOW
            self.policy = DEGRADED_POLICY
        else:
            self.limiter = MemoryBackend(config, clock=self.clock)

    def teardown(self) -> None:
        if self.limiter is not None:
            self.run(self.limiter.close())
        self.loop.close()

    def expected(self, key: str, consume: bool) -> tuple[bool, int, float]:
        now = self.clock()
        if now < self.hold_until:
            return False, 0, self.hold_until - now
        return self.model.decide(key, now, self.shares[key], consume)

    def check(self, key: str, decision: Decision, consume: bool) -> None:
        assert (decision.admitted, decision.remaining, decision.reset) == self.expected(
            key, consume
        )
        assert decision.limit == self.shares[key]
        assert decision.policy == self.policy
        headers = rate_limit_headers(decision, int(WINDOW))
        assert int(headers["ratelimit-reset"]) >= decision.reset
        assert headers["ratelimit-policy"] == f'"{self.policy}";q={self.shares[key]};w=1'

    @rule(key=keys)
    def hit(self, key: str) -> None:
        assert self.limiter is not None
        decision = self.run(self.limiter.hit(key, self.quotas[key]))
        self.check(key, decision, consume=True)
        if decision.admitted:
            self.admitted[key].append(self.clock())
            self.refused.pop(key, None)
        else:
            assert retry_after(decision) >= 1
            self.refused[key] = decision

    @rule(key=keys)
    def peek(self, key: str) -> None:
        assert self.limiter is not None
        decision = self.run(self.limiter.peek(key, self.quotas[key]))
        assert not decision.admitted
        self.check(key, decision, consume=False)

    @rule(seconds=steps)
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: any(self.shares.get(key, 0) for key in self.refused))
    @rule(data=st.data())
    def retry_when_told(self, data: st.DataObject) -> None:
        """Waiting Retry-After seconds after a refusal is enough, absent other calls."""
        choices = sorted(key for key in self.refused if self.shares[key])
        key = data.draw(st.sampled_from(choices))
        self.clock.advance(retry_after(self.refused[key]))
        self.hit(key)
        assert self.admitted[key] and self.admitted[key][-1] == self.clock()

    @invariant()
    def never_more_than_the_share_in_any_window(self) -> None:
        for key, times in self.admitted.items():
            if self.shares:
                assert busiest_window(times, WINDOW) <= self.shares[key]


LimiterMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLimiterMachine = LimiterMachine.TestCase
