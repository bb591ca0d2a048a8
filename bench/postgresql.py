"""The PostgreSQL store measured: the sandbox pipeline on PostgreSQL beside the same on
SQLite, in one run, and the journal's sustained write rate on PostgreSQL.

    python3 -m uv run python bench/postgresql.py [--duration 3] [--rounds 5]
                                                 [--journal-seconds 60]

It starts its own PostgreSQL (as the tests do) on core 1 with the load generator; the two
services run one at a time on core 0, alternated round by round (bench/run.py's
machinery). Then, in this process, tasks record journal rows as fast as the journal takes
them for ``--journal-seconds``, and it prints the rows written per second and the rows
pending each second: the write path keeps up when pending stays bounded, not growing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import anyio
import run as bench
from api_particulier.journal import Journal
from api_particulier.settings import JournalConfig
from api_particulier.store.postgresql import PostgresDatabase, PostgresJournalStore, run_migrations
from api_particulier.testing.postgres import SKIP_REASON, PostgresServer, server_binaries
from api_particulier.types import CallRecord

TARGET_RATIO = 0.90


def services(url: str) -> list[bench.Target]:
    on_postgres = bench.pipeline_config().replace(
        'data_dir = "@DATA@"', f'data_dir = "@DATA@"\nstore = "{url}"'
    )
    return [
        bench.Target("sandbox on SQLite", bench.SERVICE, bench.NOTICE,
                     config=bench.pipeline_config(), authenticated=True),
        bench.Target("sandbox on PostgreSQL", bench.SERVICE, bench.NOTICE, config=on_postgres,
                     authenticated=True, reference="sandbox on SQLite"),
    ]  # fmt: skip


def compare(url: str, directory: Path, options: argparse.Namespace) -> float:
    targets = services(url)
    samples: dict[str, list[bench.Sample]] = {t.name: [] for t in targets}
    for target in targets:
        bench.prepare(target, directory)
    try:
        for target in targets:
            bench.start(target)
            bench.measure(target, options.warmup)
        for round_ in range(options.rounds):
            order = targets if round_ % 2 == 0 else list(reversed(targets))
            for target in order:
                samples[target.name].append(bench.measure(target, options.duration))
    finally:
        for target in targets:
            bench.stop(target)
    print(f"{'server':24} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs/req':>11}")
    rates = {}
    for name, runs in samples.items():
        rates[name] = statistics.median(s.requests / s.seconds for s in runs)
        print(
            f"{name:24} {rates[name]:8,.0f} {statistics.median(s.p50_ms for s in runs):7.2f}"
            f" {statistics.median(s.p99_ms for s in runs):7.2f}"
            f" {statistics.median(s.cpu_us for s in runs):11.1f}"
        )
    return rates["sandbox on PostgreSQL"] / rates["sandbox on SQLite"]


def _row() -> CallRecord:
    return CallRecord(
        request_id=str(uuid.uuid4()), time=time.time(), route="/api/v2/avis-imposition",
        status=200, latency_ms=2.5, key_id="k", application_id="a", provider="dgfip",
    )  # fmt: skip


async def journal_run(url: str, seconds: float, rate: float | None) -> tuple[float, list[int]]:
    """Rows written per second, and the rows pending each second, with rows offered at
    ``rate`` per second (None: as fast as the journal takes them)."""
    store = PostgresJournalStore(PostgresDatabase(url))
    await store.open()
    journal = Journal(store, JournalConfig())
    before = await store.count_calls()
    pending: list[int] = []
    stop = time.monotonic() + seconds

    async def flood() -> None:
        while time.monotonic() < stop:
            await journal.record(_row())

    async def paced() -> None:
        assert rate is not None
        offered = 0
        began = time.monotonic()
        while time.monotonic() < stop:
            due = int((time.monotonic() - began) * rate)
            for _ in range(due - offered):
                await journal.record(_row())
            offered = due
            await anyio.sleep(0.005)

    async def sampler() -> None:
        while time.monotonic() < stop:
            await anyio.sleep(1.0)
            pending.append(journal.pending)

    started = time.monotonic()
    async with anyio.create_task_group() as group:
        journal.start(group)
        async with anyio.create_task_group() as load:
            if rate is None:
                for _ in range(50):
                    load.start_soon(flood)
            else:
                load.start_soon(paced)
            load.start_soon(sampler)
        await journal.stop()
        group.cancel_scope.cancel()
    elapsed = time.monotonic() - started
    written = await store.count_calls() - before
    await store.close()
    return written / elapsed, pending


def report_journal(url: str, seconds: float, rate: float) -> None:
    capacity, _ = anyio.run(journal_run, url, min(10.0, seconds), None)
    print(f"journal on PostgreSQL, rows offered as fast as taken: {capacity:,.0f} rows/s")
    written, pending = anyio.run(journal_run, url, seconds, rate)
    print(
        f"journal on PostgreSQL, {rate:,.0f} rows/s offered for {seconds:.0f} s: "
        f"{written:,.0f} rows/s written"
    )
    print(f"rows pending, each second: {pending}")
    half = len(pending) // 2
    growing = bool(pending[half:]) and max(pending[half:]) > 2 * max(pending[:half] or [0]) + 1000
    print(f"pending rows {'GROWING' if growing else 'bounded'} (at most {max(pending or [0])})")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--journal-seconds", type=float, default=60.0)
    # Several times what one worker serves (≈ 6,000 calls per second on this machine).
    parser.add_argument("--journal-rate", type=float, default=20_000.0)
    parser.add_argument("--skip-services", action="store_true")
    parser.add_argument("--load", choices=["auto", "wrk", "python"], default="auto")
    options = parser.parse_args()
    if server_binaries() is None:
        print(SKIP_REASON, file=sys.stderr)
        return 2
    bench.USE_WRK = options.load == "wrk" or (
        options.load == "auto" and shutil.which("wrk") is not None
    )
    with tempfile.TemporaryDirectory(prefix="api-particulier-postgres-") as directory:
        base = Path(directory)
        base.chmod(0o755)  # the server runs as postgres when this runs as root
        with PostgresServer(base / "postgres") as server:
            if server.process is not None and shutil.which("taskset"):
                subprocess.run(
                    ["taskset", "-a", "-p", "-c", "1", str(server.process.pid)],
                    check=False,
                    stdout=subprocess.DEVNULL,
                )
            # The schema of the core and of the bundled plugins, as a deployment makes it.
            subprocess.run(
                [sys.executable, "-m", "api_particulier", "db", "upgrade"],
                env={
                    **{k: v for k, v in os.environ.items() if not k.startswith("API_PARTICULIER_")},
                    "API_PARTICULIER_DATABASE_URL": server.url,
                    "API_PARTICULIER_DATA_DIR": str(base / "upgrade"),
                    "API_PARTICULIER_PEPPER": bench.PEPPER,
                },
                check=True,
                stdout=subprocess.DEVNULL,
            )
            if not options.skip_services:
                ratio = compare(server.url, base / "services", options)
                print(
                    f"PostgreSQL ÷ SQLite req/s: {ratio:.2f} (target ≥ {TARGET_RATIO:.2f})"
                    f" {'ok' if ratio >= TARGET_RATIO else 'MISSED'}"
                )
            if options.journal_seconds > 0:
                journal_url = server.create_database("journal_bench")
                asyncio.run(run_migrations(journal_url, apply=True))
                report_journal(journal_url, options.journal_seconds, options.journal_rate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
