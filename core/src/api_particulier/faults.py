"""Faults of the deployment's shared dependencies (the store, Redis), counted per process.

Whoever catches such a fault and carries on — the key check answering 503, the journal
keeping a batch for its next flush, a rate limit falling back to memory — reports it here
with ``faults.report("store")`` or ``faults.report("redis")``, so that an operator can
see faults that no answer shows. Observers (the ``metrics`` plugin) read the totals with
:meth:`Faults.totals`; reporting costs one dictionary update.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

Dependency = Literal["store", "redis"]


class Faults:
    """How many faults of each dependency this process has seen since it started."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def report(self, dependency: Dependency) -> None:
        """Count one fault of ``dependency`` (a call that failed, not a retry)."""
        self._counts[dependency] += 1

    def totals(self) -> dict[str, int]:
        """The count of each dependency that has had a fault."""
        return dict(self._counts)
