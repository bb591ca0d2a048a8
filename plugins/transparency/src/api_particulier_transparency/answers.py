"""The answers of the citizen's route: the contract's error body, saying nothing of
whether any call exists."""

from __future__ import annotations

from api_particulier import Denial, denial_response, json_response
from starlette.responses import Response

# Nothing the citizen's routes answer may be kept by a cache on the way.
_NO_STORE = {"cache-control": "no-store"}


class Refusal(Exception):
    """The request is refused with ``denial``."""

    def __init__(self, denial: Denial) -> None:
        super().__init__(denial.error)
        self.denial = denial

    def response(self) -> Response:
        return denial_response(self.denial, _NO_STORE)


def json_answer(body: object) -> Response:
    return json_response(body, headers=_NO_STORE)


# One answer for a wrong, expired or foreign token and for identifiers that are not the
# token holder's: a caller cannot tell which, nor whether any call about them exists.
NOT_IDENTIFIED = Denial(
    status=401,
    error="access_denied",
    reason="The citizen could not be identified",
    message="Votre identité n'a pas pu être vérifiée : reconnectez-vous avec FranceConnect et "
    "vérifiez vos identifiants",
)
BAD_IDENTIFIERS = Denial(
    status=400,
    error="bad_request",
    reason="Invalid parameters: give numeroFiscal and referenceAvis, or numeroAllocataire "
    "and codePostal",
    message="Indiquez votre numéro fiscal et la référence d'un de vos avis d'impôt, ou votre "
    "numéro allocataire et votre code postal",
)
UNAVAILABLE = Denial(
    status=503,
    error="provider_unavailable",
    reason="The identity could not be checked now",
    message="Le service est momentanément indisponible, veuillez réessayer",
    headers={"retry-after": "5"},
)


def too_many(retry_after: float) -> Denial:
    return Denial(
        status=429,
        error="too_many_requests",
        reason="Too many attempts",
        message="Trop de tentatives : veuillez réessayer plus tard",
        headers={"retry-after": str(int(retry_after + 0.999))},
    )
