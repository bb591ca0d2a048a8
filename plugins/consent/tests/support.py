"""What the consent tests share: a small counting provider, keys, and an app builder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import msgspec
from api_particulier import Call, Holder, Provider, ProviderRoute, hookimpl
from api_particulier.settings import Settings
from api_particulier.testing import HookRecorder, TestClient, app_client, make_settings
from api_particulier_consent.plugin import ConsentPlugin
from joserfc.jwk import ECKey, OKPKey

PATH = "/api/test/avis"
_NUMERO = "Le numéro fiscal n'est pas correctement formaté"
_REFERENCE = "La référence de l'avis n'est pas correctement formatée"


class NoticeParams(msgspec.Struct, frozen=True, kw_only=True):
    numeroFiscal: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[0-9A-Za-z]{13}$", extra={"message": _NUMERO, "remove_spaces": True}
        ),
    ]
    referenceAvis: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[0-9A-Za-z]{13,14}$", extra={"message": _REFERENCE, "remove_spaces": True}
        ),
    ]


class Declarant(msgspec.Struct, frozen=True, kw_only=True):
    nom: str
    prenoms: str


class Foyer(msgspec.Struct, frozen=True, kw_only=True):
    adresse: str


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    declarant1: Declarant
    foyerFiscal: Foyer
    revenuFiscalReference: int
    nombreParts: float
    anneeImpots: str


FIELDS: dict[str, Any] = {
    "declarant1": {"nom": "dgfip_declarant1_nom", "prenoms": "dgfip_declarant1_prenoms"},
    "foyerFiscal": {"adresse": "dgfip_adresse_fiscale_taxation"},
    "revenuFiscalReference": "dgfip_revenu_fiscal_reference",
    "nombreParts": "dgfip_nombre_parts",
    "anneeImpots": "dgfip_annee_impot",
}
ALL_SCOPES = frozenset(
    {
        "dgfip_declarant1_nom",
        "dgfip_declarant1_prenoms",
        "dgfip_adresse_fiscale_taxation",
        "dgfip_revenu_fiscal_reference",
        "dgfip_nombre_parts",
        "dgfip_annee_impot",
    }
)
PARAMS = {"numeroFiscal": "1234567890123", "referenceAvis": "2345678901234"}
# The notice's declarant, as FranceConnect would name her.
CAMILLE = {"given_name": "Camille", "family_name": "Martin", "birthdate": "1980-01-01"}


def notice_holders(notice: Notice) -> list[Holder]:
    """Whom the test notice is about: its declarant, born on CAMILLE's birth date."""
    return [
        Holder(names=f"{notice.declarant1.nom} {notice.declarant1.prenoms}", birthdate="1980-01-01")
    ]


NOTICE = Notice(
    declarant1=Declarant(nom="MARTIN", prenoms="Camille"),
    foyerFiscal=Foyer(adresse="12 rue de la Paix 75002 Paris"),
    revenuFiscalReference=24_500,
    nombreParts=1.5,
    anneeImpots="2024",
)
# A valid SIRET (Luhn) and La Poste's head office.
SIRET = "13002526500013"
LA_POSTE_SIRET = "35600000000048"


class CountingProvider:
    """Serves one notice to anyone and counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def register_providers(self, register: Callable[[Provider], None]) -> None:
        route = ProviderRoute(
            path=PATH,
            params=NoticeParams,
            response=Notice,
            fields=FIELDS,
            fetch=self.fetch,
            summary="A test notice",
            holders=notice_holders,
        )
        register(Provider(name="testnotice", routes=(route,)))

    async def fetch(self, call: Call) -> Notice:
        self.calls += 1
        return NOTICE


def leaves(body: Mapping[str, Any], tree: Mapping[str, Any] = FIELDS) -> set[str]:
    """The scopes of the leaves present in ``body``."""
    found: set[str] = set()
    for key, node in tree.items():
        if isinstance(node, Mapping):
            inner = body.get(key, {})
            found |= leaves(inner if isinstance(inner, Mapping) else {}, node)
        elif key in body:
            found.add(node)
    return found


def ed25519() -> OKPKey:
    return OKPKey.generate_key("Ed25519")


def p256() -> ECKey:
    return ECKey.generate_key("P-256")


def public(key: OKPKey | ECKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def receipt_policy(
    *keys: tuple[str, OKPKey | ECKey], evidence: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "consent": {
            "evidence": evidence or ["receipt"],
            "public_keys": [{"kid": kid, "jwk": public(key)} for kid, key in keys],
            **extra,
        }
    }


class Harness:
    def __init__(
        self, client: TestClient, provider: CountingProvider, recorder: HookRecorder
    ) -> None:
        self.client = client
        self.provider = provider
        self.recorder = recorder

    async def get(
        self,
        key: str,
        *,
        params: Mapping[str, str] = PARAMS,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return await self.client.http.get(
            PATH, params=dict(params), headers={"X-Api-Key": key, **(headers or {})}
        )


def settings_for(data_dir: Path, consent: Mapping[str, Any] | None = None) -> Settings:
    return make_settings(
        data_dir,
        enabled=["consent", "testnotice", "recorder"],
        plugins={"consent": {"replay": {"backend": "sqlite"}, **(consent or {})}},
    )


@asynccontextmanager
async def harness(
    data_dir: Path,
    consent: Mapping[str, Any] | None = None,
    *,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[Harness]:
    provider = CountingProvider()
    recorder = HookRecorder()
    plugin = ConsentPlugin(clock=clock) if clock is not None else ConsentPlugin()
    plugins = {"consent": plugin, "testnotice": provider, "recorder": recorder}
    async with app_client(settings_for(data_dir, consent), plugins=plugins) as client:
        yield Harness(client, provider, recorder)
