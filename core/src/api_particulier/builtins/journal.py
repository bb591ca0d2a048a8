"""Built-in journal (contract §11): one row per request that reached authentication.

Rows are queued in memory and written in batches by a background task, so a request never
waits on the disk. In ``required`` mode a request waits until the batch holding its row is
committed; if that fails, its success answer is replaced by a 503, so no data leaves without
its journal row. Rows older than the retention are purged once a day.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
import structlog

from .. import hookimpl
from ..types import CallRecord, Denial

if TYPE_CHECKING:
    from ..app import ApiApp
    from ..settings import JournalConfig
    from ..store import JournalStore

log = structlog.get_logger("api_particulier.journal")

JOURNAL_UNAVAILABLE = Denial(
    status=503,
    error="provider_unavailable",
    reason="The call could not be recorded in the journal",
    message="Le service est momentanément indisponible, veuillez réessayer",
    headers={"retry-after": "1"},
)
_PURGE_EVERY = 24 * 3600.0


class _Batch:
    """Rows collected since the last flush, and the event their writers wait on."""

    __slots__ = ("done", "ok", "rows")

    def __init__(self) -> None:
        self.rows: list[CallRecord] = []
        self.done = anyio.Event()
        self.ok = False


class JournalPlugin:
    # Events belong to an event loop, so they are made in startup, not here.
    _batch: _Batch
    _wake: anyio.Event
    _room: anyio.Event

    def __init__(self) -> None:
        self._store: JournalStore | None = None
        self._config: JournalConfig | None = None
        self._closing = False

    @hookimpl
    async def startup(self, app: ApiApp) -> None:
        self._batch = _Batch()
        self._wake = anyio.Event()
        self._room = anyio.Event()
        self._store = app.journal_store
        self._config = app.settings.core.journal
        app.task_group.start_soon(self._writer)
        app.task_group.start_soon(self._purger)

    @hookimpl
    async def shutdown(self, app: ApiApp) -> None:
        self._closing = True
        await self.flush()

    @hookimpl
    def record_call(self, record: CallRecord) -> Denial | Coroutine[Any, Any, Any] | None:
        config = self._config
        assert config is not None
        if len(self._batch.rows) >= config.max_pending and not self._closing:
            return self._record_when_room(record)
        batch = self._batch
        batch.rows.append(record)
        if len(batch.rows) >= config.batch_size:
            self._wake.set()
        if config.mode != "required" or not 200 <= record.status < 300:
            return None
        return self._durable(batch)

    async def _record_when_room(self, record: CallRecord) -> Denial | None:
        # Back-pressure instead of dropping rows: the writer is behind.
        assert self._config is not None
        while len(self._batch.rows) >= self._config.max_pending and not self._closing:
            self._wake.set()
            await self._room.wait()
        outcome = self.record_call(record)
        return await outcome if isinstance(outcome, Coroutine) else outcome

    async def _durable(self, batch: _Batch) -> Denial | None:
        """Wait until ``batch`` is committed; a failure refuses the success answer."""
        self._wake.set()
        await batch.done.wait()
        return None if batch.ok else JOURNAL_UNAVAILABLE

    async def flush(self) -> None:
        """Write what is queued now."""
        batch, self._batch = self._batch, _Batch()
        self._room.set()
        self._room = anyio.Event()
        if not batch.rows:
            batch.ok = True
            batch.done.set()
            return
        assert self._store is not None
        try:
            await self._store.write_calls(batch.rows)
            batch.ok = True
        except Exception as exc:
            log.error("journal_write_failed", rows=len(batch.rows), error=type(exc).__name__)
            if not self._closing:
                # Keep the rows for the next flush: nothing is lost to a transient error.
                self._batch.rows[:0] = self._as_answered(batch.rows)
        finally:
            batch.done.set()

    def _as_answered(self, rows: list[CallRecord]) -> list[CallRecord]:
        """In required mode, the success answers of a failed batch were replaced by a 503:
        their rows must say so when written later."""
        assert self._config is not None
        if self._config.mode != "required":
            return rows
        return [
            msgspec.structs.replace(
                row, status=JOURNAL_UNAVAILABLE.status, error=JOURNAL_UNAVAILABLE.error
            )
            if 200 <= row.status < 300
            else row
            for row in rows
        ]

    async def _writer(self) -> None:
        assert self._config is not None
        interval = self._config.flush_interval
        while True:
            with anyio.move_on_after(interval):
                await self._wake.wait()
            self._wake = anyio.Event()
            await self.flush()

    async def _purger(self) -> None:
        while True:
            await self.purge()
            await anyio.sleep(_PURGE_EVERY)

    async def purge(self) -> int:
        assert self._store is not None and self._config is not None
        cutoff = time.time() - self._config.retention_days * 86400
        try:
            removed = await self._store.purge_calls(cutoff)
        except Exception as exc:
            log.error("journal_purge_failed", error=type(exc).__name__)
            return 0
        if removed:
            log.info("journal_purged", rows=removed)
        return removed
