"""API Particulier: certified citizen data for administrations, through a plugin pipeline.

Plugin authors import :data:`hookimpl` and the public types from here.
"""

from __future__ import annotations

import pluggy

from .errors import (
    ApiParticulierError,
    ConfigError,
    ProviderBadRequest,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    SubjectNotFound,
)
from .types import Call, CallRecord, Denial, Principal, Provider, ProviderRoute

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("api_particulier")

__all__ = [
    "ApiParticulierError",
    "Call",
    "CallRecord",
    "ConfigError",
    "Denial",
    "Principal",
    "Provider",
    "ProviderBadRequest",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderRoute",
    "ProviderTimeout",
    "ProviderUnavailable",
    "SubjectNotFound",
    "hookimpl",
]
