"""The shapes of the CNAF route: query parameters, response body and the scope of each field.

Contract §4: ``numeroAllocataire`` stays a string (leading zeros are part of the number) and
the four ``cnaf_*`` scopes each unmask a whole group; a group the key cannot see is absent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

ALLOCATAIRE_MESSAGE = "Le numéro d'allocataire n'est pas correctement formaté"
CODE_POSTAL_MESSAGE = "Le code postal n'est pas correctement formaté"

NumeroAllocataire = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{5,7}$",
        examples=["2345678"],
        extra={"message": ALLOCATAIRE_MESSAGE},
    ),
]
CodePostal = Annotated[
    str,
    msgspec.Meta(pattern=r"^[0-9]{5}$", examples=["75001"], extra={"message": CODE_POSTAL_MESSAGE}),
]


class CompositionFamilialeParams(msgspec.Struct, frozen=True, kw_only=True):
    """Query of ``GET /api/v2/composition-familiale`` (and of the v1 alias)."""

    numeroAllocataire: NumeroAllocataire
    codePostal: CodePostal


class Person(msgspec.Struct, frozen=True, kw_only=True):
    nomPrenom: str
    # ddMMyyyy, e.g. "05031988" for 5 March 1988.
    dateDeNaissance: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8}$")]
    sexe: Literal["M", "F"]


class Adresse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The seven La Poste lines; a blank line's key is omitted."""

    identite: str | msgspec.UnsetType = msgspec.UNSET
    complementIdentite: str | msgspec.UnsetType = msgspec.UNSET
    complementIdentiteGeo: str | msgspec.UnsetType = msgspec.UNSET
    numeroRue: str | msgspec.UnsetType = msgspec.UNSET
    lieuDit: str | msgspec.UnsetType = msgspec.UNSET
    codePostalVille: str | msgspec.UnsetType = msgspec.UNSET
    pays: str | msgspec.UnsetType = msgspec.UNSET


class CompositionFamiliale(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The full body; groups whose scope the key lacks are absent from what is served."""

    allocataires: list[Person] | msgspec.UnsetType = msgspec.UNSET
    enfants: list[Person] | msgspec.UnsetType = msgspec.UNSET
    adresse: Adresse | msgspec.UnsetType = msgspec.UNSET
    quotientFamilial: int | msgspec.UnsetType | None = msgspec.UNSET
    mois: int | msgspec.UnsetType | None = msgspec.UNSET
    annee: int | msgspec.UnsetType | None = msgspec.UNSET


# Order of the keys here is the order of the keys in the answer.
FIELDS: dict[str, Any] = {
    "allocataires": "cnaf_allocataires",
    "enfants": "cnaf_enfants",
    "adresse": "cnaf_adresse",
    "quotientFamilial": "cnaf_quotient_familial",
    "mois": "cnaf_quotient_familial",
    "annee": "cnaf_quotient_familial",
}

# What a person choosing scopes reads (the access request form), one per scope of FIELDS.
SCOPE_LABELS: dict[str, str] = {
    "cnaf_allocataires": "Allocataires (noms, prénoms, dates de naissance)",
    "cnaf_enfants": "Enfants (noms, prénoms, dates de naissance)",
    "cnaf_adresse": "Adresse déclarée à la CAF",
    "cnaf_quotient_familial": "Quotient familial, avec son mois et son année",
}

# La Poste line number → key of ``adresse`` (LIBLIG1ADR … LIBLIG7ADR upstream).
ADDRESS_KEYS: tuple[str, ...] = (
    "identite",
    "complementIdentite",
    "complementIdentiteGeo",
    "numeroRue",
    "lieuDit",
    "codePostalVille",
    "pays",
)
