"""The ``[plugins.documentation]`` table."""

from __future__ import annotations

import msgspec
from api_particulier import Secret


class DocumentationConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # A key a public sandbox deployment hands to anyone to try the API on fictional data,
    # shown on the page; None (the default): the page says how to get one.
    sandbox_key: Secret | None = None
