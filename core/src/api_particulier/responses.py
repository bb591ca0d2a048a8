"""Rendering answers: JSON bodies encoded once with msgspec, and the fixed error bodies."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, MutableMapping
from typing import Any

import msgspec
from starlette.requests import HTTPConnection
from starlette.responses import Response

from .types import Denial, ErrorBody

JSON_MEDIA_TYPE = "application/json; charset=utf-8"
_encoder = msgspec.json.Encoder()
# Echo a caller's request id only when it cannot smuggle anything into our logs or headers,
# nor be a key: 8 to 64 letters, digits and ``. : -``, at least one of those three. Keys of
# this service hold ``_``; keys of the historic service are runs of letters and digits
# (hex, base64url), so a key pasted into the header by mistake is never echoed nor written
# into the journal.
_WELL_FORMED_REQUEST_ID = re.compile(r"(?=[^.:\-]*[.:\-])[A-Za-z0-9.:\-]{8,64}", re.ASCII)
_SCOPE_KEY = "api_particulier.request_id"


def request_id(conn: HTTPConnection) -> str:
    """The request id of this request: the caller's if well formed, else a fresh UUID4."""
    scope = conn.scope
    existing = scope.get(_SCOPE_KEY)
    if existing is not None:
        return str(existing)
    return choose_request_id(scope, conn.headers.get("x-request-id"))


def choose_request_id(scope: MutableMapping[str, Any], incoming: str | None) -> str:
    """Keep ``incoming`` (the caller's ``X-Request-Id``) if well formed, else make one; the
    choice is remembered in the ASGI scope, so that every answer to the request agrees."""
    if incoming is not None and _WELL_FORMED_REQUEST_ID.fullmatch(incoming):
        chosen = incoming
    else:
        chosen = new_request_id()
    scope[_SCOPE_KEY] = chosen
    return chosen


def new_request_id() -> str:
    """A fresh UUID4, in its canonical form."""
    return str(uuid.uuid4())


class Answer:
    """A JSON answer of the pipeline, sent as two ASGI messages."""

    __slots__ = ("body", "error", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        error: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        # The error code of a non-2xx answer, for the journal.
        self.error = error
        # Headers of the answer itself (a denial's retry-after) win over plugins': they
        # are here before the plugins' are added.
        self.headers: list[tuple[bytes, bytes]] = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", JSON_MEDIA_TYPE.encode()),
            *(
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in (headers or {}).items()
            ),
        ]


def error_answer(body: ErrorBody, status: int, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, _encoder.encode(body), body.error, headers)


def denial_answer(denial: Denial) -> Answer:
    body = ErrorBody(error=denial.error, reason=denial.reason, message=denial.message)
    return Answer(denial.status, _encoder.encode(body), denial.error, denial.headers)


class JSONBytesResponse(Response):
    media_type = JSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else _encoder.encode(content)


def json_response(
    content: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer, for a plugin's own route as for the core's: ``content`` encoded by
    msgspec (bytes are sent as they are), ``application/json; charset=utf-8``."""
    return JSONBytesResponse(content, status_code=status, headers=headers)


INTERNAL_ERROR = ErrorBody(
    error="internal_error",
    reason="Internal server error",
    message="Une erreur interne s'est produite, l'équipe a été prévenue.",
)
ACCESS_DENIED = Denial(
    status=401,
    error="access_denied",
    reason="Token not found or inactive",
    message="Votre jeton d'API n'a pas été trouvé ou n'est pas actif",
)
TOO_MANY_CREDENTIALS = Denial(
    status=401,
    error="too_many_credentials_provided",
    reason="Too many credentials provided, both API key and access token were found",
    message="Votre requête porte trop de moyens d'authentification, veuillez choisir entre "
    "clé d'API ou jeton FranceConnect",
)
INSUFFICIENT_SCOPES = Denial(
    status=403,
    error="access_denied",
    reason="Votre jeton est valide mais vos privilèges sont insuffisants. "
    "Listez vos privilèges sur /api/introspect",
    message="Votre jeton est valide mais vos privilèges sont insuffisants. "
    "Listez vos privilèges sur /api/introspect",
)
NOT_FOUND = ErrorBody(
    error="not_found",
    reason="No route matches this path",
    message="La ressource demandée n'existe pas",
)
METHOD_NOT_ALLOWED = ErrorBody(
    error="method_not_allowed",
    reason="This route does not accept this HTTP method",
    message="Cette méthode HTTP n'est pas acceptée sur cette ressource",
)
BAD_REQUEST = ErrorBody(
    error="bad_request",
    reason="The request body cannot be read",
    message="Le contenu de la requête est invalide",
)
PAYLOAD_TOO_LARGE = ErrorBody(
    error="payload_too_large",
    reason="The request body is too large",
    message="Le contenu de la requête est trop grand",
)
STORE_UNAVAILABLE = ErrorBody(
    error="service_unavailable",
    reason="The store is not available",
    message="Le service est momentanément indisponible, veuillez réessayer",
)
SERVICE_UNAVAILABLE = ErrorBody(
    error="service_unavailable",
    reason="Data provider is not available",
    message="Le fournisseur de donnée n'est pas disponible",
)


def error_response(
    body: ErrorBody, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONBytesResponse(body, status_code=status, headers=headers)


def denial_response(denial: Denial, headers: Mapping[str, str] | None = None) -> Response:
    """``denial`` answered by a plugin's own route (a webhook, a public JSON route): the
    contract's error body and media type, the denial's status and headers, then
    ``headers``. The route's wrapper adds the request id."""
    body = ErrorBody(error=denial.error, reason=denial.reason, message=denial.message)
    return error_response(body, denial.status, {**denial.headers, **(headers or {})})
