"""The ``[plugins.consent]`` table."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from api_particulier import Secret

EvidenceKind = Literal["identifiers", "receipt", "franceconnect"]

# A receipt is meant to be used right after the citizen agreed: one hour is the outer bound
# any deployment may choose, 15 minutes the default.
Lifetime = Annotated[int, msgspec.Meta(ge=1, le=3600)]
# Clocks of the administration's server and ours drift; more than five minutes of tolerance
# would make the lifetime bound meaningless.
Skew = Annotated[int, msgspec.Meta(ge=0, le=300)]


class FranceConnectConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where and how citizens' FranceConnect access tokens are checked."""

    introspection_url: str
    client_id: str = ""
    client_secret: Secret | None = None
    # "rfc7662": POST token=… with HTTP Basic client credentials, answer {"active", "scope", …}.
    # "checktoken": FranceConnect's historic POST {"token": …}, answer {"scope": [...], …}.
    shape: Literal["rfc7662", "checktoken"] = "rfc7662"
    # FranceConnect scope → the API scopes it stands for.
    scopes: dict[str, list[str]] = msgspec.field(default_factory=dict)
    # Also take a FranceConnect scope spelled like an API scope as that scope.
    pass_through_api_scopes: bool = True
    # Upper bound on how long an introspection answer is reused (never past the token's exp).
    cache_ttl: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 60.0
    cache_size: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    connect_timeout: Annotated[float, msgspec.Meta(gt=0)] = 2.0
    read_timeout: Annotated[float, msgspec.Meta(gt=0)] = 3.0


class ReplayConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where used receipt ids are remembered until they expire.

    "store" (the deployment's store: its SQLite file, or its PostgreSQL database) is shared
    by every worker and, on PostgreSQL, every host; "redis" (the deployment's,
    [core.redis]) by several hosts; "sqlite" (a file of its own in the data directory) by
    every worker of one host; "memory" by nobody else (one process, tests).
    """

    backend: Literal["memory", "sqlite", "redis", "store"] = "store"
    # For "sqlite": defaults to <data_dir>/consent-replay.sqlite3.
    path: str | None = None
    redis_prefix: str = "api-particulier:consent:jti:"


class ConsentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    audience: str = "api-particulier"
    max_lifetime: Lifetime = 900
    clock_skew: Skew = 60
    # The policy of applications that have none: the historic behaviour.
    default_policy: list[EvidenceKind] = msgspec.field(default_factory=lambda: ["identifiers"])
    franceconnect: FranceConnectConfig | None = None
    replay: ReplayConfig = msgspec.field(default_factory=ReplayConfig)

    def __post_init__(self) -> None:
        if not self.default_policy:
            raise ValueError("default_policy must accept at least one kind of evidence")
