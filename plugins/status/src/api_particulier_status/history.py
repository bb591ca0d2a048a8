"""The probes, the incidents and the prober's lease, in the deployment's store.

Every statement is written once for SQLite and PostgreSQL (``context.database``). An
incident is a period of failure: it opens at the first failed probe after a healthy one
(or none) and closes at the next healthy probe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from api_particulier import StoreDatabase

LEASE = "probe"

_TAKE_LEASE = """
INSERT INTO status_lease (name, holder, until) VALUES (:name, :holder, :until)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
WHERE status_lease.until <= :now OR status_lease.holder = :holder
"""


def utc_day(time: float) -> str:
    return dt.datetime.fromtimestamp(time, dt.UTC).date().isoformat()


class History:
    def __init__(self, database: StoreDatabase) -> None:
        self.database = database

    async def take_lease(self, holder: str, now: float, until: float) -> bool:
        """Whether ``holder`` holds the lease until ``until`` (taken, or renewed): it is
        taken only when free or expired, so one process probes at a time."""
        changed = await self.database.execute(
            _TAKE_LEASE, {"name": LEASE, "holder": holder, "until": until, "now": now}
        )
        return changed == 1

    async def release_lease(self, holder: str) -> None:
        await self.database.execute(
            "DELETE FROM status_lease WHERE name = :name AND holder = :holder",
            {"name": LEASE, "holder": holder},
        )

    async def record(self, provider: str, time: float, healthy: bool) -> None:
        """One probe's outcome, and the incident it opens or closes."""
        await self.database.execute(
            "INSERT INTO status_probes (provider, time, day, healthy) "
            "VALUES (:provider, :time, :day, :healthy) ON CONFLICT (provider, time) DO NOTHING",
            {"provider": provider, "time": time, "day": utc_day(time), "healthy": int(healthy)},
        )
        params = {"provider": provider, "time": time}
        if healthy:
            await self.database.execute(
                "UPDATE status_incidents SET ended = :time "
                "WHERE provider = :provider AND ended IS NULL",
                params,
            )
            return
        await self.database.execute(
            "INSERT INTO status_incidents (provider, started, ended) "
            "SELECT :provider, :time, NULL WHERE NOT EXISTS ("
            "SELECT 1 FROM status_incidents WHERE provider = :provider AND ended IS NULL)",
            params,
        )

    async def purge(self, before: float) -> None:
        await self.database.execute(
            "DELETE FROM status_probes WHERE time < :before", {"before": before}
        )
        await self.database.execute(
            "DELETE FROM status_incidents WHERE ended IS NOT NULL AND ended < :before",
            {"before": before},
        )

    async def latest(self) -> dict[str, tuple[float, bool]]:
        """Each provider's last probe: (time, healthy)."""
        rows = await self.database.fetch_all(
            "SELECT p.provider, p.time, p.healthy FROM status_probes p JOIN ("
            "SELECT provider, MAX(time) AS last FROM status_probes GROUP BY provider"
            ") l ON p.provider = l.provider AND p.time = l.last"
        )
        return {str(provider): (float(time), bool(healthy)) for provider, time, healthy in rows}

    async def counts_since(self, since: float) -> dict[str, tuple[int, int]]:
        """Per provider: (probes, healthy probes) from ``since``."""
        rows = await self.database.fetch_all(
            "SELECT provider, COUNT(*), SUM(healthy) FROM status_probes "
            "WHERE time >= :since GROUP BY provider",
            {"since": since},
        )
        return {str(p): (int(total), int(ok or 0)) for p, total, ok in rows}

    async def daily(self, since: float) -> dict[tuple[str, str], tuple[int, int]]:
        """Per (provider, UTC day): (probes, healthy probes) from ``since``."""
        rows = await self.database.fetch_all(
            "SELECT provider, day, COUNT(*), SUM(healthy) FROM status_probes "
            "WHERE time >= :since GROUP BY provider, day",
            {"since": since},
        )
        return {(str(p), str(day)): (int(total), int(ok or 0)) for p, day, total, ok in rows}

    async def incidents(self, since: float) -> Sequence[tuple[str, float, float | None]]:
        """(provider, started, ended or None) of the incidents still open or ended after
        ``since``, most recent first."""
        rows = await self.database.fetch_all(
            "SELECT provider, started, ended FROM status_incidents "
            "WHERE ended IS NULL OR ended >= :since ORDER BY started DESC",
            {"since": since},
        )
        return [
            (str(p), float(started), None if ended is None else float(ended))
            for p, started, ended in rows
        ]
