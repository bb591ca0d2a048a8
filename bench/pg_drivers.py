"""asyncpg beside psycopg 3 on the two paths the PostgreSQL store serves: the key lookup
(one row by digest, joined to its application, every request whose key is not cached) and
the journal write (a batch of rows in one transaction, off the request path).

    python3 -m uv run python bench/pg_drivers.py [--seconds 3] [--rounds 5]

It starts its own PostgreSQL (as the tests do), alternates the drivers round by round,
and prints per driver the median time per lookup and per journal row, and the client
process's CPU per operation, with psycopg's figures as ratios of asyncpg's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
from api_particulier.testing.postgres import SKIP_REASON, PostgresServer, server_binaries

SCHEMA = """
CREATE TABLE applications (id text PRIMARY KEY, name text UNIQUE NOT NULL, body jsonb NOT NULL);
CREATE TABLE api_keys (
    id text PRIMARY KEY, application_id text NOT NULL REFERENCES applications(id),
    digest text UNIQUE, hint text NOT NULL, created_at float8 NOT NULL,
    expires_at float8, revoked_at float8
);
CREATE TABLE calls (
    row_id bigint GENERATED ALWAYS AS IDENTITY, request_id text NOT NULL,
    time float8 NOT NULL, route text NOT NULL, status int NOT NULL, latency_ms float8 NOT NULL,
    key_id text, application_id text, provider text, cache_hit boolean NOT NULL,
    consent_evidence text, recipient text, error text
);
"""
LOOKUP_PG = (
    "SELECT k.id, k.application_id, k.digest, k.hint, k.created_at, k.expires_at, a.body "
    "FROM api_keys k JOIN applications a ON a.id = k.application_id "
    "WHERE k.digest = {0} AND k.revoked_at IS NULL"
)
COLUMNS = (
    "request_id", "time", "route", "status", "latency_ms", "key_id", "application_id",
    "provider", "cache_hit", "consent_evidence", "recipient", "error",
)  # fmt: skip
BATCH = 256
KEYS = 1000


def rows(count: int) -> list[tuple[Any, ...]]:
    now = time.time()
    return [
        (str(uuid.uuid4()), now, "/api/v2/avis-imposition", 200, 3.2, "k1", "a1", "dgfip",
         False, "identifiers", None, None)
        for _ in range(count)
    ]  # fmt: skip


async def seed(url: str) -> list[str]:
    connection = await asyncpg.connect(url)
    await connection.execute(SCHEMA)
    body = '{"scopes": ["dgfip_rfr"], "name": "bench", "settings": {}}'
    await connection.execute("INSERT INTO applications VALUES ('a1', 'bench', $1::jsonb)", body)
    digests = [uuid.uuid4().hex * 2 for _ in range(KEYS)]
    await connection.executemany(
        "INSERT INTO api_keys VALUES ($1, 'a1', $2, 'h', 0, NULL, NULL)",
        [(f"k{i}", digest) for i, digest in enumerate(digests)],
    )
    await connection.close()
    return digests


async def timed(seconds: float, operation: Callable[[int], Awaitable[int]]) -> tuple[float, float]:
    """(wall µs, CPU µs) per unit over ``seconds``."""
    units = 0
    step = 0
    cpu = time.process_time()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        units += await operation(step)
        step += 1
    wall = time.perf_counter() - start
    return wall / units * 1e6, (time.process_time() - cpu) / units * 1e6


def figures(lookup: float, lookup_cpu: float, row: float, row_cpu: float) -> dict[str, float]:
    return {"lookup": lookup, "lookup cpu": lookup_cpu, "row": row, "row cpu": row_cpu}


async def asyncpg_case(url: str, digests: list[str], seconds: float) -> dict[str, float]:
    connection = await asyncpg.connect(url)
    lookup = await connection.prepare(LOOKUP_PG.format("$1"))

    async def find(step: int) -> int:
        row = await lookup.fetchrow(digests[step % KEYS])
        assert row is not None
        return 1

    async def write(step: int) -> int:
        async with connection.transaction():
            await connection.copy_records_to_table("calls", records=rows(BATCH), columns=COLUMNS)
        return BATCH

    lookup_wall, lookup_cpu = await timed(seconds, find)
    write_wall, write_cpu = await timed(seconds, write)
    await connection.close()
    return figures(lookup_wall, lookup_cpu, write_wall, write_cpu)


async def psycopg_case(url: str, digests: list[str], seconds: float) -> dict[str, float]:
    connection = await psycopg.AsyncConnection.connect(url, autocommit=True)
    copy = f"COPY calls ({', '.join(COLUMNS)}) FROM STDIN"

    async def find(step: int) -> int:
        cursor = await connection.execute(
            LOOKUP_PG.format("%s"), (digests[step % KEYS],), prepare=True
        )
        assert await cursor.fetchone() is not None
        return 1

    async def write(step: int) -> int:
        async with (
            connection.transaction(),
            connection.cursor() as cursor,
            cursor.copy(copy) as writer,
        ):
            for row in rows(BATCH):
                await writer.write_row(row)
        return BATCH

    lookup_wall, lookup_cpu = await timed(seconds, find)
    write_wall, write_cpu = await timed(seconds, write)
    await connection.close()
    return figures(lookup_wall, lookup_cpu, write_wall, write_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    if server_binaries() is None:
        raise SystemExit(SKIP_REASON)
    cases = {"asyncpg": asyncpg_case, "psycopg": psycopg_case}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory() as directory, PostgresServer(Path(directory)) as server:
        digests = asyncio.run(seed(server.url))
        for round_ in range(options.rounds):
            order = list(cases) if round_ % 2 == 0 else list(reversed(cases))
            for name in order:
                results[name].append(asyncio.run(cases[name](server.url, digests, options.seconds)))
    medians = {
        name: {part: statistics.median(r[part] for r in runs) for part in runs[0]}
        for name, runs in results.items()
    }
    print(f"{'driver':10} {'lookup µs':>10} {'lookup CPU':>11} {'row µs':>8} {'row CPU':>8}")
    for name, figures in medians.items():
        print(
            f"{name:10} {figures['lookup']:10.1f} {figures['lookup cpu']:11.1f}"
            f" {figures['row']:8.2f} {figures['row cpu']:8.2f}"
        )
    base = medians["asyncpg"]
    ratios = {part: medians["psycopg"][part] / base[part] for part in base}
    shown = ", ".join(f"{part} {value:.2f}" for part, value in ratios.items())
    print(f"psycopg ÷ asyncpg: {shown}")


if __name__ == "__main__":
    main()
