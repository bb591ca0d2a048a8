"""API Particulier: certified citizen data for administrations, through a plugin pipeline.

This module is the public contract of plugins: what it exports is what a plugin may import
(a test holds the bundled plugins to it). Everything else is the core's own business.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .bodies import read_body, read_form
from .commands import CommandContext, Stores
from .context import PluginContext
from .credentials import Credentials, IssuedSecret
from .errors import (
    ApiParticulierError,
    ConfigError,
    ProviderBadRequest,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    SubjectNotFound,
)
from .faults import Faults
from .identity import CitizenIdentity, is_among
from .local_secret import local_secret
from .markers import hookimpl
from .openapi import openapi_error, openapi_schema
from .pages import Pages
from .responses import denial_response, json_response
from .settings import Secret
from .siret import is_valid_siret
from .store import Application, JournalStore, KeyStore, StoreDatabase, StoreUnavailable
from .types import (
    Call,
    CallRecord,
    Denial,
    Holder,
    Principal,
    Provider,
    ProviderRoute,
    RouteExamples,
)
from .upstream import Upstream, UpstreamResponse
from .web import WebRoute

__all__ = [
    "ApiParticulierError",
    "Application",
    "Call",
    "CallRecord",
    "CitizenIdentity",
    "CommandContext",
    "ConfigError",
    "Credentials",
    "Denial",
    "Faults",
    "Holder",
    "IssuedSecret",
    "JournalStore",
    "KeyStore",
    "Pages",
    "PluginContext",
    "Principal",
    "Provider",
    "ProviderBadRequest",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderRateLimited",
    "ProviderRejected",
    "ProviderRoute",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RouteExamples",
    "Secret",
    "StoreDatabase",
    "StoreUnavailable",
    "Stores",
    "SubjectNotFound",
    "Upstream",
    "UpstreamResponse",
    "WebRoute",
    "denial_response",
    "hookimpl",
    "is_among",
    "is_valid_siret",
    "json_response",
    "local_secret",
    "openapi_error",
    "openapi_schema",
    "read_body",
    "read_form",
]
