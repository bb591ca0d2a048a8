"""The answers of the citizen's route: the contract's error body, saying nothing of
whether any call exists."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from starlette.responses import Response


class Refusal(Exception):
    """The request is refused with this status and body."""

    def __init__(
        self,
        status: int,
        error: str,
        reason: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.body = {"error": error, "reason": reason, "message": message}
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return json_answer(self.body, self.status, self.headers)


def json_answer(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers={"cache-control": "no-store", **(headers or {})},
    )


# One answer for a wrong, expired or foreign token and for identifiers that are not the
# token holder's: a caller cannot tell which, nor whether any call about them exists.
NOT_IDENTIFIED = Refusal(
    401,
    "access_denied",
    "The citizen could not be identified",
    "Votre identité n'a pas pu être vérifiée : reconnectez-vous avec FranceConnect et "
    "vérifiez vos identifiants",
)
BAD_IDENTIFIERS = Refusal(
    400,
    "bad_request",
    "Invalid parameters: give numeroFiscal and referenceAvis, or numeroAllocataire and codePostal",
    "Indiquez votre numéro fiscal et la référence d'un de vos avis d'impôt, ou votre numéro "
    "allocataire et votre code postal",
)
UNAVAILABLE = Refusal(
    503,
    "provider_unavailable",
    "The identity could not be checked now",
    "Le service est momentanément indisponible, veuillez réessayer",
    {"retry-after": "5"},
)


def too_many(retry_after: float) -> Refusal:
    return Refusal(
        429,
        "too_many_requests",
        "Too many attempts",
        "Trop de tentatives : veuillez réessayer plus tard",
        {"retry-after": str(int(retry_after + 0.999))},
    )
