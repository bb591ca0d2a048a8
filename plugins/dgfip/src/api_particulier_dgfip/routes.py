"""The two HTTP routes of the provider, declared once for OpenAPI, scopes and masking."""

from __future__ import annotations

from typing import Any

from api_particulier import Call, Holder, ProviderRoute, RouteExamples

from .backend import Backend
from .model import MONEY_FIELDS, AvisImposition, AvisParams

V2_PATH = "/api/v2/avis-imposition"
V1_PATH = "/api/impots/svair"


def _declarant(n: int) -> dict[str, str]:
    return {
        "nom": f"dgfip_declarant{n}_nom",
        "nomNaissance": f"dgfip_declarant{n}_nom_naissance",
        "prenoms": f"dgfip_declarant{n}_prenoms",
        "dateNaissance": f"dgfip_declarant{n}_date_naissance",
    }


# Contract §3.2: one scope unmasks one field; containers are always present.
FIELDS: dict[str, Any] = {
    "declarant1": _declarant(1),
    "declarant2": _declarant(2),
    "foyerFiscal": {
        "adresse": "dgfip_adresse_fiscale_taxation",
        "annee": "dgfip_adresse_fiscale_annee",
    },
    "dateRecouvrement": "dgfip_date_recouvrement",
    "dateEtablissement": "dgfip_date_etablissement",
    "nombreParts": "dgfip_nombre_parts",
    "situationFamille": "dgfip_situation_familiale",
    "nombrePersonnesCharge": "dgfip_nombre_personnes_a_charge",
    "revenuBrutGlobal": "dgfip_revenu_brut_global",
    "revenuImposable": "dgfip_revenu_imposable",
    "impotRevenuNetAvantCorrections": "dgfip_impot_revenu_net_avant_corrections",
    "montantImpot": "dgfip_montant_impot",
    "revenuFiscalReference": "dgfip_revenu_fiscal_reference",
    "anneeImpots": "dgfip_annee_impot",
    "anneeRevenus": "dgfip_annee_revenus",
    "erreurCorrectif": "dgfip_erreur_correctif",
    "situationPartielle": "dgfip_situation_partielle",
}


def _declarant_labels(n: int) -> dict[str, str]:
    return {
        f"dgfip_declarant{n}_nom": f"Nom du déclarant {n}",
        f"dgfip_declarant{n}_nom_naissance": f"Nom de naissance du déclarant {n}",
        f"dgfip_declarant{n}_prenoms": f"Prénoms du déclarant {n}",
        f"dgfip_declarant{n}_date_naissance": f"Date de naissance du déclarant {n}",
    }


# What a person choosing scopes reads (the access request form), one per scope of FIELDS.
SCOPE_LABELS: dict[str, str] = {
    **_declarant_labels(1),
    **_declarant_labels(2),
    "dgfip_adresse_fiscale_taxation": "Adresse fiscale de taxation",
    "dgfip_adresse_fiscale_annee": "Année de l'adresse fiscale",
    "dgfip_date_recouvrement": "Date de mise en recouvrement",
    "dgfip_date_etablissement": "Date d'établissement de l'avis",
    "dgfip_nombre_parts": "Nombre de parts",
    "dgfip_situation_familiale": "Situation de famille",
    "dgfip_nombre_personnes_a_charge": "Nombre de personnes à charge",
    "dgfip_revenu_brut_global": "Revenu brut global",
    "dgfip_revenu_imposable": "Revenu imposable",
    "dgfip_impot_revenu_net_avant_corrections": "Impôt sur le revenu net avant corrections",
    "dgfip_montant_impot": "Montant de l'impôt",
    "dgfip_revenu_fiscal_reference": "Revenu fiscal de référence",
    "dgfip_annee_impot": "Année d'imposition",
    "dgfip_annee_revenus": "Année des revenus",
    "dgfip_erreur_correctif": "Avis correctif ou erreur",
    "dgfip_situation_partielle": "Situation partielle",
}

PROVIDER_STATUSES = (404, 502, 503, 504, 509)
# The sandbox's historic identifiers: a notice, and the one that answers 404.
EXAMPLES = RouteExamples(
    found={"numeroFiscal": "1111111111111", "referenceAvis": "1111111111111"},
    not_found={"numeroFiscal": "1111111111404", "referenceAvis": "1111111111404"},
    invalid={"numeroFiscal": "12", "referenceAvis": "1111111111111"},
)
SUBJECT_PARAMS = ("numeroFiscal", "referenceAvis")
# The notice's reference names one document; the tax number names the citizen.
CITIZEN_PARAMS = ("numeroFiscal",)


_DESCRIPTION = (
    "Données certifiées de l'avis d'impôt sur le revenu (DGFiP). Les espaces des "
    "identifiants sont ignorés. Un champ dont le jeton n'a pas le scope est absent ; "
    "`declarant1`, `declarant2` et `foyerFiscal` sont toujours présents."
)


def render_v1(body: dict[str, Any]) -> dict[str, Any]:
    """The v1 alias omits unknown money fields instead of answering ``null``."""
    return {k: v for k, v in body.items() if not (k in MONEY_FIELDS and v is None)}


def holders(notice: AvisImposition) -> list[Holder]:
    """The declarants a notice names (a second declarant only when there is one); the
    notice's dates are ``DD/MM/YYYY``."""
    found = []
    for declarant in (notice.declarant1, notice.declarant2):
        day, _, rest = declarant.dateNaissance.partition("/")
        month, _, year = rest.partition("/")
        if declarant.nom and len(day) == 2 and len(month) == 2 and len(year) == 4:
            names = f"{declarant.nom} {declarant.nomNaissance} {declarant.prenoms}"
            found.append(Holder(names, f"{year}-{month}-{day}"))
    return found


def build_routes(backend: Backend) -> tuple[ProviderRoute, ProviderRoute]:
    async def fetch(call: Call) -> AvisImposition:
        params = call.params
        if not isinstance(params, AvisParams):  # the core validated them with AvisParams
            raise TypeError("unexpected parameters")
        return await backend.lookup(params.numeroFiscal, params.referenceAvis)

    common: dict[str, Any] = {
        "params": AvisParams,
        "response": AvisImposition,
        "fields": FIELDS,
        "fetch": fetch,
        "tags": ("DGFiP",),
        "provider_statuses": PROVIDER_STATUSES,
        "subject_params": SUBJECT_PARAMS,
        "citizen_params": CITIZEN_PARAMS,
        # A citizen proves a tax number is theirs with one of their notices.
        "holders": holders,
        "deadline": backend.deadline,
        "examples": EXAMPLES,
        # A notice does not change within the hour (the historic service's cache).
        "cache_ttl": 3600.0,
    }
    v2 = ProviderRoute(
        path=V2_PATH,
        summary="Avis d'imposition (DGFiP)",
        description=_DESCRIPTION,
        **common,
    )
    v1 = ProviderRoute(
        path=V1_PATH,
        summary="Avis d'imposition (DGFiP), ancienne version",
        description=_DESCRIPTION
        + " Version 1 : les montants inconnus sont omis au lieu de valoir `null`.",
        deprecated=True,
        render=render_v1,
        **common,
    )
    return v2, v1
