"""The specification of the limiter, written the naive way, to check the real ones against."""

from __future__ import annotations

from collections.abc import Iterable


def busiest_window(times: Iterable[float], window: float) -> int:
    """The most admissions found in any half-open interval ``(s - window, s]``.

    The busiest interval can always be taken to end on an admission, so scanning those is
    enough.
    """
    ordered = sorted(times)
    best = start = 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


class ReferenceLog:
    """Every admission ever made, per key; decisions recomputed from scratch."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.admitted: dict[str, list[float]] = {}

    def recent(self, key: str, now: float) -> list[float]:
        return sorted(at for at in self.admitted.get(key, []) if at > now - self.window)

    def decide(self, key: str, now: float, quota: int, consume: bool) -> tuple[bool, int, float]:
        """(admitted, remaining, seconds until one more call is admissible)."""
        recent = self.recent(key, now)
        admitted = consume and len(recent) < quota
        if admitted:
            self.admitted.setdefault(key, []).append(now)
            recent.append(now)
        count = len(recent)
        if quota <= 0:
            reset = self.window
        elif count == 0:
            reset = 0.0
        else:
            reset = recent[max(count - quota, 0)] + self.window - now
        return admitted, max(quota - count, 0), reset

    def busiest(self, key: str) -> int:
        return busiest_window(self.admitted.get(key, []), self.window)
