"""The ``[plugins.stats]`` table."""

from __future__ import annotations

from typing import Annotated

import msgspec

# The names the page gives the bundled providers; others show under their own name.
DEFAULT_LABELS = {
    "dgfip": "Avis d'impôt sur le revenu (DGFiP)",
    "cnaf": "Quotient familial et composition familiale (CNAF)",
}


class StatsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Seconds a computed answer is kept before the journal is asked again: the figures are
    # public, and a burst of visits must not become a burst of queries.
    cache_ttl: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 60.0
    # The longest period ``/api/stats/daily?days=`` may ask for (the journal's retention
    # bounds what it can answer anyway).
    max_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 366
    # The name shown for each provider on the page, by provider name.
    labels: dict[str, str] = msgspec.field(default_factory=lambda: dict(DEFAULT_LABELS))
