"""The journal stores, SQLite and PostgreSQL alike: rows written and read back, purges,
statistics. The PostgreSQL cases run against a real server (skipped, saying so, where none
is installed)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from api_particulier.chain import GENESIS
from api_particulier.cli.journal import verify_store
from api_particulier.store import DailyCount, JournalStore
from api_particulier.store.postgresql import (
    PostgresDatabase,
    PostgresJournalStore,
    run_migrations,
)
from api_particulier.store.scope_sets import SELECTED_COLUMNS
from api_particulier.store.sqlite import SQLiteJournalStore
from api_particulier.types import CallRecord
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.anyio

_FIELDS = CallRecord.__struct_fields__


def record(
    time: float, status: int = 200, provider: str | None = "dgfip", **more: Any
) -> CallRecord:
    return CallRecord(
        request_id=more.pop("request_id", f"req-{time}"),
        time=time,
        route="/api/v2/avis-imposition",
        status=status,
        latency_ms=1.5,
        key_id="key-1",
        application_id="app-1",
        provider=provider,
        **more,
    )


def stored_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        # The scopes' text is kept once per set (api_particulier.store.scope_sets).
        return connection.execute(
            f"SELECT {SELECTED_COLUMNS} FROM calls ORDER BY time"  # noqa: S608
        ).fetchall()


def as_row(call: CallRecord) -> tuple[Any, ...]:
    """A record as SQLite gives it back: booleans as integers."""
    return tuple(int(v) if isinstance(v, bool) else v for v in (getattr(call, f) for f in _FIELDS))


def as_rows(calls: Iterable[CallRecord]) -> list[tuple[Any, ...]]:
    """Records as rows, in an order that does not depend on how they were read."""
    return sorted(map(as_row, calls), key=repr)


@contextlib.asynccontextmanager
async def opened(path: Path) -> AsyncIterator[SQLiteJournalStore]:
    store = SQLiteJournalStore(path)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def opened_postgres(url: str) -> AsyncIterator[PostgresJournalStore]:
    store = PostgresJournalStore(PostgresDatabase(url))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JournalStore]:
    if request.param == "sqlite":
        async with opened(tmp_path / "journal.sqlite3") as store:
            yield store
        return
    url = request.getfixturevalue("postgres_url")
    await run_migrations(url, apply=True)
    async with opened_postgres(url) as postgres:
        yield postgres


async def test_requests_are_read_back_one_row_each(journal: JournalStore) -> None:
    first = [
        record(10.0),
        record(11.0, status=404, error="not_found", cache_hit=True),
        record(12.0, provider=None, consent_evidence="receipt:abc", recipient="21750001600019"),
    ]
    second = [record(13.25, status=499, error="client_closed_request"), record(14.0)]
    await journal.write_calls(first)
    await journal.write_calls(second)
    await journal.write_calls([])
    assert await journal.recent_calls(10) == list(reversed(first + second))


async def test_sqlite_keeps_the_rows_in_its_file(tmp_path: Path) -> None:
    first = [record(10.0), record(11.0, status=404, error="not_found", cache_hit=True)]
    async with opened(tmp_path / "journal.sqlite3") as store:
        await store.write_calls(first)
    assert stored_rows(tmp_path / "journal.sqlite3") == [as_row(r) for r in first]


async def test_recent_calls_are_the_newest_first_across_batches(journal: JournalStore) -> None:
    await journal.write_calls([record(1.0), record(2.0), record(3.0)])
    await journal.write_calls([record(4.0), record(5.0)])
    assert [r.time for r in await journal.recent_calls(4)] == [5.0, 4.0, 3.0, 2.0]
    assert await journal.recent_calls(10) == [record(t) for t in (5.0, 4.0, 3.0, 2.0, 1.0)]


async def test_a_purge_removes_exactly_the_older_rows(journal: JournalStore) -> None:
    await journal.write_calls([record(10.0), record(11.0), record(12.0)])
    await journal.write_calls([record(19.0), record(20.0), record(21.0, status=500)])
    assert await journal.count_successful_data_calls(0.0) == 5
    assert await journal.purge_calls(20.0) == 4
    assert [r.time for r in await journal.recent_calls(10)] == [21.0, 20.0]
    assert await journal.count_successful_data_calls(0.0) == 1
    assert await journal.purge_calls(20.0) == 0


async def test_statistics_count_recent_successful_data_calls(journal: JournalStore) -> None:
    await journal.write_calls([record(5.0), record(6.0)])  # before the window
    await journal.write_calls(
        [
            record(100.0),
            record(101.0, provider=None),  # introspect: not a data call
            record(102.0, status=404, error="not_found"),
            record(103.0),
        ]
    )
    assert await journal.count_successful_data_calls(50.0) == 2
    assert await journal.count_successful_data_calls(0.0) == 4


# Text as the pipeline gives it: PostgreSQL's text holds no NUL character (request ids and
# recipients are checked against their formats before they reach the journal).
_text = st.characters(codec="utf-8", blacklist_characters="\x00")
_records = st.builds(
    record,
    time=st.floats(0, 1000, allow_nan=False),
    status=st.sampled_from([200, 400, 401, 404, 429, 499, 502]),
    provider=st.sampled_from(["dgfip", "cnaf", None]),
    request_id=st.text(_text, min_size=1, max_size=12),
    cache_hit=st.booleans(),
    recipient=st.none() | st.text(_text, max_size=14),
)
_batches = st.lists(st.lists(_records, min_size=1, max_size=6), max_size=5)
_cuts = st.floats(0, 1000, allow_nan=False)


async def purges_exactly(store: JournalStore, batches: list[list[CallRecord]], cut: float) -> None:
    """A purge removes the rows timed before the cut that come before the first row kept
    in the chain (a row timed earlier but written after one kept waits), and the chain
    of the rows kept still verifies."""
    everything = [call for batch in batches for call in batch]
    later = [position for position, call in enumerate(everything) if call.time >= cut]
    first_kept = later[0] if later else len(everything)
    kept = [
        call
        for position, call in enumerate(everything)
        if call.time >= cut or position > first_kept
    ]
    successful = [call for call in kept if call.status == 200 and call.provider is not None]
    for batch in batches:
        await store.write_calls(batch)
    assert as_rows(await store.recent_calls(1000)) == as_rows(everything)
    assert await store.purge_calls(cut) == len(everything) - len(kept)
    assert as_rows(await store.recent_calls(1000)) == as_rows(kept)
    assert await store.count_successful_data_calls(-1.0) == len(successful)
    verdict = await verify_store(store, None, None)
    assert verdict.ok, verdict.problem
    assert verdict.rows == len(kept)


@given(batches=_batches, cut=_cuts)
def test_any_batches_read_back_and_purge_exactly(
    batches: list[list[CallRecord]], cut: float
) -> None:
    async def scenario(path: Path) -> None:
        async with opened(path) as store:
            await purges_exactly(store, batches, cut)

    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(scenario(Path(directory) / "journal.sqlite3"))


def test_any_batches_read_back_and_purge_exactly_on_postgresql(postgres_url: str) -> None:
    asyncio.run(run_migrations(postgres_url, apply=True))

    @settings(max_examples=30)
    @given(batches=_batches, cut=_cuts)
    def check(batches: list[list[CallRecord]], cut: float) -> None:
        async def scenario() -> None:
            async with opened_postgres(postgres_url) as store:
                connection = await asyncpg.connect(postgres_url)
                await connection.execute("TRUNCATE calls, calls_daily, journal_checkpoints")
                await connection.execute("UPDATE journal_chain SET seq = 0, digest = $1", GENESIS)
                await connection.close()
                await purges_exactly(store, batches, cut)

        asyncio.run(scenario())

    check()


async def test_daily_counts_of_successful_data_calls(journal: JournalStore) -> None:
    day = 86400.0
    rows = [
        record(0.5 * day),  # before `since`, on its day
        record(0.75 * day),
        record(0.8 * day, provider="cnaf"),
        record(0.9 * day, status=404, error="not_found"),
        record(1.2 * day),
        record(1.3 * day, provider=None),  # introspect
        record(2.1 * day, provider="cnaf"),
        record(2.2 * day, provider="cnaf"),
    ]
    await journal.write_calls(rows)
    since = 0.6 * day
    expected: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.time >= since and row.status == 200 and row.provider is not None:
            when = dt.datetime.fromtimestamp(row.time, dt.UTC).date().isoformat()
            expected[(when, row.provider)] = expected.get((when, row.provider), 0) + 1
    found = await journal.daily_successful_data_calls(since)
    assert [(c.day, c.provider, c.calls) for c in found] == [
        (day_, provider, count) for (day_, provider), count in sorted(expected.items())
    ]
    assert found[0] == DailyCount("1970-01-01", "cnaf", 1)
    assert sum(c.calls for c in found) == await journal.count_successful_data_calls(since)


async def test_the_calls_about_a_citizen_are_found_by_their_pseudonym(
    journal: JournalStore,
) -> None:
    await journal.write_calls(
        [
            record(1.0, subject="alice", scopes="a b"),
            record(2.0, subject="bob"),
            record(3.0, status=404, error="not_found", subject="alice"),
            record(4.0),
        ]
    )
    await journal.write_calls([record(5.0, subject="carol"), record(6.0, subject="alice")])
    about = await journal.calls_about(["alice"], 0.0, 10)
    assert [(r.time, r.status) for r in about] == [(6.0, 200), (3.0, 404), (1.0, 200)]
    assert about[-1].scopes == "a b"
    assert [r.time for r in await journal.calls_about(["alice", "carol"], 2.5, 2)] == [6.0, 5.0]
    assert await journal.calls_about(["nobody"], 0.0, 10) == []
    assert await journal.calls_about([], 0.0, 10) == []
