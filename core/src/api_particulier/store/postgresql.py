"""PostgreSQL stores, for several service hosts on one database (asyncpg).

Both stores share one connection pool per process. The schema is Alembic's (see
:mod:`.schema`): a store refuses to open at an older revision. The journal table is
partitioned by month; the months ahead are made when the store opens and once a day, and
retention drops whole months (and deletes the older rows of the month it cuts into), so a
purge never scans the table. Each batch of journal rows also adds to ``calls_daily``, the
per-day count that statistics read.

A database that cannot be reached raises :class:`StoreUnavailable`: callers answer 503,
never 500.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import asyncpg
import msgspec
import sqlalchemy as sa
import structlog
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy.ext.asyncio import create_async_engine

from ..chain import ChainedRow, ChainHead, Checkpoint, unsigned_cut
from ..chain import rows as chain_rows
from ..types import CallRecord
from .base import StoreUnavailable
from .models import KEY_COLUMNS, ApiKey, Application, DailyCount, KeyMatch, key_from_row
from .schema import (
    JOURNAL,
    KEYS,
    NO_PLUGINS,
    BranchState,
    PluginMigrations,
    require_current,
    states,
    upgrade,
)
from .scope_sets import SELECTED_COLUMNS, WRITTEN_FIELDS, keyed

log = structlog.get_logger("api_particulier.store")

BRANCHES = (KEYS, JOURNAL)
# Where key revocations and application changes are announced to every host.
CHANGES_CHANNEL = "api_particulier_changes"
# Months of journal partitions kept ready ahead of the current one.
MONTHS_AHEAD = 2
# What a database that went away looks like to asyncpg: refused or reset sockets, a
# connection it closed (08xxx), an administrator's shutdown (57xxx), a protocol left
# half-way by a dropped socket.
_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)

# A key that cannot be used gives no row at all, like an unknown one (as on SQLite).
_USABLE = (
    "AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2) "
    "AND coalesce((a.body->>'expires_at')::float8 > $2, true)"
)
_CALL_COLUMNS = SELECTED_COLUMNS
_WRITTEN_FIELDS = (*WRITTEN_FIELDS, "seq", "digest")
_CHAINED_COLUMNS = f"row_id, seq, digest, {_CALL_COLUMNS}"
# See the SQLite store: rows this far past a retention cut find the first position kept.
_CUT_WINDOW = 3600.0
if TYPE_CHECKING:
    PoolConnection = PoolConnectionProxy[asyncpg.Record]


def sqlalchemy_url(url: str) -> str:
    """The URL for SQLAlchemy's asyncpg dialect (migrations)."""
    rest = url.partition("://")[2]
    return f"postgresql+asyncpg://{rest}"


async def run_migrations(
    url: str, *, apply: bool, check: bool = True, plugins: PluginMigrations = NO_PLUGINS
) -> list[BranchState]:
    """The branches' states: before upgrading them (``apply``), or as they are — raising
    :class:`SchemaOutdated` when one is behind, with ``check``. The plugins' tables live
    in the same database."""
    branches = (*BRANCHES, *plugins.branches())
    engine = create_async_engine(sqlalchemy_url(url), poolclass=sa.NullPool)
    try:
        async with engine.connect() as connection:
            if apply:
                return await connection.run_sync(lambda c: upgrade(c, branches, plugins))
            found = await connection.run_sync(lambda c: states(c, branches, plugins))
            if check:
                await connection.run_sync(lambda c: require_current(c, branches, plugins))
            return found
    except _UNREACHABLE as exc:
        raise StoreUnavailable(f"PostgreSQL is not reachable ({type(exc).__name__})") from None
    finally:
        await engine.dispose()


class PostgresDatabase:
    """The pool both stores use; opened by the first store to open, closed by the last."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        plugins: PluginMigrations = NO_PLUGINS,
    ) -> None:
        self.url = url
        self.plugins = plugins
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._users = 0

    async def open(self) -> None:
        """Check the schema and open the pool (once); raises :class:`SchemaOutdated` or
        :class:`StoreUnavailable`."""
        if self._pool is None:
            await run_migrations(self.url, apply=False, plugins=self.plugins)
            try:
                self._pool = await asyncpg.create_pool(
                    self.url,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    init=_init_connection,
                )
            except _UNREACHABLE as exc:
                raise StoreUnavailable(
                    f"PostgreSQL is not reachable ({type(exc).__name__})"
                ) from None
        self._users += 1

    async def close(self) -> None:
        self._users -= 1
        if self._users <= 0 and self._pool is not None:
            pool, self._pool = self._pool, None
            # A graceful close waits for every connection; one stuck on a dead socket would
            # hold the shutdown forever.
            with anyio.move_on_after(5):
                await pool.close()
                return
            pool.terminate()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[PoolConnection]:
        if self._pool is None:
            raise StoreUnavailable("the store is not open")
        try:
            async with self._pool.acquire(timeout=5) as connection:
                try:
                    yield connection
                except _UNREACHABLE:
                    # Not given back to the pool as it is: the next caller gets a new one.
                    connection.terminate()
                    raise
        except _UNREACHABLE as exc:
            raise StoreUnavailable(f"PostgreSQL is not reachable ({type(exc).__name__})") from None


async def _init_connection(connection: asyncpg.Connection) -> None:
    # jsonb as text both ways: msgspec encodes and decodes it.
    await connection.set_type_codec(
        "jsonb", encoder=lambda v: v, decoder=lambda v: v, schema="pg_catalog"
    )


class PostgresKeyStore:
    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def create_application(self, application: Application) -> None:
        async with self._db.connection() as c:
            await c.execute(
                "INSERT INTO applications (id, name, body) VALUES ($1, $2, $3)",
                application.id,
                application.name,
                msgspec.json.encode(application).decode(),
            )

    async def _application(self, column: str, value: str) -> Application | None:
        async with self._db.connection() as c:
            body = await c.fetchval(
                f"SELECT body FROM applications WHERE {column} = $1",  # noqa: S608 - fixed names
                value,
            )
        return msgspec.json.decode(body, type=Application) if body is not None else None

    async def application_by_name(self, name: str) -> Application | None:
        return await self._application("name", name)

    async def application_by_id(self, application_id: str) -> Application | None:
        return await self._application("id", application_id)

    async def list_applications(self) -> list[Application]:
        async with self._db.connection() as c:
            rows = await c.fetch("SELECT body FROM applications ORDER BY name")
        return [msgspec.json.decode(row[0], type=Application) for row in rows]

    async def update_application(self, application: Application) -> None:
        async with self._db.connection() as c, c.transaction():
            status = await c.execute(
                "UPDATE applications SET body = $1 WHERE id = $2 AND name = $3",
                msgspec.json.encode(application).decode(),
                application.id,
                application.name,
            )
            if status == "UPDATE 1":
                # Delivered to every listening host when the transaction commits.
                await c.execute("SELECT pg_notify($1, $2)", CHANGES_CHANNEL, application.id)
        if status != "UPDATE 1":
            raise KeyError(application.id)

    async def add_key(self, key: ApiKey) -> None:
        async with self._db.connection() as c:
            await c.execute(
                "INSERT INTO api_keys (id, application_id, digest, legacy_sha512, hint, "
                "created_at, expires_at, revoked_at, imported) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                key.id,
                key.application_id,
                key.digest,
                key.legacy_sha512,
                key.hint,
                key.created_at,
                key.expires_at,
                key.revoked_at,
                key.imported,
            )

    async def _match(self, column: str, value: str, now: float) -> KeyMatch | None:
        async with self._db.connection() as c:
            row = await c.fetchrow(
                f"SELECT {KEY_COLUMNS}, a.body FROM api_keys k "  # noqa: S608 - fixed names
                f"JOIN applications a ON a.id = k.application_id WHERE k.{column} = $1 " + _USABLE,
                value,
                now,
            )
        if row is None:
            return None
        return KeyMatch(key_from_row(row), msgspec.json.decode(row[9], type=Application))

    async def find_active_key(self, digest: str, now: float) -> KeyMatch | None:
        return await self._match("digest", digest, now)

    async def find_active_legacy_key(self, sha512_hex: str, now: float) -> KeyMatch | None:
        return await self._match("legacy_sha512", sha512_hex, now)

    async def upgrade_legacy_key(self, key_id: str, digest: str) -> None:
        async with self._db.connection() as c:
            await c.execute(
                "UPDATE api_keys SET digest = $1, legacy_sha512 = NULL WHERE id = $2",
                digest,
                key_id,
            )

    async def has_imported_keys(self) -> bool:
        async with self._db.connection() as c:
            found = await c.fetchval("SELECT 1 FROM api_keys WHERE imported LIMIT 1")
        return found is not None

    async def revoke_key(self, key_id: str, when: float) -> bool:
        async with self._db.connection() as c, c.transaction():
            status = await c.execute(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                when,
                key_id,
            )
            if status == "UPDATE 1":
                await c.execute("SELECT pg_notify($1, $2)", CHANGES_CHANNEL, key_id)
        return bool(status == "UPDATE 1")

    async def watch_changes(self, forget: Callable[[str], None]) -> None:
        """LISTEN on a connection of its own (outside the pool), opened again after a
        fault; while it is down, the cache's TTL still bounds what is missed."""

        def received(_connection: object, _pid: int, _channel: str, payload: object) -> None:
            forget(str(payload))

        while True:
            try:
                connection = await asyncpg.connect(self._db.url, timeout=5)
            except _UNREACHABLE:
                await anyio.sleep(1.0)
                continue
            lost = anyio.Event()
            connection.add_termination_listener(_setter(lost))
            try:
                await connection.add_listener(CHANGES_CHANNEL, received)
                log.info("store_changes_watched")
                await lost.wait()
                log.warning("store_changes_unwatched")
            except _UNREACHABLE:
                pass
            finally:
                connection.terminate()
            await anyio.sleep(1.0)

    async def list_keys(self) -> list[ApiKey]:
        async with self._db.connection() as c:
            rows = await c.fetch(
                f"SELECT {KEY_COLUMNS} FROM api_keys k ORDER BY k.created_at"  # noqa: S608
            )
        return [key_from_row(row) for row in rows]


def _setter(event: anyio.Event) -> Callable[[object], None]:
    return lambda _connection: event.set()


async def _add_checkpoint(
    c: PoolConnection, checkpoint: Checkpoint, *, replace: bool = False
) -> None:
    conflict = (
        "DO UPDATE SET digest = excluded.digest, time = excluded.time, kind = excluded.kind, "
        "key_id = excluded.key_id, signature = excluded.signature"
        if replace
        else "DO NOTHING"
    )
    await c.execute(
        "INSERT INTO journal_checkpoints (seq, digest, time, kind, key_id, signature) "  # noqa: S608
        f"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq) {conflict}",
        *msgspec.structs.astuple(checkpoint),
    )


def _chained(row: asyncpg.Record) -> ChainedRow:
    values = dict(row)
    row_id, seq, digest = values.pop("row_id"), values.pop("seq"), values.pop("digest")
    return ChainedRow(row_id, seq, digest, CallRecord(**values))


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _epoch(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def _partition_name(month: dt.date) -> str:
    return f"calls_{month.year:04d}_{month.month:02d}"


def _utc_day(timestamp: float) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date()


class PostgresJournalStore:
    def __init__(self, database: PostgresDatabase, *, chained: bool = True) -> None:
        self._db = database
        self._chained = chained
        self._partitions_checked = 0.0

    async def open(self) -> None:
        await self._db.open()
        try:
            await self.ensure_partitions(time.time())
        except BaseException:
            await self._db.close()
            raise

    async def close(self) -> None:
        await self._db.close()

    async def ensure_partitions(self, now: float) -> list[str]:
        """Make the partitions of this month and of :data:`MONTHS_AHEAD` months after it;
        the names of those made now."""
        made = []
        month = _month_start(_utc_day(now))
        async with self._db.connection() as c:
            existing = {
                row[0]
                for row in await c.fetch(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'calls'"
                )
            }
            for _ in range(MONTHS_AHEAD + 1):
                name = _partition_name(month)
                if name not in existing:
                    following = _next_month(month)
                    await c.execute(
                        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF calls "
                        f"FOR VALUES FROM ({_epoch(month)!r}) TO ({_epoch(following)!r})"
                    )
                    made.append(name)
                month = _next_month(month)
        self._partitions_checked = now
        if made:
            log.info("journal_partitions_made", partitions=made)
        return made

    async def write_calls(self, records: Sequence[CallRecord]) -> None:
        if not records:
            return
        now = time.time()
        if now - self._partitions_checked > 3600:
            await self.ensure_partitions(now)
        daily = Counter(
            (_utc_day(r.time), r.provider)
            for r in records
            if r.status == 200 and r.provider is not None
        )
        async with self._db.connection() as c, c.transaction():
            if self._chained:
                # The chain's head, locked: the hosts' batches take their positions in turn.
                head = await c.fetchrow(
                    "SELECT seq, digest FROM journal_chain WHERE id = 1 FOR UPDATE"
                )
                assert head is not None  # made by the migration
                rows, new_head = chain_rows(records, (head["seq"], head["digest"]))
            else:
                rows, new_head = chain_rows(records, None)
            rows, scope_sets = keyed(rows)
            if scope_sets:
                await c.executemany(
                    "INSERT INTO journal_scope_sets (key, scopes) VALUES ($1, $2) "
                    "ON CONFLICT (key) DO NOTHING",
                    scope_sets,
                )
            await c.copy_records_to_table("calls", records=rows, columns=_WRITTEN_FIELDS)
            if new_head is not None:
                await c.execute(
                    "UPDATE journal_chain SET seq = $1, digest = $2 WHERE id = 1", *new_head
                )
            if daily:
                await c.executemany(
                    "INSERT INTO calls_daily (day, provider, calls) VALUES ($1, $2, $3) "
                    "ON CONFLICT (day, provider) DO UPDATE "
                    "SET calls = calls_daily.calls + excluded.calls",
                    [(day, provider, count) for (day, provider), count in daily.items()],
                )

    async def chain_head(self) -> ChainHead:
        async with self._db.connection() as c:
            row = await c.fetchrow("SELECT seq, digest, started FROM journal_chain WHERE id = 1")
        assert row is not None  # made by the migration
        return ChainHead(int(row["seq"]), row["digest"], float(row["started"]))

    async def chained_rows(self, after: tuple[int, int], limit: int) -> list[ChainedRow]:
        async with self._db.connection() as c:
            rows = await c.fetch(
                f"SELECT {_CHAINED_COLUMNS} FROM calls "  # noqa: S608 - names from the Struct
                "WHERE seq >= $1 AND (seq > $1 OR row_id > $2) ORDER BY seq, row_id LIMIT $3",
                after[0],
                after[1],
                limit,
            )
        return [_chained(row) for row in rows]

    async def rows_outside_chain(self, since: float, limit: int) -> list[ChainedRow]:
        async with self._db.connection() as c:
            rows = await c.fetch(
                f"SELECT {_CHAINED_COLUMNS} FROM calls "  # noqa: S608 - names from the Struct
                "WHERE time >= $1 AND seq IS NULL ORDER BY row_id LIMIT $2",
                since,
                limit,
            )
        return [_chained(row) for row in rows]

    async def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        async with self._db.connection() as c:
            await _add_checkpoint(c, checkpoint)

    async def checkpoints(self) -> list[Checkpoint]:
        async with self._db.connection() as c:
            rows = await c.fetch(
                "SELECT seq, digest, time, kind, key_id, signature FROM journal_checkpoints "
                "ORDER BY seq"
            )
        return [Checkpoint(**dict(row)) for row in rows]

    async def calls_about(
        self, subjects: Sequence[str], since: float, limit: int
    ) -> list[CallRecord]:
        if not subjects:
            return []
        async with self._db.connection() as c:
            rows = await c.fetch(
                f"SELECT {_CALL_COLUMNS} FROM calls "  # noqa: S608
                "WHERE subject = any($1::text[]) AND time >= $2 "
                "ORDER BY time DESC, row_id DESC LIMIT $3",
                list(subjects),
                since,
                limit,
            )
        return [CallRecord(**dict(row)) for row in rows]

    async def count_successful_data_calls(self, since: float) -> int:
        return sum(count.calls for count in await self.daily_successful_data_calls(since))

    async def daily_successful_data_calls(self, since: float) -> list[DailyCount]:
        # Whole days from the daily counts; the day ``since`` falls in, from its rows.
        first_day = _utc_day(since)
        next_day = first_day + dt.timedelta(days=1)
        async with self._db.connection() as c:
            whole = await c.fetch(
                "SELECT day, provider, calls FROM calls_daily WHERE day >= $1", next_day
            )
            partial = await c.fetch(
                "SELECT provider, count(*) FROM calls WHERE time >= $1 AND time < $2 "
                "AND status = 200 AND provider IS NOT NULL GROUP BY provider",
                since,
                _epoch(next_day),
            )
        found = [DailyCount(first_day.isoformat(), provider, int(n)) for provider, n in partial]
        found += [DailyCount(day.isoformat(), provider, int(n)) for day, provider, n in whole]
        return sorted(found, key=lambda count: (count.day, count.provider))

    async def purge_calls(
        self, before: float, seal: Callable[[int, str], Checkpoint] = unsigned_cut
    ) -> int:
        """Remove the rows before ``before`` that the chain can lose — those before the
        first position kept, sealed by a checkpoint at the cut — and rows outside the
        chain: months wholly before the cut are dropped, the rest deleted. The number of
        rows removed."""
        cut_month = _month_start(_utc_day(before))
        removed = 0
        async with self._db.connection() as c, c.transaction():
            head = await c.fetchrow("SELECT seq, digest FROM journal_chain WHERE id = 1 FOR UPDATE")
            assert head is not None  # made by the migration
            kept = await c.fetchval(
                "SELECT min(seq) FROM (SELECT seq FROM calls WHERE time >= $1 AND time < $2 "
                "AND seq IS NOT NULL UNION ALL (SELECT seq FROM calls "
                "WHERE time >= $1 AND seq IS NOT NULL ORDER BY time LIMIT 1)) AS k",
                before,
                before + _CUT_WINDOW,
            )
            cut = head["seq"] if kept is None else kept - 1
            previous = await c.fetchval(
                "SELECT max(seq) FROM journal_checkpoints WHERE kind = 'cut'"
            )
            if cut > (previous or 0):
                digest = (
                    head["digest"]
                    if cut == head["seq"]
                    else await c.fetchval(
                        "SELECT digest FROM calls WHERE seq = $1 AND time < $2", cut, before
                    )
                )
                if digest is not None:
                    # It replaces a periodic checkpoint of the same row: the walk starts here.
                    await _add_checkpoint(c, seal(cut, digest), replace=True)
                    await c.execute("DELETE FROM journal_checkpoints WHERE seq < $1", cut)
            else:
                cut = previous or 0
            partitions = await c.fetch(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'calls'"
            )
            for (name,) in partitions:
                if name == "calls_default" or name >= _partition_name(cut_month):
                    continue
                # A month whose rows the chain still needs (a host's clock behind) waits.
                last = await c.fetchval(f"SELECT max(seq) FROM {name}")  # noqa: S608
                if last is not None and last > cut:
                    continue
                removed += int(await c.fetchval(f"SELECT count(*) FROM {name}"))  # noqa: S608
                await c.execute(f"DROP TABLE {name}")
            status = await c.execute(
                "DELETE FROM calls WHERE time < $1 AND (seq <= $2 OR seq IS NULL)", before, cut
            )
            removed += int(status.split()[-1])
            # The daily counts follow: the days before the cut go, the day it falls in is
            # counted again from the rows it keeps (at most one day of rows).
            cut_day = _utc_day(before)
            await c.execute("DELETE FROM calls_daily WHERE day <= $1", cut_day)
            await c.execute(
                "INSERT INTO calls_daily (day, provider, calls) "
                "SELECT $1::date, provider, count(*) FROM calls "
                "WHERE time >= $2 AND time < $3 AND status = 200 AND provider IS NOT NULL "
                "GROUP BY provider",
                cut_day,
                _epoch(cut_day),
                _epoch(cut_day + dt.timedelta(days=1)),
            )
        return removed

    async def recent_calls(self, limit: int) -> list[CallRecord]:
        async with self._db.connection() as c:
            rows = await c.fetch(
                f"SELECT {_CALL_COLUMNS} FROM calls "  # noqa: S608
                "ORDER BY row_id DESC LIMIT $1",
                limit,
            )
        return [CallRecord(**dict(row)) for row in rows]

    async def oldest_call_time(self) -> float | None:
        async with self._db.connection() as c:
            oldest = await c.fetchval("SELECT min(time) FROM calls")
        return None if oldest is None else float(oldest)

    async def calls_between(self, start: float, end: float) -> list[CallRecord]:
        async with self._db.connection() as c:
            rows = await c.fetch(
                f"SELECT {_CALL_COLUMNS} FROM calls "  # noqa: S608
                "WHERE time >= $1 AND time < $2 ORDER BY time, row_id",
                start,
                end,
            )
        return [CallRecord(**dict(row)) for row in rows]

    async def count_calls(self) -> int:
        async with self._db.connection() as c:
            return int(await c.fetchval("SELECT count(*) FROM calls"))
