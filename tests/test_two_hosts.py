"""Two `serve` processes, each with its own data directory, on one PostgreSQL and one Redis:
the production topology of docs/deploy.md, with real servers.

- a key made by the command line works on both;
- revoked through one host's command line, it is refused by the other within cache_ttl;
- the 20 calls per second of a key hold across both (admissions read from the journal);
- exactly one journal row per request sent to either (journal in `required` mode), and
  /api/stats counts both;
- a host killed with SIGKILL: the other goes on serving;
- the response cache on the shared Redis: what one host fetched, the other serves.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from api_particulier.testing import RedisServer, stop_serving, wait_until_serving
from api_particulier.testing.redis import free_port

PEPPER = "a-pepper-shared-by-every-host-of-the-deployment-0123"
NOTICE = "/api/v2/avis-imposition?numeroFiscal=1111111111111&referenceAvis=1111111111111"
QUOTA = 20
CACHE_TTL = 1.0
SECONDS = 4.0


@dataclass
class Host:
    data_dir: Path
    config: Path
    env: dict[str, str]


def make_host(root: Path, index: int, database_url: str, redis_url: str) -> Host:
    data_dir = root / f"host-{index}"
    data_dir.mkdir()
    config = data_dir / "config.toml"
    config.write_text(
        f"""
enabled = ["dgfip", "ratelimit", "cache"]

[core]
data_dir = "{data_dir}"
create_demo_key = false
log_level = "warning"

[core.auth]
cache_ttl = {CACHE_TTL}

[core.journal]
mode = "required"
flush_interval = 0.05

[plugins.ratelimit]
backend = "redis"
quota = {QUOTA}
replicas = 2

[plugins.cache]
backend = "redis"
key = {{ env = "CACHE_KEY" }}
lookup_secret = {{ env = "CACHE_LOOKUP" }}
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_PARTICULIER_")}
    env.update(
        API_PARTICULIER_CONFIG=str(config),
        API_PARTICULIER_PEPPER=PEPPER,
        API_PARTICULIER_DATABASE_URL=database_url,
        API_PARTICULIER_REDIS_URL=redis_url,
        CACHE_KEY="a-cache-key-shared-by-every-host-0123456789",
        CACHE_LOOKUP="a-cache-lookup-secret-shared-by-every-host-0123",
    )
    return Host(data_dir, config, env)


def cli(host: Host, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "api_particulier", *argv],
        env=host.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Serving:
    urls: list[str]
    processes: list[subprocess.Popen[bytes]]


@contextmanager
def serving(hosts: list[Host]) -> Iterator[Serving]:
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for host in hosts:
            port = free_port()
            log = (host.data_dir / "serve.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "api_particulier", "serve", "--port", str(port)],
                    env=host.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
            urls.append(f"http://127.0.0.1:{port}")
        for url, process, host in zip(urls, processes, hosts, strict=True):
            wait_until_serving(url, process, log=host.data_dir / "serve.log")
        yield Serving(urls, processes)
    finally:
        stop_serving(*processes)


async def hammer(urls: list[str], key: str, seconds: float) -> list[int]:
    statuses: list[int] = []
    stop = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=10) as http:

        async def worker(base: str) -> None:
            while time.monotonic() < stop:
                response = await http.get(base + NOTICE, headers={"X-Api-Key": key})
                statuses.append(response.status_code)

        await asyncio.gather(*(worker(url) for url in urls for _ in range(4)))
    return statuses


def certainly_in_one_second(admissions: list[tuple[float, float]]) -> int:
    """The most admissions whose whole [end - latency, end] fits in one second."""
    intervals = sorted((end - latency, end) for end, latency in admissions)
    best = 0
    for index, (start, _) in enumerate(intervals):
        best = max(best, sum(1 for _, end in intervals[index:] if end < start + 1.0))
    return best


async def journal_rows(database_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetch("SELECT key_id, status, time, latency_ms, route FROM calls")
    finally:
        await connection.close()


def test_two_hosts_on_one_postgresql_and_one_redis(
    tmp_path: Path, postgres_url: str, redis_server: RedisServer
) -> None:
    hosts = [make_host(tmp_path, i, postgres_url, redis_server.url) for i in (1, 2)]
    cli(hosts[0], "db", "upgrade")
    made = cli(
        hosts[0], "keys", "create", "--name", "mairie", "--scope", "dgfip_annee_impot"
    ).splitlines()
    key = made[-1]
    key_id = made[-2].split()[2].rstrip(";")

    sent = 0
    with serving(hosts) as running:
        urls = running.urls
        # The key made on host 1's command line works on both hosts; the second host
        # serves the same call from the cache host 1 filled (one Redis).
        cached = []
        for url in urls:
            answer = httpx.get(url + NOTICE, headers={"X-Api-Key": key}, timeout=10)
            sent += 1
            assert answer.status_code == 200, answer.text
            assert "anneeImpots" in answer.json()
            cached.append(answer.headers["x-response-cached"])
        assert cached == ["false", "true"]

        # The rate limit holds across both hosts.
        statuses = asyncio.run(hammer(urls, key, SECONDS))
        sent += len(statuses)
        assert set(statuses) <= {200, 429}
        assert statuses.count(429) > 0

        # Revoked through host 2's command line: host 1 refuses it within cache_ttl.
        time.sleep(1.1)  # out of the rate limit's window
        cli(hosts[1], "keys", "revoke", key_id)
        revoked_at = time.monotonic()
        while True:
            answer = httpx.get(urls[0] + NOTICE, headers={"X-Api-Key": key}, timeout=10)
            sent += 1
            if answer.status_code == 401:
                break
            assert answer.status_code in (200, 429)
            assert time.monotonic() - revoked_at < CACHE_TTL + 1.0, "still accepted"
            time.sleep(0.05)
        refusal_delay = time.monotonic() - revoked_at
        assert refusal_delay <= CACHE_TTL + 1.0

        stats_before_stop = httpx.get(urls[1] + "/api/stats", timeout=10).json()

    rows = asyncio.run(journal_rows(postgres_url))
    data_rows = [r for r in rows if r["route"] == "/api/v2/avis-imposition"]
    # Exactly one row per request sent to either host, written before each host stopped.
    assert len(data_rows) == sent
    admissions = [(r["time"], r["latency_ms"] / 1000) for r in data_rows if r["status"] == 200]
    assert certainly_in_one_second(admissions) <= QUOTA
    assert len(admissions) >= QUOTA * (SECONDS - 1)
    # /api/stats counted the successful calls of both hosts (those journaled when asked).
    assert 2 <= stats_before_stop <= len(admissions)

    # Started again, a host reads every row of both from the daily counts.
    with serving(hosts) as running:
        first, second = running.urls
        assert httpx.get(first + "/api/stats", timeout=10).json() == len(admissions)
        fresh = cli(hosts[0], "keys", "create", "--name", "caf", "--scope", "dgfip_annee_impot")
        fresh_key = fresh.splitlines()[-1]
        assert httpx.get(first + NOTICE, headers={"X-Api-Key": fresh_key}).status_code == 200
        # Host one is killed outright: host two goes on serving, nothing to restart.
        running.processes[0].kill()
        running.processes[0].wait(timeout=10)
        for _ in range(10):  # under the key's 20 calls a second
            answer = httpx.get(second + NOTICE, headers={"X-Api-Key": fresh_key}, timeout=10)
            assert answer.status_code == 200
            time.sleep(0.1)
