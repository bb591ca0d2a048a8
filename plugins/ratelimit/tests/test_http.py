"""End to end through the application: headers on every authenticated answer, the 429,
the per-application quota, concurrency, configuration, and Redis faults."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_particulier import ConfigError
from api_particulier.app import create_app
from api_particulier.testing import (
    GOOD_PARAMS,
    EchoProvider,
    FakeClock,
    TestClient,
    app_client,
    make_settings,
)
from api_particulier.testing.redis import RedisServer, free_port
from api_particulier_ratelimit.plugin import RateLimitPlugin
from redis.asyncio import Redis

pytestmark = pytest.mark.anyio

PATH = EchoProvider.path
SCOPE = "echo_nom"
# A scope no route of the echo provider declares: its keys are refused with 403.
OTHER_SCOPE = "autre_chose"
GOOD = GOOD_PARAMS
HEADERS = (
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
    "ratelimit",
)


@asynccontextmanager
async def serve(
    tmp_path: Path,
    table: Mapping[str, Any] | None = None,
    *,
    clock: FakeClock | None = None,
    redis_url: str | None = None,
) -> AsyncIterator[tuple[TestClient, RateLimitPlugin]]:
    plugin = RateLimitPlugin(clock=clock)
    settings = make_settings(
        tmp_path,
        enabled=["echo", "ratelimit"],
        plugins={"ratelimit": dict(table or {})},
        redis={"url": redis_url} if redis_url else {},
    )
    plugins = {"echo": EchoProvider(), "ratelimit": plugin}
    async with app_client(settings, plugins=plugins) as client:
        yield client, plugin


def state(response: httpx.Response) -> tuple[int, int, int]:
    """(limit, remaining, reset) as sent, checking the draft fields agree with the triplet."""
    limit = int(response.headers["ratelimit-limit"])
    remaining = int(response.headers["ratelimit-remaining"])
    reset = int(response.headers["ratelimit-reset"])
    policy = re.fullmatch(r'"(\w+)";q=(\d+);w=1', response.headers["ratelimit-policy"])
    assert policy is not None and int(policy[2]) == limit
    current = re.fullmatch(r'"(\w+)";r=(\d+);t=(\d+)', response.headers["ratelimit"])
    assert current is not None
    assert (current[1], int(current[2]), int(current[3])) == (policy[1], remaining, reset)
    return limit, remaining, reset


async def test_headers_then_429_then_admitted_after_retry_after(tmp_path: Path) -> None:
    clock = FakeClock()
    async with serve(tmp_path, {"quota": 3}, clock=clock) as (client, _):
        key = await client.key([SCOPE])
        seen = []
        for _ in range(3):
            response = await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
            assert response.status_code == 200
            seen.append(state(response))
            clock.advance(0.1)
        assert seen == [(3, 2, 1), (3, 1, 1), (3, 0, 1)]
        assert response.headers["ratelimit-policy"] == '"default";q=3;w=1'

        refused = await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
        assert refused.status_code == 429
        assert refused.json() == {
            "error": "too_many_requests",
            "reason": "Rate limit exceeded: 3 calls per 1 s for this key",
            "message": "Vous avez effectué trop de requêtes : ce jeton est limité à 3 appels "
            "par seconde. Veuillez réessayer dans 1 seconde.",
        }
        wait = int(refused.headers["retry-after"])
        assert wait >= 1
        assert state(refused) == (3, 0, wait)
        assert "x-request-id" in refused.headers

        clock.advance(wait)
        again = await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
        assert again.status_code == 200


async def test_400_and_403_carry_the_state_without_counting(tmp_path: Path) -> None:
    async with serve(tmp_path, {"quota": 4}, clock=FakeClock()) as (client, _):
        key = await client.key([SCOPE])
        other = await client.key([OTHER_SCOPE])
        assert state(await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key}))[1] == 3
        for _ in range(5):
            bad = await client.http.get(PATH, params={"numero": "x"}, headers={"X-Api-Key": key})
            assert bad.status_code == 400
            assert state(bad) == (4, 3, 1)
        forbidden = await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": other})
        assert forbidden.status_code == 403
        assert state(forbidden) == (4, 4, 0)
        introspect = await client.http.get("/api/introspect", headers={"X-Api-Key": other})
        assert introspect.status_code == 200
        assert state(introspect) == (4, 3, 1)


async def test_no_headers_without_a_key(tmp_path: Path) -> None:
    async with serve(tmp_path) as (client, _):
        for headers in ({}, {"X-Api-Key": "nope"}):
            response = await client.http.get(PATH, params=GOOD, headers=headers)
            assert response.status_code == 401
            assert not any(name in response.headers for name in HEADERS)


async def test_each_application_may_have_its_own_quota(tmp_path: Path) -> None:
    async with serve(tmp_path, {"quota": 2}, clock=FakeClock()) as (client, _):
        small = await client.key([SCOPE])
        large = await client.key([SCOPE], settings={"ratelimit": {"quota": 5}})
        broken = await client.key([SCOPE], settings={"ratelimit": {"quota": "many"}})
        for key, quota in ((small, 2), (large, 5), (broken, 2)):
            statuses = [
                (await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})).status_code
                for _ in range(quota + 2)
            ]
            assert statuses == [200] * quota + [429, 429]


async def hammer(client: TestClient, key: str, count: int) -> list[int]:
    async def one() -> int:
        response = await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
        return response.status_code

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def test_100_concurrent_first_calls_admit_exactly_5_in_memory(tmp_path: Path) -> None:
    async with serve(tmp_path, {"quota": 20}) as (client, _):
        key = await client.key([SCOPE], settings={"ratelimit": {"quota": 5}})
        statuses = await hammer(client, key, 100)
        assert statuses.count(200) == 5
        assert statuses.count(429) == 95


async def test_100_concurrent_first_calls_admit_exactly_5_on_redis(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    # 100 calls through one event loop wait in its queue: on a loaded test machine that may
    # exceed the default 250 ms, and a timeout is not what this test is about.
    table = {"backend": "redis", "quota": 5, "redis_timeout": 5}
    async with serve(tmp_path, table, redis_url=redis_server.url) as (client, plugin):
        key = await client.key([SCOPE])
        statuses = await hammer(client, key, 100)
        assert statuses.count(200) == 5
        assert statuses.count(429) == 95
        assert plugin.state()["mode"] == "redis"


async def test_redis_keys_are_named_by_key_id_and_expire(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    table = {"backend": "redis"}
    async with serve(tmp_path, table, redis_url=redis_server.url) as (client, _):
        key = await client.key([SCOPE])
        introspect = await client.http.get("/api/introspect", headers={"X-Api-Key": key})
        key_id = introspect.json()["_id"]
        redis = Redis.from_url(redis_server.url)
        try:
            names = await redis.keys("*")
            assert names == [f"api-particulier:ratelimit:{key_id}".encode()]
            assert key.encode() not in names[0]
            ttl = await redis.pttl(names[0])
            assert 0 < ttl <= 1001
        finally:
            await redis.aclose()


async def test_redis_killed_then_back(tmp_path: Path, redis_server: RedisServer) -> None:
    table = {"backend": "redis", "quota": 6, "replicas": 2, "probe_interval": 0.05}
    async with serve(tmp_path, table, redis_url=redis_server.url) as (client, plugin):
        key = await client.key([SCOPE])
        assert (
            await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
        ).status_code == 200
        redis_server.kill()
        # The first window after the switch admits nothing, then this process's share.
        refused = await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
        assert refused.status_code == 429
        assert refused.headers["ratelimit-policy"] == '"degraded";q=3;w=1'
        assert plugin.state()["degraded"] is True
        # Operators see the fault (context.faults, served by the metrics plugin).
        assert client.app.faults.totals()["redis"] >= 1
        await asyncio.sleep(int(refused.headers["retry-after"]))
        alone = time.monotonic()
        statuses = await hammer(client, key, 10)
        assert sorted(statuses) == [200] * 3 + [429] * 7

        redis_server.start()
        for _ in range(100):
            if not plugin.state()["degraded"]:
                break
            await asyncio.sleep(0.02)
        assert plugin.state()["mode"] == "redis"
        # The three calls admitted alone still count once Redis is back.
        back = await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
        assert back.headers["ratelimit-policy"] == '"default";q=6;w=1'
        assert back.status_code == 200
        if time.monotonic() - alone < 0.9:  # the three are still inside the window
            assert state(back)[1] == 2


async def test_hung_redis_answers_within_the_timeout(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    table = {"backend": "redis", "redis_timeout": 0.03}
    async with serve(tmp_path, table, redis_url=redis_server.url) as (client, plugin):
        key = await client.key([SCOPE])
        assert (
            await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
        ).status_code == 200
        redis_server.pause()
        try:
            started = asyncio.get_running_loop().time()
            statuses = await hammer(client, key, 20)
            elapsed = asyncio.get_running_loop().time() - started
            assert 500 not in statuses
            # Bounded by redis_timeout, not by Redis: far below the hang (generous, so that a
            # slow machine does not fail it).
            assert elapsed < 10.0
            assert plugin.state()["degraded"] is True
        finally:
            redis_server.resume()


@pytest.mark.parametrize(("fail", "expected"), [("open", 200), ("closed", 503)])
async def test_open_and_closed(tmp_path: Path, fail: str, expected: int) -> None:
    table = {"backend": "redis", "fail": fail}
    nobody = f"redis://127.0.0.1:{free_port()}"
    async with serve(tmp_path, table, redis_url=nobody) as (client, plugin):
        key = await client.key([SCOPE])
        statuses = await hammer(client, key, 30)
        assert statuses == [expected] * 30
        response = await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
        if expected == 503:
            assert response.json()["error"] == "service_unavailable"
            assert int(response.headers["retry-after"]) >= 1
        assert plugin.state()["mode"] == fail


async def test_the_url_may_come_from_the_environment(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_PARTICULIER_REDIS_URL", redis_server.url)
    async with serve(tmp_path, {"backend": "redis"}) as (client, plugin):
        key = await client.key([SCOPE])
        assert (
            await client.http.get(PATH, params=GOOD, headers={"X-Api-Key": key})
        ).status_code == 200
        assert plugin.state()["mode"] == "redis"


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"backend": "redis"}, "needs the deployment's Redis"),
        ({"backend": "redis", "redis_url": "redis://x"}, "redis_url"),
        ({"quota": 0}, "quota"),
        ({"fail": "maybe"}, "fail"),
        ({"qouta": 5}, "qouta"),
    ],
)
async def test_configuration_errors_stop_the_start(
    tmp_path: Path, table: dict[str, Any], fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_PARTICULIER_REDIS_URL", raising=False)
    settings = make_settings(tmp_path, enabled=["ratelimit"], plugins={"ratelimit": table})
    with pytest.raises(ConfigError) as caught:
        app = create_app(settings, plugins={"ratelimit": RateLimitPlugin()})
        async with app.running():
            pass
    assert fragment in "; ".join(caught.value.problems)


async def test_openapi_documents_the_headers(tmp_path: Path) -> None:
    async with serve(tmp_path) as (client, _):
        document = (await client.http.get("/api/open-api.json")).json()
    headers = document["components"]["headers"]
    assert {"RateLimit-Limit", "RateLimit", "Retry-After"} <= set(headers)
    echo = document["paths"][PATH]["get"]["responses"]
    assert "RateLimit-Policy" in echo["200"]["headers"]
    assert "Retry-After" in echo["429"]["headers"]
    assert "RateLimit" not in echo["401"]["headers"]
    assert "RateLimit" not in document["paths"]["/api/ping"]["get"]["responses"]["200"]["headers"]
    assert "X-Request-Id" in echo["200"]["headers"]
