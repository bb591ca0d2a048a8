"""CNAF return codes (``codeRetour``) and the provider error each one becomes.

The table is the one the CNAF document service has published since 2015 (upstreams.md §2.5).
Contract §4 maps its families: 404 → not found, 400 → bad request, 500 (CNAF's own technical
trouble) → 503 ``data_provider_error``; the CNAF sentence is both reason and message. A code
outside the table is a 503 too, with a fixed sentence, because its meaning is unknown.
"""

from __future__ import annotations

from typing import Final, Literal

from api_particulier import ProviderBadRequest, ProviderError, ProviderUnavailable, SubjectNotFound

Family = Literal[400, 404, 500]

UNKNOWN_CODE_MESSAGE: Final = "Erreur inconnue du fournisseur de donnée CAF"

_RADIATION = "Le document ne peut être édité."
_RENEW = "Merci de renouveler votre demande ultérieurement."
_IMC = (
    "Votre demande n'a pu aboutir en raison d'un incident technique lié à l'appel au service IMC."
)
_PRESTATION = "Pas de droit sur la période demandée pour la prestation sélectionnée"
_EXISTENT = "Il existe des droits pour la prestation sélectionnée sur le dossier et/ou la période"

CODES: Final[dict[int, tuple[Family, str]]] = {
    101: (404, f"Dossier radié. {_RADIATION}"),
    102: (404, f"Dossier radié au cours de la période de référence. {_RADIATION}"),
    # Verbatim, trailing space included: the sentence is CNAF's, not ours to edit.
    103: (
        400,
        "L’opérateurs téléphonique» ne propose pas de raccordement SMS avec un prestataire "
        "externe (raccordement avec un numéro court). ",
    ),
    111: (404, f"Dossier en cours d'affiliation sur la période de référence. {_RADIATION}"),
    121: (404, f"Dossier suspendu. {_RADIATION}"),
    122: (404, f"Dossier suspendu au cours de la période de référence. {_RADIATION}"),
    131: (400, f"Absence du nom du responsable dossier. {_RADIATION}"),
    132: (404, f"Décès MON/MME. {_RADIATION}"),
    133: (404, f"Dossier allocataire inexistant. {_RADIATION}"),
    141: (404, f"Non droit. {_RADIATION}"),
    151: (
        404,
        "Votre quotient familial (Qf) sur cette période est non disponible. "
        "Pour plus d'information, contactez-nous.",
    ),
    161: (404, f"Absence ressources ou QF à 0 sur la période de référence. {_RADIATION}"),
    171: (
        404,
        "Le dossier n'est pas éligible à la réduction sociale téléphonique - "
        "Pas de droit AAH ou RSA à la date de situation.",
    ),
    181: (400, f"Absence de code confidentiel. {_RADIATION}"),
    191: (404, f"{_PRESTATION} (entre début période et date du jour)"),
    192: (400, f"{_EXISTENT} demandée"),
    193: (400, f"{_EXISTENT} demandée (après date du jour)"),
    194: (404, f"{_PRESTATION} (entre début période et fin période)"),
    195: (400, "Allocataire non radié à la date de situation demandée"),
    196: (
        400,
        "Il existe au moins un enfant pour lequel il existe un droit sur le dossier et/ou "
        "après la date de situation demandée",
    ),
    197: (
        400,
        "Il existe au moins un enfant pour lequel il existe un droit sur le dossier et/ou "
        "à la période demandée",
    ),
    198: (
        400,
        "Il existe au moins un enfant pour lequel il existe ou il a existé un droit sur le dossier",
    ),
    1113: (404, f"{_PRESTATION}."),
    1114: (404, f"{_PRESTATION} et le bénéficiaire choisi"),
    201: (500, f"Les informations souhaitées sont momentanément indisponibles. {_RENEW}"),
    211: (
        500,
        "Votre demande n’a pu aboutir en raison d'un problème technique lié aux données "
        f"entrantes du webservice. {_RENEW}",
    ),
    221: (
        500,
        f"Votre demande n'a pu aboutir en raison d'un incident technique momentané. {_RENEW}",
    ),
    231: (500, "Problème technique avec le service trafic"),
    241: (500, "Problème technique avec le service tiers"),
    251: (
        500,
        "Votre demande n'a pu aboutir car le numéro de téléphone mentionné ne fait pas partie "
        "de la liste des numéros autorisés.",
    ),
    252: (500, f"{_IMC} Le SMS a été envoyé mais l'acquittement n'a pas été reçu."),
    253: (500, f"{_IMC} Des paramètres manquent."),
    254: (500, f"{_IMC} La date de fin doit être antérieure à la date de début."),
    255: (500, f"{_IMC} La taille du message ne doit pas être supérieure à 160 caractères."),
    256: (
        500,
        "Votre demande n'a pu aboutir en raison d'une erreur technique lié à l'appel au "
        "service IMC.",
    ),
    257: (
        500,
        "Votre demande n'a pu aboutir en raison d'une erreur fonctionnelle lié à l'appel au "
        "service IMC.",
    ),
}


def error_for_code(code: int) -> ProviderError:
    """The provider error a non-zero ``codeRetour`` becomes (contract §4)."""
    known = CODES.get(code)
    if known is None:
        return ProviderUnavailable(f"Unknown error code {code}", UNKNOWN_CODE_MESSAGE)
    family, sentence = known
    if family == 404:
        return SubjectNotFound(sentence, sentence)
    if family == 400:
        return ProviderBadRequest(sentence, sentence)
    return ProviderUnavailable(sentence, sentence)
