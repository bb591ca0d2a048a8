"""The sliding log: the one algorithm that bounds admissions in *every* window.

A key's log holds the times of its admitted calls, oldest first. A call at ``now`` is
admitted when fewer than ``quota`` admissions lie in ``(now - window, now]``; an entry
leaves the log at exactly ``entry + window``. Hence no interval of length ``window``, wherever
it starts, ever holds more than ``quota`` admissions (fixed windows, token buckets and
sliding counters all allow close to twice that across a boundary).

The Redis script (:mod:`.script`) applies the same rules to a sorted set, with the Redis
server's clock.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

DEFAULT_POLICY = "default"


class Decision(NamedTuple):
    """The outcome of one look at a key's log (a tuple: cheapest to build per request)."""

    admitted: bool
    # The bound in force for this answer (the application's quota, or this process's share
    # of it when counting alone).
    limit: int
    remaining: int
    # Seconds until one more call becomes admissible: the oldest entry that must leave the
    # log for that. 0 when the log is empty (the whole quota is available).
    reset: float
    policy: str = DEFAULT_POLICY
    # The shared store could not be reached and ``fail = "closed"``: not the caller's fault.
    unavailable: bool = False


def decide(
    log: deque[float],
    now: float,
    quota: int,
    window: float,
    consume: bool,
    policy: str = DEFAULT_POLICY,
) -> Decision:
    """Drop expired entries of ``log``, admit ``now`` if ``consume`` and room is left.

    ``now`` must not go backwards between calls on one log (a monotonic clock): the log
    stays sorted by appending.
    """
    horizon = now - window
    while log and log[0] <= horizon:
        log.popleft()
    count = len(log)
    admitted = consume and count < quota
    if admitted:
        log.append(now)
        count += 1
    if quota <= 0:
        # Nothing can ever be admitted by this log; the best hint is one window.
        reset = float(window)
    elif count == 0:
        reset = 0.0
    else:
        # With count >= quota, the entry at count - quota is the one whose departure leaves
        # room for one more call; below the quota, the oldest entry frees the next unit.
        reset = log[max(count - quota, 0)] + window - now
    return Decision(admitted, quota, max(quota - count, 0), reset, policy)
