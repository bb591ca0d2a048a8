"""The ``[plugins.metrics]`` table."""

from __future__ import annotations

from typing import Annotated

import msgspec
from api_particulier import Secret


class MetricsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # When set, ``/metrics`` answers only ``Authorization: Bearer <token>`` (Prometheus's
    # ``authorization`` / ``bearer_token_file``); 401 otherwise.
    token: Secret | None = None
    # When not empty, ``/metrics`` answers only clients whose address is in one of these
    # networks (``"127.0.0.1/32"``, ``"10.0.0.0/8"``); 403 otherwise. Behind a proxy the
    # address seen is the proxy's.
    allow_from: tuple[str, ...] = ()
    # Where the worker processes of this host write their figures for the one that is
    # scraped to add up. Default: $PROMETHEUS_MULTIPROC_DIR, else <data_dir>/metrics.
    directory: str | None = None
    # Seconds between two writes of a worker's figures to that directory: a scrape sees
    # the other workers' figures as they were at most this long ago (its own are current).
    flush_interval: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
