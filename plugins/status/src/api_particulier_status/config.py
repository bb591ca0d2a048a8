"""The ``[plugins.status]`` table."""

from __future__ import annotations

from typing import Annotated

import msgspec

DEFAULT_LABELS = {
    "dgfip": "Avis d'impôt sur le revenu (DGFiP)",
    "cnaf": "Quotient familial et composition familiale (CNAF)",
}


class StatusConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Seconds between two rounds of probes. One process of the deployment probes at a time
    # (it holds a lease in the store); the others take over within 1.5 intervals if it stops.
    interval: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 60.0
    # Seconds a provider's health check may take; past it, the probe counts as a failure.
    timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    # Days of probes and incidents kept (the page shows 90).
    retention_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 90
    # The name shown for each provider on the page, by provider name.
    labels: dict[str, str] = msgspec.field(default_factory=lambda: dict(DEFAULT_LABELS))
