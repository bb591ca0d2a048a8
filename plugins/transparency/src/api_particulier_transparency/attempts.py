"""Attempts per client address: a citizen asks a few times; whoever tries tokens or
identifiers in a loop is stopped before anything is asked of FranceConnect or a provider.
One process counts alone (each worker its own window)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

# Addresses remembered at most: the oldest is forgotten first.
_MAX_ADDRESSES = 100_000


class Attempts:
    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def admit(self, address: str) -> float | None:
        """Count an attempt; None when admitted, else the seconds until the next one is."""
        now = self._clock()
        times = self._seen.pop(address, None) or deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        self._seen[address] = times
        if len(self._seen) > _MAX_ADDRESSES:
            self._seen.popitem(last=False)
        if len(times) >= self._limit:
            return max(1.0, times[0] + self._window - now)
        times.append(now)
        return None
