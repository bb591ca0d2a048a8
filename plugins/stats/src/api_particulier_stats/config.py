"""The ``[plugins.stats]`` table."""

from __future__ import annotations

from typing import Annotated

import msgspec


class StatsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Seconds a computed answer is kept before the journal is asked again: the figures are
    # public, and a burst of visits must not become a burst of queries.
    cache_ttl: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 60.0
    # The longest period ``/api/stats/daily?days=`` may ask for (the journal's retention
    # bounds what it can answer anyway).
    max_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 366
    # Names shown on the page instead of the providers' own labels, by provider name (the
    # providers not named keep theirs).
    labels: dict[str, str] = msgspec.field(default_factory=dict)
