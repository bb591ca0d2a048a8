"""The avis d'imposition as served by the API (contract §3.1) and its query parameters."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

NUMERO_FISCAL_MESSAGE = "Le numéro fiscal n'est pas correctement formaté"
REFERENCE_AVIS_MESSAGE = "La référence de l'avis n'est pas correctement formatée"

# The money fields: ``None`` when the notice says "Non imposable" or leaves the cell empty.
MONEY_FIELDS = (
    "revenuBrutGlobal",
    "revenuImposable",
    "impotRevenuNetAvantCorrections",
    "montantImpot",
    "revenuFiscalReference",
)


class AvisParams(msgspec.Struct, frozen=True, kw_only=True):
    """Query of ``/api/v2/avis-imposition``; spaces typed from a paper notice are removed."""

    numeroFiscal: Annotated[
        str,
        Meta(
            pattern=r"^[0-9A-Za-z]{13}$",
            description="Numéro fiscal (13 caractères), espaces ignorés",
            examples=["1111111111111"],
            extra={"message": NUMERO_FISCAL_MESSAGE, "remove_spaces": True},
        ),
    ]
    referenceAvis: Annotated[
        str,
        Meta(
            pattern=r"^[0-9A-Za-z]{13,14}$",
            description="Référence de l'avis (13 caractères, 14 pour un avis de dégrèvement)",
            examples=["1111111111111"],
            extra={"message": REFERENCE_AVIS_MESSAGE, "remove_spaces": True},
        ),
    ]


class Declarant(msgspec.Struct, frozen=True, kw_only=True):
    nom: str = ""
    nomNaissance: str = ""
    prenoms: str = ""
    # dd/mm/yyyy, or "" when the notice has no second declarant.
    dateNaissance: str = ""


class FoyerFiscal(msgspec.Struct, frozen=True, kw_only=True):
    adresse: str = ""
    # Equal to anneeImpots; absent only if the notice did not say which year it is.
    annee: int | UnsetType = UNSET


class AvisImposition(msgspec.Struct, frozen=True, kw_only=True):
    """The full, unmasked body of a tax notice.

    The fields are declared in the order of the answer (routes.FIELDS), so that a notice
    seen with every scope is encoded as it is.
    """

    declarant1: Declarant
    declarant2: Declarant
    foyerFiscal: FoyerFiscal
    # "dd/mm/yyyy", "-" or other text as published; absent when the notice has none.
    dateRecouvrement: str | UnsetType = UNSET
    dateEtablissement: str
    nombreParts: int | float
    situationFamille: str
    nombrePersonnesCharge: int
    revenuBrutGlobal: int | None
    revenuImposable: int | None
    impotRevenuNetAvantCorrections: int | None
    montantImpot: int | None
    revenuFiscalReference: int | None
    anneeImpots: str
    anneeRevenus: str
    # Present only when a newer corrective notice exists.
    erreurCorrectif: str | UnsetType = UNSET
    # Present only when the year is split in two notices (e.g. a spouse died).
    situationPartielle: str | UnsetType = UNSET
