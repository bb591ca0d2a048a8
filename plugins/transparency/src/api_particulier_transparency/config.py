"""The ``[plugins.transparency]`` table."""

from __future__ import annotations

from typing import Annotated

import msgspec
from api_particulier import Secret
from api_particulier_consent.config import FranceConnectConfig


class TransparencyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # The key of the citizens' pseudonyms in the journal (HMAC-SHA-256), at least 32
    # characters. Unset in embedded mode: one is generated in the data directory.
    secret: Secret | None = None
    # Where citizens' FranceConnect tokens are checked. Unset in embedded mode: a sandbox
    # FranceConnect runs in the process and the page issues its tokens.
    franceconnect: FranceConnectConfig | None = None
    # The FranceConnect client citizens sign in to for their report: a token issued to
    # another client (another service's) is refused. The sandbox's in embedded mode.
    client_id: str | None = None
    # Attempts per client address within the window; beyond, 429 until it passes.
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    attempts_window: Annotated[float, msgspec.Meta(ge=1, le=86400)] = 900.0
    # Calls shown at most, newest first.
    max_calls: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 500
