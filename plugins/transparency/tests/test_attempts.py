"""The attempts bound: per process, or across every process sharing the deployment's
Redis, with the address never written there."""

from __future__ import annotations

import pytest
from api_particulier import Faults
from api_particulier.testing import FakeClock, RedisServer
from api_particulier_transparency.attempts import Attempts, SharedAttempts
from redis.asyncio import Redis

pytestmark = pytest.mark.anyio

ADDRESS = "203.0.113.7"


async def test_one_process_admits_the_limit_per_window() -> None:
    clock = FakeClock()
    attempts = Attempts(3, 60.0, clock=clock)
    assert [await attempts.admit(ADDRESS) for _ in range(3)] == [None, None, None]
    assert await attempts.admit(ADDRESS) == 60.0
    assert await attempts.admit("198.51.100.1") is None  # another address counts apart
    clock.advance(60.0)
    assert await attempts.admit(ADDRESS) is None


async def test_processes_sharing_redis_share_the_bound(redis_server: RedisServer) -> None:
    clients = [Redis.from_url(redis_server.url) for _ in range(2)]
    try:
        faults = Faults()
        workers = [
            SharedAttempts(client, 3, 60.0, secret=b"s" * 32, faults=faults) for client in clients
        ]
        admitted = [await workers[n % 2].admit(ADDRESS) for n in range(3)]
        assert admitted == [None, None, None]
        for worker in workers:
            wait = await worker.admit(ADDRESS)
            assert wait is not None and 1.0 <= wait <= 60.0
        assert await workers[1].admit("198.51.100.1") is None
        keys = [key.decode() for key in await clients[0].keys("*")]
        assert len(keys) == 2
        assert not any(ADDRESS in key or "198.51.100.1" in key for key in keys)
        assert faults.totals() == {}
    finally:
        for client in clients:
            await client.aclose()


async def test_without_redis_each_process_counts_alone(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url, socket_timeout=1, socket_connect_timeout=1)
    try:
        faults = Faults()
        attempts = SharedAttempts(client, 2, 60.0, secret=b"s" * 32, faults=faults)
        assert await attempts.admit(ADDRESS) is None
        redis_server.kill()
        # Still bounded, by this process alone, and the outage is counted.
        assert await attempts.admit(ADDRESS) is None
        assert await attempts.admit(ADDRESS) is None
        assert await attempts.admit(ADDRESS) is not None
        assert faults.totals() == {"redis": 3}
    finally:
        await client.aclose()
