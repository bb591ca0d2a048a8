"""The ``[plugins.ratelimit]`` table."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta


class RateLimitConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # "memory": one process counts alone (the embedded default). "redis": every worker and
    # host sharing the deployment's Redis ([core.redis]) counts together.
    backend: Literal["memory", "redis"] = "memory"
    # Calls admitted per key in any window; an application may carry its own
    # (``ratelimit.quota`` in the application's settings).
    quota: Annotated[int, Meta(ge=1, le=1_000_000)] = 20
    # Window length in whole seconds (the draft RateLimit headers only speak whole seconds).
    window: Annotated[int, Meta(ge=1, le=3600)] = 1
    # Prefix of the Redis keys; the rest of the name is the key id, never the key or its hash.
    key_prefix: str = "api-particulier:ratelimit:"
    # Bound on every Redis call, in seconds; past it the call counts as a Redis failure.
    redis_timeout: Annotated[float, Meta(gt=0, le=5)] = 0.25
    # How often a degraded process asks Redis whether it is back, in seconds.
    probe_interval: Annotated[float, Meta(gt=0, le=60)] = 0.5
    # Processes (workers × hosts) that share the quota. The memory backend and the degraded
    # mode of the redis backend admit quota // replicas per process, so that all of them
    # together stay within the quota.
    replicas: Annotated[int, Meta(ge=1, le=10_000)] = 1
    # What to do while Redis cannot be reached: "degrade" (count locally at
    # quota // replicas), "open" (admit everything) or "closed" (answer 503).
    fail: Literal["degrade", "open", "closed"] = "degrade"

    def share(self, quota: int) -> int:
        """What one process may admit of ``quota`` when it counts alone."""
        return quota // self.replicas
