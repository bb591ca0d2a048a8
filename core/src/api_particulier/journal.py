"""The journal (contract §11): one row per request that reached authentication.

It is part of the core, not a plugin: the pipeline hands it each row before the answer
leaves and, in ``required`` mode, waits for its word. Rows are queued in memory and written
in batches by a background task, so a request never waits on the disk; in ``required`` mode
a 2xx answer waits until the batch holding its row is committed, and if that fails the
answer is replaced by a 503, so no data leaves without its row. Rows older than the
retention are purged once a day.

The store chains the rows as it writes them (:mod:`api_particulier.chain`); the journal
signs the chain's head every ``checkpoint_interval`` and when it stops, and seals each
purge with a signed checkpoint at the cut.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import msgspec
import structlog

from .chain import Checkpoint, Signer, unsigned_cut
from .faults import Faults
from .types import CallRecord, Denial

if TYPE_CHECKING:
    from .settings import JournalConfig
    from .store import JournalStore

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


class Journal:
    # Events belong to an event loop, so they are made in start(), not here.
    _batch: _Batch
    _wake: anyio.Event
    _room: anyio.Event
    _flushing: anyio.Lock

    def __init__(
        self,
        store: JournalStore,
        config: JournalConfig,
        faults: Faults | None = None,
        signer: Signer | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self._faults = faults if faults is not None else Faults()
        self._signer = signer
        self._closing = False
        # The rows of the batch being written (handed to the store, not yet committed).
        self._writing: list[CallRecord] = []
        # The last position this process signed (or found signed).
        self._signed = 0

    def start(self, task_group: anyio.abc.TaskGroup) -> None:
        """Begin accepting rows; the writer and the purger run in ``task_group``."""
        self._batch = _Batch()
        self._wake = anyio.Event()
        self._room = anyio.Event()
        self._flushing = anyio.Lock()
        self._closing = False
        task_group.start_soon(self._writer)
        task_group.start_soon(self._purger)
        if self._signer is not None:
            task_group.start_soon(self._checkpointer)
        elif self._config.chain:
            log.warning(
                "journal_checkpoints_unsigned",
                advice="set [core.journal] signing_key or API_PARTICULIER_JOURNAL_SIGNING_KEY",
            )

    async def stop(self) -> None:
        """Write what is queued, and sign the chain's head; rows recorded from now on are
        written at once."""
        self._closing = True
        await self.flush()
        await self.checkpoint()

    @property
    def pending(self) -> int:
        """Rows taken and not yet handed to the store."""
        return len(self._batch.rows)

    def _queued(self) -> list[CallRecord]:
        """Rows taken and not yet handed to the store; none before ``start`` (the batch,
        with its events, is made there, inside the event loop)."""
        batch = getattr(self, "_batch", None)
        return batch.rows if batch is not None else []

    @property
    def uncommitted(self) -> int:
        """Rows taken and not yet committed: queued, or in the batch being written."""
        return len(self._queued()) + len(self._writing)

    def lag(self, now: float | None = None) -> float:
        """Seconds the oldest row not yet committed has waited (0 when none waits): how
        far the store's copy is behind the answers."""
        times = [rows[0].time for rows in (self._writing, self._queued()) if rows]
        if not times:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - min(times))

    async def record(self, record: CallRecord) -> bool:
        """Take ``record``'s row. In ``required`` mode, for a 2xx, return once the row is
        committed: False when it could not be (the answer must then not be sent)."""
        config = self._config
        while len(self._batch.rows) >= config.max_pending and not self._closing:
            # Back-pressure instead of dropping rows: the writer is behind.
            self._wake.set()
            await self._room.wait()
        batch = self._batch
        batch.rows.append(record)
        if len(batch.rows) >= config.batch_size or self._closing:
            self._wake.set()
        if config.mode != "required" or not 200 <= record.status < 300:
            return True
        # Wait until the batch holding the row is committed.
        self._wake.set()
        await batch.done.wait()
        return batch.ok

    async def flush(self) -> None:
        """Write what is queued now; return once every row recorded before the call is
        written (or has failed to be, and waits for the next flush)."""
        # One flush at a time: a flush asked while the writer's is under way waits for it,
        # so that returning means the rows of both are in the store.
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        batch, self._batch = self._batch, _Batch()
        self._room.set()
        self._room = anyio.Event()
        if not batch.rows:
            batch.ok = True
            batch.done.set()
            return
        self._writing = batch.rows
        try:
            await self._store.write_calls(batch.rows)
            batch.ok = True
        except Exception as exc:
            log.error("journal_write_failed", rows=len(batch.rows), error=type(exc).__name__)
            self._faults.report("store")
            if not self._closing:
                # Keep the rows for the next flush: nothing is lost to a transient error.
                self._batch.rows[:0] = self._as_answered(batch.rows)
        finally:
            self._writing = []
            batch.done.set()

    def _as_answered(self, rows: list[CallRecord]) -> list[CallRecord]:
        """In required mode, the success answers of a failed batch were replaced by a 503:
        their rows must say so when written later."""
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
        interval = self._config.flush_interval
        while True:
            with anyio.move_on_after(interval):
                await self._wake.wait()
            self._wake = anyio.Event()
            await self.flush()

    async def _checkpointer(self) -> None:
        while True:
            await anyio.sleep(self._config.checkpoint_interval)
            await self.checkpoint()

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the chain's head if it moved since the last checkpoint; the one stored."""
        signer = self._signer
        if signer is None:
            return None
        try:
            head = await self._store.chain_head()
            if head.seq <= self._signed:
                return None
            checkpoint = signer.sign(
                seq=head.seq, digest=head.digest, time=time.time(), kind="periodic"
            )
            await self._store.add_checkpoint(checkpoint)
        except Exception as exc:
            log.error("journal_checkpoint_failed", error=type(exc).__name__)
            return None
        self._signed = head.seq
        return checkpoint

    def seal(self, seq: int, digest: str) -> Checkpoint:
        """The checkpoint of a retention cut: signed when the service has its key."""
        if self._signer is None:
            return unsigned_cut(seq, digest)
        return self._signer.seal_cut(seq, digest)

    async def _purger(self) -> None:
        while True:
            await self.purge()
            await anyio.sleep(_PURGE_EVERY)

    async def purge(self) -> int:
        cutoff = time.time() - self._config.retention_days * 86400
        try:
            removed = await self._store.purge_calls(cutoff, self.seal)
        except Exception as exc:
            log.error("journal_purge_failed", error=type(exc).__name__)
            return 0
        if removed:
            log.info("journal_purged", rows=removed)
        return removed
