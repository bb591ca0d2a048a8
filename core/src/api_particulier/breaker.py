"""A circuit breaker: stop calling an upstream that keeps failing, then try it again.

Closed, every call goes through; after ``failures`` failures in a row the circuit opens.
Open, calls are refused at once (the caller answers 503 with ``Retry-After``) for
``cooldown`` seconds. Then it is half-open: exactly one call goes through as a probe while
the others are still refused; the probe's success closes the circuit, its failure opens it
again for another ``cooldown``.

What counts as a failure is the caller's decision (:class:`~api_particulier.upstream.Upstream`
counts timeouts, connection and transport failures and 5xx answers). Each change of state is
logged once, with the upstream's name.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

import structlog

_log = structlog.get_logger("api_particulier.upstream")

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failures: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1:
            raise ValueError("failures must be at least 1")
        if cooldown <= 0:
            raise ValueError("cooldown must be positive")
        self.name = name
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self._state: State = "closed"
        self._failures = 0
        self._opened_until = 0.0
        self._probing = False

    @property
    def state(self) -> State:
        if self._state == "open" and self._clock() >= self._opened_until:
            return "half_open"
        return self._state

    def retry_after(self) -> int:
        """Whole seconds before a call may go through again (at least 1)."""
        return max(1, math.ceil(self._opened_until - self._clock()))

    def admit(self) -> bool:
        """Whether a call may go through now. A half-open circuit admits one probe; the
        caller must then report its outcome with :meth:`succeeded` or :meth:`failed`."""
        if self._state == "closed":
            return True
        if self._probing or self._clock() < self._opened_until:
            return False
        if self._state == "open":
            self._state = "half_open"
            _log.info("circuit_half_open", upstream=self.name)
        self._probing = True
        return True

    def succeeded(self) -> None:
        self._failures = 0
        self._probing = False
        if self._state != "closed":
            self._state = "closed"
            _log.info("circuit_closed", upstream=self.name)

    def failed(self) -> None:
        self._failures += 1
        was_probe, self._probing = self._probing, False
        if was_probe or (self._state == "closed" and self._failures >= self.threshold):
            self._state = "open"
            self._opened_until = self._clock() + self.cooldown
            _log.warning(
                "circuit_opened",
                upstream=self.name,
                failures=self._failures,
                cooldown=self.cooldown,
            )

    def released(self) -> None:
        """A call admitted as the probe ended without telling anything about the upstream
        (cancelled, refused by a local limit): the next call may probe instead."""
        self._probing = False

    def describe(self) -> dict[str, object]:
        state = self.state
        return {
            "state": state,
            "consecutive_failures": self._failures,
            "retry_after": self.retry_after() if state == "open" else None,
        }
