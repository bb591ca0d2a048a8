"""The exception tree of API Particulier.

::

    ApiParticulierError
    ├── ConfigError                  boot only: the configuration cannot be used
    └── ProviderError                raised by a provider's fetch; each maps to one status
        ├── SubjectNotFound          404 not_found
        ├── ProviderRejected         an upstream refusal with its own documented status
        │   ├── ProviderRateLimited  509 rate_limited (DGFiP anti-bruteforce)
        │   └── ProviderBadRequest   400 bad_request (the upstream judged the parameters invalid)
        ├── ProviderBadResponse      502 invalid_response
        ├── ProviderUnavailable      503 data_provider_error (with Retry-After when known)
        └── ProviderTimeout          504 timeout_error

Policy refusals (401, 403, 429) are not exceptions: they are :class:`~api_particulier.types.Denial`
values returned by phase hooks. Any exception outside this tree raised by a plugin becomes a
500 with a fixed body; its text is logged, never shown.

The ``reason`` and ``message`` of a provider error are shown to the caller, so they must only
ever carry documented texts: never upstream bodies, URLs or a citizen's identifiers.
"""

from __future__ import annotations


class ApiParticulierError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(ApiParticulierError):
    """The configuration cannot be used; raised at boot with every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class ProviderError(ApiParticulierError):
    """A provider could not produce the data; subclasses fix the status and error code."""

    status: int = 503
    error: str = "data_provider_error"
    default_reason: str = "Data provider error"
    default_message: str = "Erreur du fournisseur de donnée"

    def __init__(
        self,
        reason: str | None = None,
        message: str | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        self.reason = reason if reason is not None else self.default_reason
        self.message = message if message is not None else self.default_message
        self.retry_after = retry_after
        super().__init__(self.reason)


class SubjectNotFound(ProviderError):
    status = 404
    error = "not_found"
    default_reason = "Subject not found at the data provider"
    default_message = "Aucune donnée ne correspond aux paramètres fournis"


class ProviderRejected(ProviderError):
    """The upstream refused the request for a documented reason of its own."""


class ProviderRateLimited(ProviderRejected):
    status = 509
    error = "rate_limited"
    default_reason = "The data provider rejected the request after too many failed lookups"
    default_message = (
        "Le fournisseur de donnée a rejeté la demande en raison d'un trop grand nombre "
        "d'échecs antérieurs."
    )


class ProviderBadRequest(ProviderRejected):
    status = 400
    error = "bad_request"
    default_reason = "The data provider judged the parameters invalid"
    default_message = "Les paramètres fournis sont invalides"


class ProviderBadResponse(ProviderError):
    status = 502
    error = "invalid_response"
    default_reason = "The data provider's answer could not be used"
    default_message = "La réponse du fournisseur de donnée est inexploitable"


class ProviderUnavailable(ProviderError):
    status = 503
    error = "data_provider_error"
    default_reason = "The data provider is unavailable"
    default_message = "Le fournisseur de donnée est indisponible"


class ProviderTimeout(ProviderError):
    status = 504
    error = "timeout_error"
    default_reason = "The data provider did not answer in time"
    default_message = "Temps d'attente d'une réponse du fournisseur de données écoulé."
