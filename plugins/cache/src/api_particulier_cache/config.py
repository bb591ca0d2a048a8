"""``[plugins.cache]``."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from api_particulier import Secret


class CacheConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # "memory": each process its own (the embedded default); "redis": the deployment's
    # Redis ([core.redis]), one cache for every host.
    backend: Literal["memory", "redis"] = "memory"
    # Seconds by provider name, over what each route declares; 0 switches a provider off.
    ttl: dict[str, Annotated[float, msgspec.Meta(ge=0)]] = msgspec.field(default_factory=dict)
    # Bounds of the memory backend, per process; the least recently used entry goes first.
    max_entries: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    max_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024 * 1024
    # The key encrypting cached values (a secret of at least 32 characters), and the keys
    # that encrypted earlier values, still read until they expire. Required with "redis";
    # with "memory", unset means a random key per process.
    key: Secret | None = None
    previous_keys: list[Secret] = msgspec.field(default_factory=list)
    # The secret keying the entries' names (HMAC of the route and parameters): the same on
    # every host, unchanged by key rotation. Required with "redis".
    lookup_secret: Secret | None = None
    redis_prefix: str = "api-particulier:cache:"
    # Seconds another host's fetch of the same entry is waited for, at most (bounded by
    # the route's deadline too).
    lock_timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
