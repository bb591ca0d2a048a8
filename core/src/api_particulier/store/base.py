"""The store interfaces. SQLite implements them for the embedded mode; any backend that
serves several processes (PostgreSQL) implements the same methods.

Every method is async so that network-backed stores fit without changing callers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ..chain import ChainedRow, ChainHead, Checkpoint, unsigned_cut
from ..types import CallRecord
from .models import ApiKey, Application, DailyCount, KeyMatch


class StoreUnavailable(Exception):
    """The store cannot be reached now (a database down, a pool exhausted): a temporary
    fault, answered 503, never 500. Its message names no secret."""


class KeyStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...

    async def create_application(self, application: Application) -> None: ...
    async def application_by_name(self, name: str) -> Application | None: ...
    async def application_by_id(self, application_id: str) -> Application | None: ...
    async def list_applications(self) -> list[Application]: ...
    async def update_application(self, application: Application) -> None:
        """Replace the stored application of the same id (its name may not change)."""

    async def add_key(self, key: ApiKey) -> None: ...
    async def find_active_key(self, digest: str, now: float) -> KeyMatch | None:
        """The key of this digest if it and its application are usable at ``now``.

        A revoked or expired key, or one of an expired application, is filtered out by the
        lookup itself, so that refusing it does the same work as refusing an unknown key
        (nobody can tell by timing that a key once existed)."""

    async def find_active_legacy_key(self, sha512_hex: str, now: float) -> KeyMatch | None:
        """The same, for a historic key known by its SHA-512 and not used yet."""

    async def upgrade_legacy_key(self, key_id: str, digest: str) -> None: ...
    async def has_imported_keys(self) -> bool: ...
    async def revoke_key(self, key_id: str, when: float) -> bool: ...
    async def list_keys(self) -> list[ApiKey]: ...
    async def watch_changes(self, forget: Callable[[str], None]) -> None:
        """Call ``forget(id)`` with the id of each key revoked and of each application
        changed, by any process or host, as it happens, until cancelled. Returns at once
        when the store cannot tell: the others then learn within ``cache_ttl``."""


class JournalStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...

    async def write_calls(self, records: Sequence[CallRecord]) -> None:
        """Write ``records`` durably in one transaction (all or none)."""

    async def count_successful_data_calls(self, since: float) -> int: ...
    async def daily_successful_data_calls(self, since: float) -> list[DailyCount]:
        """Successful data calls per UTC day and provider, from ``since`` (the first day
        counts from ``since`` on), by day then provider."""

    async def purge_calls(
        self, before: float, seal: Callable[[int, str], Checkpoint] = unsigned_cut
    ) -> int:
        """Remove the rows timed before ``before`` that the chain can lose: those before
        the first position kept (``seal(position, digest)`` makes the checkpoint of the
        cut, stored in the same transaction), and rows outside the chain. A row timed
        before ``before`` but placed after a row kept waits for the next purge."""

    async def recent_calls(self, limit: int) -> list[CallRecord]: ...
    async def oldest_call_time(self) -> float | None: ...
    async def calls_between(self, start: float, end: float) -> list[CallRecord]:
        """The rows with ``start <= time < end``, oldest first."""

    async def count_calls(self) -> int: ...

    async def calls_about(
        self, subjects: Sequence[str], since: float, limit: int
    ) -> list[CallRecord]:
        """The rows of these citizen pseudonyms from ``since``, newest first."""

    # The chain (api_particulier.chain): ``write_calls`` extends it in its transaction.
    async def chain_head(self) -> ChainHead: ...
    async def chained_rows(self, after: tuple[int, int], limit: int) -> list[ChainedRow]:
        """The rows after ``(position, row_id)``, by position then row id."""

    async def rows_outside_chain(self, since: float, limit: int) -> list[ChainedRow]:
        """Rows without a position timed from ``since``."""

    async def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Store ``checkpoint`` (one of the same position is kept as it is)."""

    async def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint kept, by position."""
