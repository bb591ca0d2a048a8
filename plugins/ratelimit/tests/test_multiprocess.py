"""Two server processes sharing one Redis: a key hammered through both never gets more than
its quota admitted in any sliding second, counted from the journal both processes write.

Each process is ``uvicorn api_particulier.asgi:app``, built from the environment like a
deployment. The run lasts ten seconds; RATELIMIT_MULTIPROCESS_SECONDS changes it.

The journal records when a request *ended* (``time``) and how long it took (``latency_ms``),
so each admission happened somewhere in ``[time - latency, time]``. The check counts, for
every window, the admissions whose whole interval lies inside it: that many certainly fell
in one window, and it must never exceed the quota. (Comparing end times alone would accuse
the limiter of the jitter between deciding and recording.)
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from api_particulier import admin
from api_particulier.keys import load_pepper
from api_particulier.settings import load_settings
from api_particulier.store import open_stores
from api_particulier.testing import stop_serving, wait_until_serving
from api_particulier.testing.redis import RedisServer, free_port

from .model import busiest_window

pytestmark = pytest.mark.anyio

QUOTA = 20
REPLICAS = 2
SECONDS = float(os.environ.get("RATELIMIT_MULTIPROCESS_SECONDS", "10"))
PEPPER = "a-test-pepper-shared-by-both-processes-0123456789"
CONCURRENCY = 6  # requests in flight per server for the hammered key


@dataclass
class Deployment:
    config: Path
    data_dir: Path
    env: dict[str, str]
    hammered: tuple[str, str]  # (key id, key)
    quiet: tuple[str, str]


def _write_config(path: Path, data_dir: Path, redis_url: str) -> None:
    path.write_text(
        f"""
enabled = ["ratelimit"]

[core]
data_dir = "{data_dir}"
create_demo_key = false
log_level = "warning"

[core.journal]
flush_interval = 0.05

[core.redis]
url = "{redis_url}"

[plugins.ratelimit]
backend = "redis"
quota = {QUOTA}
replicas = {REPLICAS}
redis_timeout = 0.25
probe_interval = 0.2
""",
        encoding="utf-8",
    )


async def _issue_keys(config: Path, env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    settings = load_settings(config, env)
    os.environ["API_PARTICULIER_PEPPER"] = PEPPER
    try:
        pepper = load_pepper(settings)
    finally:
        del os.environ["API_PARTICULIER_PEPPER"]
    key_store, journal_store = open_stores(settings)
    await key_store.open()
    await journal_store.open()
    try:
        issued = []
        for name in ("hammered", "quiet"):
            application = await admin.ensure_application(key_store, name, [])
            key = await admin.issue_key(key_store, pepper, application)
            issued.append((key.key.id, key.secret))
        return tuple(issued)
    finally:
        await journal_store.close()
        await key_store.close()


@contextmanager
def servers(deployment: Deployment, count: int) -> Iterator[list[str]]:
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    logs = [(deployment.data_dir / f"server-{index}.log").open("wb") for index in range(count)]
    try:
        for log in logs:
            port = free_port()
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable, "-m", "uvicorn", "api_particulier.asgi:app",
                        "--host", "127.0.0.1", "--port", str(port),
                        "--no-access-log", "--log-level", "warning",
                    ],
                    env=deployment.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
            urls.append(f"http://127.0.0.1:{port}")
        for index, (url, process) in enumerate(zip(urls, processes, strict=True)):
            log_path = deployment.data_dir / f"server-{index}.log"
            wait_until_serving(url, process, timeout=30, log=log_path)
        yield urls
    finally:
        stop_serving(*processes, timeout=15)
        for log in logs:
            log.close()


@pytest.fixture
def deployment(tmp_path: Path, redis_server: RedisServer) -> Deployment:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    config = tmp_path / "api-particulier.toml"
    _write_config(config, data_dir, redis_server.url)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("API_PARTICULIER_")
    }
    env.update(API_PARTICULIER_CONFIG=str(config), API_PARTICULIER_PEPPER=PEPPER)
    hammered, quiet = asyncio.run(_issue_keys(config, env))
    return Deployment(config, data_dir, env, hammered, quiet)


@dataclass
class Outcome:
    statuses: dict[str, list[int]]


async def _run_load(
    urls: list[str], deployment: Deployment, seconds: float, at_half: object = None
) -> Outcome:
    statuses: dict[str, list[int]] = {"hammered": [], "quiet": []}
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CONCURRENCY * len(urls) + 4)
    async with httpx.AsyncClient(limits=limits, timeout=10) as http:

        async def worker(base: str, who: str, key: str, pause: float) -> None:
            while time.monotonic() < stop:
                response = await http.get(base + "/api/introspect", headers={"X-Api-Key": key})
                statuses[who].append(response.status_code)
                if pause:
                    await asyncio.sleep(pause)

        async def fault() -> None:
            if callable(at_half):
                await asyncio.sleep(seconds / 2)
                at_half()

        tasks = [
            worker(url, "hammered", deployment.hammered[1], 0.0)
            for url in urls
            for _ in range(CONCURRENCY)
        ]
        # The quiet key: about 4 calls a second through each server, far below its quota.
        tasks += [worker(url, "quiet", deployment.quiet[1], 0.25) for url in urls]
        await asyncio.gather(*tasks, fault())
    return Outcome(statuses)


def _admissions(data_dir: Path, key_id: str) -> list[tuple[float, float]]:
    with sqlite3.connect(data_dir / "journal.sqlite3") as db:
        rows = db.execute(
            "SELECT time, latency_ms FROM calls WHERE key_id = ? AND status = 200", (key_id,)
        ).fetchall()
    return [(float(at), float(latency) / 1000) for at, latency in rows]


def certainly_in_one_window(admissions: list[tuple[float, float]], window: float = 1.0) -> int:
    """The most admissions whose whole ``[time - latency, time]`` fits in one window."""
    intervals = sorted((at - latency, at) for at, latency in admissions)
    best = 0
    for index, (start, _) in enumerate(intervals):
        inside = sum(1 for _, end in intervals[index:] if end < start + window)
        best = max(best, inside)
    return best


def _check_bound(deployment: Deployment, outcome: Outcome) -> list[tuple[float, float]]:
    admissions = _admissions(deployment.data_dir, deployment.hammered[0])
    # The journal holds every call the clients saw admitted.
    assert len(admissions) == outcome.statuses["hammered"].count(200)
    by_end_time = busiest_window([at for at, _ in admissions], 1.0)
    assert certainly_in_one_window(admissions) <= QUOTA, (
        f"{len(admissions)} admitted; busiest second by end time: {by_end_time}"
    )
    return admissions


def test_two_processes_share_the_quota(deployment: Deployment) -> None:
    with servers(deployment, 2) as urls:
        outcome = asyncio.run(_run_load(urls, deployment, SECONDS))
    hammered = outcome.statuses["hammered"]
    assert set(hammered) <= {200, 429}
    assert hammered.count(429) > 5 * hammered.count(200), "the key was not hammered enough"
    admissions = _check_bound(deployment, outcome)
    # Not a limiter that refuses everything: close to the quota every second.
    assert len(admissions) >= QUOTA * (SECONDS - 1)
    assert set(outcome.statuses["quiet"]) == {200}


def test_redis_killed_mid_run(deployment: Deployment, redis_server: RedisServer) -> None:
    with servers(deployment, 2) as urls:
        outcome = asyncio.run(_run_load(urls, deployment, SECONDS + 1, redis_server.kill))
    for statuses in outcome.statuses.values():
        assert set(statuses) <= {200, 429}, "a Redis failure must never become an error"
    admissions = _check_bound(deployment, outcome)
    # After the pause that follows the switch, each process admits its share: the quiet key
    # gets through again.
    assert outcome.statuses["quiet"][-1] == 200
    assert admissions
