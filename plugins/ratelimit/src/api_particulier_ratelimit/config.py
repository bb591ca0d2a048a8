"""The ``[plugins.ratelimit]`` table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

REDIS_URL_ENV = "API_PARTICULIER_REDIS_URL"


class RateLimitConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # "memory": one process counts alone (the embedded default). "redis": every worker and
    # host sharing the Redis server counts together.
    backend: Literal["memory", "redis"] = "memory"
    # Calls admitted per key in any window; an application may carry its own
    # (``ratelimit.quota`` in the application's settings).
    quota: Annotated[int, Meta(ge=1, le=1_000_000)] = 20
    # Window length in whole seconds (the draft RateLimit headers only speak whole seconds).
    window: Annotated[int, Meta(ge=1, le=3600)] = 1
    # redis://[user:password@]host[:port][/db], rediss://… (TLS) or unix:///path[?db=N].
    # API_PARTICULIER_REDIS_URL, when set, wins over this value (a URL may carry a password).
    redis_url: str | None = None
    # Prefix of the Redis keys; the rest of the name is the key id, never the key or its hash.
    key_prefix: str = "api-particulier:ratelimit:"
    # Bound on every Redis call, in seconds; past it the call counts as a Redis failure.
    redis_timeout: Annotated[float, Meta(gt=0, le=5)] = 0.05
    # Bound on opening a connection while probing a Redis that was down, in seconds.
    connect_timeout: Annotated[float, Meta(gt=0, le=30)] = 1.0
    # How often a degraded process asks Redis whether it is back, in seconds.
    probe_interval: Annotated[float, Meta(gt=0, le=60)] = 0.5
    # Processes (workers × hosts) that share the quota. The memory backend and the degraded
    # mode of the redis backend admit quota // replicas per process, so that all of them
    # together stay within the quota.
    replicas: Annotated[int, Meta(ge=1, le=10_000)] = 1
    # What to do while Redis cannot be reached: "degrade" (count locally at
    # quota // replicas), "open" (admit everything) or "closed" (answer 503).
    fail: Literal["degrade", "open", "closed"] = "degrade"

    def resolved_redis_url(self, environ: Mapping[str, str] | None = None) -> str | None:
        environ = os.environ if environ is None else environ
        return environ.get(REDIS_URL_ENV) or self.redis_url

    def share(self, quota: int) -> int:
        """What one process may admit of ``quota`` when it counts alone."""
        return quota // self.replicas
