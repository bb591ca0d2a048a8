"""Every answer this plugin can refuse a call with (contract §5).

``reason`` is precise and in English (for the integrator's logs); ``message`` is French
and addressed to the end user. Neither ever repeats the receipt, the token or a claim.
"""

from __future__ import annotations

from enum import Enum

from api_particulier import Denial

CONSENT_REQUIRED = Denial(
    status=403,
    error="consent_required",
    reason="This application must present the citizen's consent: "
    "a signed receipt in X-Consent-Receipt or a FranceConnect token, as its policy says",
    message="Le consentement de l'usager est requis pour accéder à ces données",
)

INVALID_RECIPIENT = Denial(
    status=400,
    error="bad_request",
    reason="Invalid recipient: expected a SIRET (14 digits with a valid check digit)",
    message="Le paramètre recipient n'est pas un siret valide",
)

RECEIPT_TOO_LONG = Denial(
    status=400,
    error="bad_request",
    reason="X-Consent-Receipt holds more than 4096 characters",
    message="Le consentement de l'usager transmis est trop volumineux",
)

MISSING_RECIPIENT = Denial(
    status=400,
    error="bad_request",
    reason="Missing recipient: this application must name the SIRET of the administration "
    "receiving the data in the recipient parameter",
    message="Le paramètre recipient est obligatoire",
)

POLICY_MISCONFIGURED = Denial(
    status=500,
    error="internal_error",
    reason="Internal server error",
    message="Une erreur interne s'est produite, l'équipe a été prévenue.",
)

INTROSPECTION_UNAVAILABLE = Denial(
    status=503,
    error="provider_unavailable",
    reason="The FranceConnect token introspection service is unavailable",
    message="Le service de vérification du jeton FranceConnect n'est pas disponible, "
    "veuillez réessayer plus tard",
    headers={"retry-after": "1"},
)

INTROSPECTION_TIMEOUT = Denial(
    status=504,
    error="timeout_error",
    reason="The FranceConnect token introspection service did not answer in time",
    message="Temps d'attente d'une réponse du fournisseur de données écoulé.",
)


class Invalid(Enum):
    """The reasons a piece of evidence is refused with 403 ``consent_invalid``."""

    MALFORMED = "Consent receipt is not a well-formed compact JWS"
    ALGORITHM = "Consent receipt algorithm is not accepted (EdDSA with Ed25519, or ES256)"
    UNKNOWN_KEY = "Consent receipt is signed with a key unknown to this application"
    BAD_SIGNATURE = "Consent receipt signature does not verify"
    CLAIMS = "Consent receipt claims are missing or malformed"
    AUDIENCE = "Consent receipt is meant for another audience"
    NOT_YET_VALID = "Consent receipt is issued in the future"
    EXPIRED = "Consent receipt has expired"
    TOO_LONG = "Consent receipt lifetime exceeds the maximum allowed"
    SUBJECT = "Consent receipt subject does not match the parameters of this call"
    SCOPE = "Consent does not cover any data of this endpoint that the key may access"
    REPLAYED = "Consent receipt has already been used"
    FC_MALFORMED = "FranceConnect access token is malformed"
    FC_INACTIVE = "FranceConnect access token is inactive, expired or unknown"
    FC_CLIENT = "FranceConnect access token was issued to another service"
    FC_NO_IDENTITY = "FranceConnect access token names no citizen"


_MESSAGES = {
    Invalid.EXPIRED: "Le consentement de l'usager a expiré, veuillez le recueillir à nouveau",
    Invalid.REPLAYED: "Ce consentement de l'usager a déjà été utilisé",
    Invalid.SUBJECT: "Le consentement de l'usager ne porte pas sur les paramètres transmis",
    Invalid.SCOPE: "Le consentement de l'usager ne couvre pas les données demandées",
    Invalid.FC_INACTIVE: "Le jeton FranceConnect n'a pas été trouvé ou est expiré",
}
_DEFAULT_MESSAGE = "Le consentement de l'usager transmis n'est pas valide"


def consent_invalid(why: Invalid) -> Denial:
    return Denial(
        status=403,
        error="consent_invalid",
        reason=why.value,
        message=_MESSAGES.get(why, _DEFAULT_MESSAGE),
    )


class EvidenceRefused(Exception):
    """Raised inside the evidence checks; the plugin turns it into its Denial."""

    def __init__(self, why: Invalid) -> None:
        super().__init__(why.name)
        self.why = why
