"""One round of probes: every provider's health check, under the lease."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
import structlog

from .history import History

DAY = 86400.0
FIRST_ROUND_AFTER = 2.0  # seconds


@dataclass(frozen=True)
class Probe:
    """A provider's health check (``Provider.health``)."""

    provider: str
    check: Callable[[], Awaitable[bool]]


class Prober:
    def __init__(
        self,
        history: History,
        probes: Sequence[Probe],
        *,
        interval: float,
        timeout: float,
        retention_days: int,
        clock: Callable[[], float],
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self.history = history
        self.probes = tuple(probes)
        self.interval = interval
        self.timeout = timeout
        self.retention = retention_days * DAY
        self.clock = clock
        self.log = log
        # Who holds the lease: this process, on this host, in this start of the service.
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def round(self) -> bool:
        """Probe every provider if this process holds the lease; whether it did."""
        now = self.clock()
        if not await self.history.take_lease(self.holder, now, now + self.interval * 1.5):
            return False
        for probe in self.probes:
            healthy = await self._check(probe)
            await self.history.record(probe.provider, now, healthy)
        await self.history.purge(now - self.retention)
        return True

    async def _check(self, probe: Probe) -> bool:
        try:
            with anyio.fail_after(self.timeout):
                return bool(await probe.check())
        except Exception as exc:
            # A failed check is what the probe is for: the provider is down. Its type only.
            self.log.warning(
                "status_probe_failed", provider=probe.provider, error=type(exc).__name__
            )
            return False

    async def run_forever(self) -> None:
        # A moment first: a process that only starts to stop again (`config check`, the
        # trial start of `serve --workers`) never calls the upstreams.
        await anyio.sleep(min(self.interval, FIRST_ROUND_AFTER))
        while True:
            try:
                await self.round()
            except Exception as exc:
                # The store may be unreachable for a while: try again next round.
                self.log.warning("status_round_failed", error=type(exc).__name__)
            await anyio.sleep(self.interval)

    async def stop(self) -> None:
        await self.history.release_lease(self.holder)
