"""The ``[plugins.status]`` table."""

from __future__ import annotations

from typing import Annotated

import msgspec


class StatusConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Seconds between two rounds of probes. One process of the deployment probes at a time
    # (it holds a lease in the store); the others take over within 1.5 intervals if it stops.
    interval: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 60.0
    # Seconds a provider's health check may take; past it, the probe counts as a failure.
    timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    # Days of probes and incidents kept (the page shows 90).
    retention_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 90
    # Names shown on the page instead of the providers' own labels, by provider name (the
    # providers not named keep theirs).
    labels: dict[str, str] = msgspec.field(default_factory=dict)
