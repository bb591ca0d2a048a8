"""The provider errors of the DGFiP routes, with the contract's texts (§3.4, §5)."""

from __future__ import annotations

from api_particulier import (
    ProviderBadResponse,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    SubjectNotFound,
)

NOT_FOUND_TEXT = "Les paramètres fournis sont incorrects ou ne correspondent pas à un avis"
RATE_LIMITED_TEXT = (
    "Le fournisseur de donnée a rejeté la demande en raison d'un trop grand nombre "
    "d'échecs antérieurs."
)
INVALID_FORMAT_REASON = "Data provider returned an invalid data format."


def not_found() -> SubjectNotFound:
    return SubjectNotFound(NOT_FOUND_TEXT, NOT_FOUND_TEXT)


def rate_limited() -> ProviderRateLimited:
    return ProviderRateLimited(RATE_LIMITED_TEXT, RATE_LIMITED_TEXT)


def bad_response() -> ProviderBadResponse:
    return ProviderBadResponse(INVALID_FORMAT_REASON)


def unavailable(retry_after: int | None = None) -> ProviderUnavailable:
    return ProviderUnavailable(retry_after=retry_after)


def timeout() -> ProviderTimeout:
    return ProviderTimeout()
