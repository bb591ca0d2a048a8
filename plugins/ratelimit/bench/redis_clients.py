"""Client CPU per rate-limit decision on a local redis-server: the Redis client the service
uses (redis-py's asyncio client with hiredis) beside other maintained clients, all running
the same sliding-log script, and the memory backend for scale.

Run from the workspace root (the other clients are fetched for this run only):

    uv run --with valkey-glide --with coredis python plugins/ratelimit/bench/redis_clients.py

The client is pinned to CPU 0 and redis-server to CPU 1 when the machine has two; what
matters is the client's CPU time per call (``time.process_time``), which is what each
request pays on the server. Rounds alternate between clients; the median is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop
from api_particulier_ratelimit.config import RateLimitConfig
from api_particulier_ratelimit.memory import MemoryLimiter
from api_particulier_ratelimit.redis_limiter import RedisLimiter
from api_particulier_ratelimit.script import SLIDING_LOG
from redis.asyncio import Redis

Call = Callable[[str], Awaitable[Any]]
ARGS = (20, 1_000_000, 1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = _free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory]
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        command = ["taskset", "-c", "1", *command]
    process = subprocess.Popen(  # noqa: S603 - redis-server from PATH, fixed arguments
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    return process, f"redis://127.0.0.1:{port}/0"


async def _measure(call: Call, total: int, concurrency: int) -> tuple[float, float]:
    """(client CPU µs per call, calls per second)."""
    per_task = total // concurrency

    async def worker(index: int) -> None:
        for n in range(per_task):
            await call(f"key-{(index * per_task + n) % 1000}")

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = per_task * concurrency
    return cpu / done * 1e6, done / wall


async def _rtt(call: Call, count: int) -> float:
    samples = []
    for n in range(count):
        started = time.perf_counter()
        await call(f"rtt-{n % 100}")
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


async def _clients(url: str) -> dict[str, tuple[Call, Callable[[], Awaitable[None]]]]:
    clients: dict[str, tuple[Call, Callable[[], Awaitable[None]]]] = {}

    py = Redis.from_url(url)
    py_script = py.register_script(SLIDING_LOG)

    async def py_call(key: str) -> Any:
        return await py_script(keys=[key], args=list(ARGS))

    clients["redis-py asyncio + hiredis (the service's)"] = (py_call, py.aclose)

    limiter_client = Redis.from_url(url)
    limiter = RedisLimiter(RateLimitConfig(backend="redis", redis_timeout=1.0), limiter_client)
    await limiter.start()

    async def limiter_call(key: str) -> Any:
        return await limiter.hit(key, 20)

    async def limiter_close() -> None:
        await limiter.close()
        await limiter_client.aclose()

    clients["RedisLimiter.hit (redis-py + decision)"] = (limiter_call, limiter_close)

    memory = MemoryLimiter(1.0)

    async def memory_call(key: str) -> Any:
        return memory.hit(key, 20)

    async def nothing() -> None:
        return None

    clients["memory backend"] = (memory_call, nothing)

    try:
        # Imported by name: these clients are fetched for the measurement only.
        glide = importlib.import_module("glide")
        host, port = url.split("//")[1].split("/")[0].split(":")
        configuration = glide.GlideClientConfiguration([glide.NodeAddress(host, int(port))])
        glide_client = await glide.GlideClient.create(configuration)
        glide_script = glide.Script(SLIDING_LOG)

        async def glide_call(key: str) -> Any:
            args = [str(a) for a in ARGS]
            return await glide_client.invoke_script(glide_script, keys=[key], args=args)

        clients["valkey-glide"] = (glide_call, glide_client.close)
    except ImportError:
        print("valkey-glide not installed: skipped")

    try:
        coredis = importlib.import_module("coredis")
        core = coredis.Redis.from_url(url)
        # coredis 6 serves commands only inside its own async context.
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(core)
        core_script = core.register_script(SLIDING_LOG)

        async def core_call(key: str) -> Any:
            return await core_script(keys=[key], args=list(ARGS))

        clients["coredis"] = (core_call, stack.aclose)
    except ImportError:
        print("coredis not installed: skipped")
    return clients


async def main(total: int, concurrency: int, rounds: int) -> None:
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as directory:
        process, url = _start_redis(directory)
        try:
            clients = await _clients(url)
            for call, _ in clients.values():  # warm up: scripts loaded, pools filled
                await _measure(call, 2000, concurrency)
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
            for _ in range(rounds):
                for name, (call, _) in clients.items():
                    results[name].append(await _measure(call, total, concurrency))
            print(f"{total} calls × {rounds} rounds, {concurrency} concurrent; medians")
            print(f"{'client':44} {'CPU µs/call':>12} {'calls/s':>10} {'RTT p50 µs':>11}")
            for name, (call, close) in clients.items():
                cpu = statistics.median(r[0] for r in results[name])
                rate = statistics.median(r[1] for r in results[name])
                rtt = await _rtt(call, 2000)
                print(f"{name:44} {cpu:12.1f} {rate:10.0f} {rtt:11.0f}")
                await close()
        finally:
            process.kill()
            process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    uvloop.run(main(options.calls, options.concurrency, options.rounds))
