"""SQLite stores for the embedded mode: one file for keys, another for the journal.

The journal lives apart from the keys so that it can be kept, backed up and purged on its
own terms. Each store holds one connection guarded by a lock; calls run in a worker thread
so the event loop never waits on the disk.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import msgspec
import sqlalchemy as sa

from ..chain import ChainedRow, ChainHead, Checkpoint, unsigned_cut
from ..chain import rows as chain_rows
from ..types import CallRecord
from .models import KEY_COLUMNS, ApiKey, Application, DailyCount, KeyMatch, key_from_row
from .schema import (
    JOURNAL,
    KEYS,
    NO_PLUGINS,
    BranchState,
    PluginMigrations,
    head,
    states,
    upgrade,
)
from .scope_sets import SELECTED_COLUMNS, WRITTEN_FIELDS, keyed

T = TypeVar("T")

# A key that cannot be used gives no row at all, like an unknown one: no application body is
# decoded for it, so its refusal costs what an unknown key's does. The application's expiry
# lives in its JSON body (stored as a BLOB, hence the cast).
_USABLE = (
    "AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?) "
    "AND coalesce(json_extract(CAST(a.body AS TEXT), '$.expires_at') > ?, 1)"
)


def sqlite_schema(
    path: Path, branches: Sequence[str], apply: bool, plugins: PluginMigrations = NO_PLUGINS
) -> list[BranchState]:
    """Where the file's schema is (before bringing it to this release's, with ``apply``:
    the embedded mode upgrades itself). A file that does not exist is not made to tell."""
    if not apply and not path.exists():
        return [BranchState(branch, None, head(branch, plugins)) for branch in branches]
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            if apply:
                return upgrade(connection, branches, plugins)
            return states(connection, branches, plugins)
    finally:
        engine.dispose()


def keys_branches(plugins: PluginMigrations) -> tuple[str, ...]:
    """The branches of ``keys.sqlite3``: the keys', and the plugins' tables beside them."""
    return (KEYS, *plugins.branches())


class _Database:
    def __init__(
        self,
        path: Path,
        branches: Callable[[], Sequence[str]],
        synchronous: str,
        pragmas: tuple[str, ...] = (),
        plugins: PluginMigrations = NO_PLUGINS,
    ) -> None:
        self.path = path
        # Read at the first connection: the plugins' branches are known by then.
        self._branches = branches
        self._plugins = plugins
        self._synchronous = synchronous
        self._pragmas = pragmas
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sqlite_schema(self.path, self._branches(), True, self._plugins)
        connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={self._synchronous}")
        connection.execute("PRAGMA busy_timeout=5000")
        connection.execute("PRAGMA foreign_keys=ON")
        for pragma in self._pragmas:
            connection.execute(pragma)
        self._connection = connection

    def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._connection is None:
                self._connect()
            assert self._connection is not None
            return work(self._connection)

    async def arun(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(self.run, work)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class SQLiteKeyStore:
    def __init__(self, path: Path, plugins: PluginMigrations = NO_PLUGINS) -> None:
        self._db = _Database(path, lambda: keys_branches(plugins), "FULL", plugins=plugins)

    async def open(self) -> None:
        await self._db.arun(lambda c: None)

    async def close(self) -> None:
        self._db.close()

    async def create_application(self, application: Application) -> None:
        body = msgspec.json.encode(application)
        await self._db.arun(
            lambda c: c.execute(
                "INSERT INTO applications (id, name, body) VALUES (?, ?, ?)",
                (application.id, application.name, body),
            )
        )

    async def _application(self, column: str, value: str) -> Application | None:
        row = await self._db.arun(
            lambda c: c.execute(
                f"SELECT body FROM applications WHERE {column} = ?",  # noqa: S608 - fixed names
                (value,),
            ).fetchone()
        )
        return msgspec.json.decode(row[0], type=Application) if row else None

    async def application_by_name(self, name: str) -> Application | None:
        return await self._application("name", name)

    async def application_by_id(self, application_id: str) -> Application | None:
        return await self._application("id", application_id)

    async def list_applications(self) -> list[Application]:
        rows = await self._db.arun(
            lambda c: c.execute("SELECT body FROM applications ORDER BY name").fetchall()
        )
        return [msgspec.json.decode(row[0], type=Application) for row in rows]

    async def update_application(self, application: Application) -> None:
        body = msgspec.json.encode(application)
        cursor = await self._db.arun(
            lambda c: c.execute(
                "UPDATE applications SET body = ? WHERE id = ? AND name = ?",
                (body, application.id, application.name),
            )
        )
        if cursor.rowcount != 1:
            raise KeyError(application.id)

    async def add_key(self, key: ApiKey) -> None:
        await self._db.arun(
            lambda c: c.execute(
                "INSERT INTO api_keys (id, application_id, digest, legacy_sha512, hint, "
                "created_at, expires_at, revoked_at, imported) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.id,
                    key.application_id,
                    key.digest,
                    key.legacy_sha512,
                    key.hint,
                    key.created_at,
                    key.expires_at,
                    key.revoked_at,
                    int(key.imported),
                ),
            )
        )

    async def _match(self, column: str, value: str, now: float) -> KeyMatch | None:
        row = await self._db.arun(
            lambda c: c.execute(
                f"SELECT {KEY_COLUMNS}, a.body FROM api_keys k "  # noqa: S608 - fixed names
                f"JOIN applications a ON a.id = k.application_id WHERE k.{column} = ? " + _USABLE,
                (value, now, now),
            ).fetchone()
        )
        if row is None:
            return None
        return KeyMatch(key_from_row(row), msgspec.json.decode(row[9], type=Application))

    async def find_active_key(self, digest: str, now: float) -> KeyMatch | None:
        return await self._match("digest", digest, now)

    async def find_active_legacy_key(self, sha512_hex: str, now: float) -> KeyMatch | None:
        return await self._match("legacy_sha512", sha512_hex, now)

    async def upgrade_legacy_key(self, key_id: str, digest: str) -> None:
        await self._db.arun(
            lambda c: c.execute(
                "UPDATE api_keys SET digest = ?, legacy_sha512 = NULL WHERE id = ?",
                (digest, key_id),
            )
        )

    async def has_imported_keys(self) -> bool:
        row = await self._db.arun(
            lambda c: c.execute("SELECT 1 FROM api_keys WHERE imported = 1 LIMIT 1").fetchone()
        )
        return row is not None

    async def revoke_key(self, key_id: str, when: float) -> bool:
        cursor = await self._db.arun(
            lambda c: c.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (when, key_id),
            )
        )
        return cursor.rowcount == 1

    async def watch_changes(self, forget: Callable[[str], None]) -> None:
        return  # one machine: the cache's TTL bounds what another process changed

    async def list_keys(self) -> list[ApiKey]:
        rows = await self._db.arun(
            lambda c: c.execute(
                f"SELECT {KEY_COLUMNS} FROM api_keys k ORDER BY k.created_at"  # noqa: S608
            ).fetchall()
        )
        return [key_from_row(row) for row in rows]


_CALL_COLUMNS = SELECTED_COLUMNS
# A row as written: the record's fields (the scopes' key for their text), then its place
# in the chain.
_WRITTEN_COLUMNS = f"{', '.join(WRITTEN_FIELDS)}, seq, digest"
_WRITTEN_COUNT = len(WRITTEN_FIELDS) + 2
_CALL_VALUES = f"({', '.join('?' for _ in range(_WRITTEN_COUNT))})"
_INSERT_CALL = f"INSERT INTO calls ({_WRITTEN_COLUMNS}) VALUES {_CALL_VALUES}"  # noqa: S608
# Rows go in by statements of this many: SQLite releases the GIL once per statement, and a
# writer thread that takes the GIL back after every row slows the event loop's thread down
# more than the insert itself costs (16 columns × 64 rows stays far below SQLite's limit on
# bound parameters).
_ROWS_PER_STATEMENT = 64
_INSERT_CALLS = (
    f"INSERT INTO calls ({_WRITTEN_COLUMNS}) VALUES "  # noqa: S608 - names from the Struct
    + ", ".join(_CALL_VALUES for _ in range(_ROWS_PER_STATEMENT))
)
_CHAINED_COLUMNS = f"row_id, seq, digest, {_CALL_COLUMNS}"
_INSERT_SCOPE_SETS = "INSERT OR IGNORE INTO journal_scope_sets (key, scopes) VALUES (?, ?)"
# Rows whose time is past the retention cut by less than this are enough to find the first
# position a purge keeps: rows are timed by the hosts that wrote them, in commit order but
# for their clocks' drift.
_CUT_WINDOW = 3600.0


class _Batch:
    """The parameters of one batch's statements, for the chain's head they assumed."""

    __slots__ = ("assumed", "head", "rest", "scope_sets", "statements")

    def __init__(self, records: Sequence[CallRecord], head: tuple[int, str] | None) -> None:
        # head None: the rows are written outside the chain ([core.journal] chain = false).
        self.assumed = head
        chained, self.head = chain_rows(records, head)
        rows, self.scope_sets = keyed(chained)
        whole = len(rows) - len(rows) % _ROWS_PER_STATEMENT
        self.statements = [
            tuple(chain.from_iterable(rows[start : start + _ROWS_PER_STATEMENT]))
            for start in range(0, whole, _ROWS_PER_STATEMENT)
        ]
        self.rest = rows[whole:]


def _insert_calls(
    connection: sqlite3.Connection, batch: _Batch, records: Sequence[CallRecord]
) -> tuple[int, str] | None:
    """Insert the rows and extend the chain in one transaction; the new head (None for
    rows written outside the chain)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        if batch.assumed is not None:
            seq, digest = connection.execute(
                "SELECT seq, digest FROM journal_chain WHERE id = 1"
            ).fetchone()
            if (seq, digest) != batch.assumed:
                # Another process wrote since: the chain goes on from its rows.
                batch = _Batch(records, (seq, digest))
        connection.executemany(_INSERT_SCOPE_SETS, batch.scope_sets)
        connection.executemany(_INSERT_CALLS, batch.statements)
        connection.executemany(_INSERT_CALL, batch.rest)
        if batch.head is not None:
            connection.execute(
                "UPDATE journal_chain SET seq = ?, digest = ? WHERE id = 1", batch.head
            )
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return batch.head


def _purge(
    connection: sqlite3.Connection, before: float, seal: Callable[[int, str], Checkpoint]
) -> int:
    """Delete the rows before ``before`` that the chain can lose: those before the first
    position kept, sealed by a checkpoint at the cut; and rows outside the chain."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        head_seq, head_digest = connection.execute(
            "SELECT seq, digest FROM journal_chain WHERE id = 1"
        ).fetchone()
        kept = connection.execute(
            "SELECT min(seq) FROM (SELECT seq FROM calls WHERE time >= ? AND time < ? "
            "AND seq IS NOT NULL UNION ALL SELECT seq FROM (SELECT seq FROM calls "
            "WHERE time >= ? AND seq IS NOT NULL ORDER BY time LIMIT 1))",
            (before, before + _CUT_WINDOW, before),
        ).fetchone()[0]
        cut = head_seq if kept is None else kept - 1
        previous = connection.execute(
            "SELECT max(seq) FROM journal_checkpoints WHERE kind = 'cut'"
        ).fetchone()[0]
        if cut > (previous or 0):
            found = connection.execute("SELECT digest FROM calls WHERE seq = ?", (cut,)).fetchone()
            digest = head_digest if cut == head_seq else found[0] if found else None
            if digest is not None:
                # It replaces a periodic checkpoint of the same row: the walk starts here.
                _add_checkpoint(connection, seal(cut, digest), replace=True)
                connection.execute("DELETE FROM journal_checkpoints WHERE seq < ?", (cut,))
        else:
            cut = previous or 0
        removed = connection.execute(
            "DELETE FROM calls WHERE time < ? AND (seq <= ? OR seq IS NULL)", (before, cut)
        ).rowcount
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return int(removed)


def _add_checkpoint(
    connection: sqlite3.Connection, checkpoint: Checkpoint, *, replace: bool = False
) -> None:
    connection.execute(
        f"INSERT OR {'REPLACE' if replace else 'IGNORE'} INTO journal_checkpoints"  # noqa: S608
        " (seq, digest, time, kind, key_id, signature) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        msgspec.structs.astuple(checkpoint),
    )


class SQLiteJournalStore:
    def __init__(self, path: Path, *, durable: bool = False, chained: bool = True) -> None:
        # FULL makes each commit survive a power cut, which the "required" journal promises.
        # Checkpoints copy the log into the database file; doing it every ~40 MB rather than
        # every ~4 MB (the default) costs a fifth less per row at a steady request rate.
        self._db = _Database(
            path,
            lambda: (JOURNAL,),
            "FULL" if durable else "NORMAL",
            # An index of older releases, on the random request ids: it cost more than every
            # other step of an insert.
            pragmas=("PRAGMA wal_autocheckpoint=10000", "DROP INDEX IF EXISTS calls_request_id"),
        )
        # The chain's head after this process's last write: the next batch is chained on
        # the event loop's thread from it, and again in the transaction only when another
        # process wrote in between.
        self._head: tuple[int, str] | None = None
        self._chained = chained

    async def open(self) -> None:
        await self._db.arun(lambda c: None)

    async def close(self) -> None:
        self._db.close()

    async def write_calls(self, records: Sequence[CallRecord]) -> None:
        # Parameters are built here, on the event loop's thread: the writer thread then holds
        # the GIL only to bind them, and the loop is not kept waiting for it.
        if not records:
            return
        if not self._chained:
            unchained = _Batch(records, None)
            await self._db.arun(lambda c: _insert_calls(c, unchained, records))
            return
        head = self._head
        if head is None:
            head = self._head = await self._db.arun(_read_head)
        batch = _Batch(records, head)
        self._head = None
        self._head = await self._db.arun(lambda c: _insert_calls(c, batch, records))

    async def chain_head(self) -> ChainHead:
        row = await self._db.arun(
            lambda c: c.execute(
                "SELECT seq, digest, started FROM journal_chain WHERE id = 1"
            ).fetchone()
        )
        return ChainHead(int(row[0]), row[1], float(row[2]))

    async def chained_rows(self, after: tuple[int, int], limit: int) -> list[ChainedRow]:
        seq, row_id = after
        rows = await self._db.arun(
            lambda c: c.execute(
                f"SELECT {_CHAINED_COLUMNS} FROM calls "  # noqa: S608 - names from the Struct
                "WHERE seq >= ? AND (seq > ? OR row_id > ?) ORDER BY seq, row_id LIMIT ?",
                (seq, seq, row_id, limit),
            ).fetchall()
        )
        return _chained(rows)

    async def rows_outside_chain(self, since: float, limit: int) -> list[ChainedRow]:
        rows = await self._db.arun(
            lambda c: c.execute(
                f"SELECT {_CHAINED_COLUMNS} FROM calls "  # noqa: S608 - names from the Struct
                "WHERE time >= ? AND seq IS NULL ORDER BY row_id LIMIT ?",
                (since, limit),
            ).fetchall()
        )
        return _chained(rows)

    async def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        await self._db.arun(lambda c: _add_checkpoint(c, checkpoint))

    async def checkpoints(self) -> list[Checkpoint]:
        rows = await self._db.arun(
            lambda c: c.execute(
                "SELECT seq, digest, time, kind, key_id, signature FROM journal_checkpoints "
                "ORDER BY seq"
            ).fetchall()
        )
        return [
            Checkpoint(seq=r[0], digest=r[1], time=r[2], kind=r[3], key_id=r[4], signature=r[5])
            for r in rows
        ]

    async def calls_about(
        self, subjects: Sequence[str], since: float, limit: int
    ) -> list[CallRecord]:
        if not subjects:
            return []
        marks = ", ".join("?" for _ in subjects)
        rows = await self._db.arun(
            lambda c: c.execute(
                f"SELECT {_CALL_COLUMNS} FROM calls WHERE subject IN ({marks}) "  # noqa: S608
                "AND time >= ? ORDER BY time DESC, row_id DESC LIMIT ?",
                (*subjects, since, limit),
            ).fetchall()
        )
        return _records(rows)

    async def count_successful_data_calls(self, since: float) -> int:
        row = await self._db.arun(
            lambda c: c.execute(
                "SELECT count(*) FROM calls WHERE time >= ? AND status = 200 "
                "AND provider IS NOT NULL",
                (since,),
            ).fetchone()
        )
        return int(row[0])

    async def daily_successful_data_calls(self, since: float) -> list[DailyCount]:
        rows = await self._db.arun(
            lambda c: c.execute(
                "SELECT date(time, 'unixepoch') AS day, provider, count(*) FROM calls "
                "WHERE time >= ? AND status = 200 AND provider IS NOT NULL "
                "GROUP BY day, provider ORDER BY day, provider",
                (since,),
            ).fetchall()
        )
        return [DailyCount(day, provider, int(calls)) for day, provider, calls in rows]

    async def purge_calls(
        self, before: float, seal: Callable[[int, str], Checkpoint] = unsigned_cut
    ) -> int:
        return await self._db.arun(lambda c: _purge(c, before, seal))

    async def recent_calls(self, limit: int) -> list[CallRecord]:
        rows = await self._db.arun(
            lambda c: c.execute(
                f"SELECT {_CALL_COLUMNS} FROM calls ORDER BY row_id DESC LIMIT ?",  # noqa: S608
                (limit,),
            ).fetchall()
        )
        return _records(rows)

    async def oldest_call_time(self) -> float | None:
        row = await self._db.arun(lambda c: c.execute("SELECT min(time) FROM calls").fetchone())
        return None if row[0] is None else float(row[0])

    async def calls_between(self, start: float, end: float) -> list[CallRecord]:
        rows = await self._db.arun(
            lambda c: c.execute(
                f"SELECT {_CALL_COLUMNS} FROM calls WHERE time >= ? AND time < ? "  # noqa: S608
                "ORDER BY time, row_id",
                (start, end),
            ).fetchall()
        )
        return _records(rows)

    async def count_calls(self) -> int:
        row = await self._db.arun(lambda c: c.execute("SELECT count(*) FROM calls").fetchone())
        return int(row[0])


def _read_head(connection: sqlite3.Connection) -> tuple[int, str]:
    row = connection.execute("SELECT seq, digest FROM journal_chain WHERE id = 1").fetchone()
    seq, digest = row
    return int(seq), str(digest)


def _chained(rows: list[Any]) -> list[ChainedRow]:
    records = _records([row[3:] for row in rows])
    return [
        ChainedRow(row[0], row[1], row[2], record)
        for row, record in zip(rows, records, strict=True)
    ]


def _records(rows: list[Any]) -> list[CallRecord]:
    fields = CallRecord.__struct_fields__
    # SQLite gives booleans back as integers: converted leniently.
    return [
        msgspec.convert(dict(zip(fields, row, strict=True)), CallRecord, strict=False)
        for row in rows
    ]
