"""Sliding logs kept in this process: the memory backend, and the redis backend's fallback."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from .window import DEFAULT_POLICY, Decision, decide

Clock = Callable[[], float]

# Idle keys are forgotten on a sweep at most this often (seconds), so memory follows the
# keys active recently, not every key ever seen.
SWEEP_INTERVAL = 10.0


class MemoryLimiter:
    """One sliding log per key id, on a monotonic clock of this process."""

    def __init__(
        self, window: float, clock: Clock = time.monotonic, policy: str = DEFAULT_POLICY
    ) -> None:
        self.window = window
        self.clock = clock
        self.policy = policy
        self.logs: dict[str, deque[float]] = {}
        self._next_sweep = clock() + max(SWEEP_INTERVAL, window)

    def hit(self, key_id: str, quota: int) -> Decision:
        now = self.clock()
        if now >= self._next_sweep:
            self.sweep(now)
        log = self.logs.get(key_id)
        if log is None:
            log = self.logs[key_id] = deque()
        return decide(log, now, quota, self.window, True, self.policy)

    def peek(self, key_id: str, quota: int) -> Decision:
        """The state of ``key_id`` without counting a call."""
        log = self.logs.get(key_id)
        if log is None:
            log = deque()
        return decide(log, self.clock(), quota, self.window, False, self.policy)

    def sweep(self, now: float) -> None:
        """Forget the keys whose every entry has left the window."""
        horizon = now - self.window
        idle = [key for key, log in self.logs.items() if not log or log[-1] <= horizon]
        for key in idle:
            del self.logs[key]
        self._next_sweep = now + max(SWEEP_INTERVAL, self.window)

    def recent(self, now: float) -> dict[str, list[float]]:
        """For each key, the times of its admissions still inside the window."""
        horizon = now - self.window
        return {
            key: [at for at in log if at > horizon]
            for key, log in self.logs.items()
            if log and log[-1] > horizon
        }
