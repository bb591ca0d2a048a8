"""Moving a deployment between stores (``api-particulier store copy SRC DST``): SQLite to
PostgreSQL when outgrowing one machine, and back.

Idempotent: applications and keys are matched by id (a key revoked in the source is
revoked in the target), journal rows by their whole content, one day at a time, so a copy
interrupted or run twice adds nothing twice. The stored key digests are copied as they are:
the keys keep working wherever the same pepper is configured.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from .base import JournalStore, KeyStore

DAY = 86400.0


@dataclass
class Tally:
    """What one kind of record gave: copied now, then held by each side."""

    copied: int = 0
    source: int = 0
    target: int = 0


@dataclass
class CopyReport:
    applications: Tally
    keys: Tally
    calls: Tally


async def copy_stores(
    source: tuple[KeyStore, JournalStore], target: tuple[KeyStore, JournalStore]
) -> CopyReport:
    """Copy what ``source`` holds that ``target`` lacks; the counts of both after."""
    (source_keys, source_journal), (target_keys, target_journal) = source, target
    report = CopyReport(Tally(), Tally(), Tally())

    for application in await source_keys.list_applications():
        present = await target_keys.application_by_id(application.id)
        if present is None:
            await target_keys.create_application(application)
            report.applications.copied += 1
        elif present != application:
            await target_keys.update_application(application)
            report.applications.copied += 1

    held = {key.id: key for key in await target_keys.list_keys()}
    for key in await source_keys.list_keys():
        mine = held.get(key.id)
        if mine is None:
            await target_keys.add_key(key)
            report.keys.copied += 1
        elif key.revoked_at is not None and mine.revoked_at is None:
            await target_keys.revoke_key(key.id, key.revoked_at)
            report.keys.copied += 1

    oldest = await source_journal.oldest_call_time()
    if oldest is not None:
        start, end = oldest, time.time() + DAY
        while start < end:
            window = start + DAY
            rows = await source_journal.calls_between(start, window)
            if rows:
                missing = Counter(rows) - Counter(await target_journal.calls_between(start, window))
                if missing:
                    await target_journal.write_calls(list(missing.elements()))
                    report.calls.copied += missing.total()
            start = window
        # Rows timed after the loop's end (a clock ahead) are not left behind.
        late = await source_journal.calls_between(end, float("inf"))
        if late:
            missing = Counter(late) - Counter(await target_journal.calls_between(end, float("inf")))
            await target_journal.write_calls(list(missing.elements()))
            report.calls.copied += missing.total()

    report.applications.source = len(await source_keys.list_applications())
    report.applications.target = len(await target_keys.list_applications())
    report.keys.source = len(await source_keys.list_keys())
    report.keys.target = len(await target_keys.list_keys())
    report.calls.source = await source_journal.count_calls()
    report.calls.target = await target_journal.count_calls()
    return report
