"""The routes end to end over ASGI, with the sandbox backend (the embedded default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from api_particulier.testing import TestClient, app_client, make_settings
from api_particulier_dgfip.dataset import load
from api_particulier_dgfip.plugin import DgfipPlugin
from api_particulier_dgfip.routes import FIELDS
from api_particulier_dgfip.sandbox import SandboxBackend

V2 = "/api/v2/avis-imposition"
V1 = "/api/impots/svair"
ALL_SCOPES = sorted(
    leaf
    for node in FIELDS.values()
    for leaf in (node.values() if isinstance(node, dict) else [node])
)
MAGIC = "1111111111111"

MARTIN: dict[str, Any] = {
    "declarant1": {
        "nom": "MARTIN",
        "nomNaissance": "MARTIN",
        "prenoms": "Jean",
        "dateNaissance": "29/03/1984",
    },
    "declarant2": {"nom": "", "nomNaissance": "", "prenoms": "", "dateNaissance": ""},
    "foyerFiscal": {"adresse": "34 RUE DE L'EGLISE 75009 PARIS", "annee": 2025},
    "dateRecouvrement": "31/07/2025",
    "dateEtablissement": "09/07/2025",
    "nombreParts": 1,
    "situationFamille": "Célibataire",
    "nombrePersonnesCharge": 0,
    "revenuBrutGlobal": 17580,
    "revenuImposable": 17580,
    "impotRevenuNetAvantCorrections": 1665,
    "montantImpot": 1665,
    "revenuFiscalReference": 17580,
    "anneeImpots": "2025",
    "anneeRevenus": "2024",
}


@asynccontextmanager
async def sandbox(tmp_path: Path) -> AsyncIterator[tuple[TestClient, SandboxBackend]]:
    plugin = DgfipPlugin()
    settings = make_settings(tmp_path, enabled=["dgfip"])
    async with app_client(settings, plugins={"dgfip": plugin}) as client:
        assert isinstance(plugin.backend, SandboxBackend)
        yield client, plugin.backend


async def get(client: TestClient, key: str, path: str = V2, **params: str) -> Any:
    return await client.http.get(path, params=params, headers={"X-Api-Key": key})


def test_twenty_four_scopes() -> None:
    assert len(ALL_SCOPES) == 24
    assert len(set(ALL_SCOPES)) == 24


@pytest.mark.anyio
async def test_historic_identifier_answers_the_full_body(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, _):
        key = await client.key(ALL_SCOPES)
        response = await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == MARTIN


@pytest.mark.anyio
async def test_only_reference_income_scope_masks_everything_else(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, _):
        key = await client.key(["dgfip_revenu_fiscal_reference"])
        response = await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)
    assert response.status_code == 200
    assert response.json() == {
        "declarant1": {},
        "declarant2": {},
        "foyerFiscal": {},
        "revenuFiscalReference": 17580,
    }


@pytest.mark.anyio
async def test_each_scope_unmasks_exactly_its_field(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, _):
        for container, node in FIELDS.items():
            leaves = node.items() if isinstance(node, dict) else [(None, node)]
            for inner, scope in leaves:
                key = await client.key([scope])
                body = (await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)).json()
                expected: dict[str, Any] = {"declarant1": {}, "declarant2": {}, "foyerFiscal": {}}
                if inner is None:
                    if container in MARTIN:  # the optional fields are absent for him
                        expected[container] = MARTIN[container]
                else:
                    expected[container] = {inner: MARTIN[container][inner]}
                assert body == expected, scope


@pytest.mark.anyio
async def test_key_without_dgfip_scope_is_403_and_backend_not_called(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, backend):
        key = await client.key(["cnaf_enfants"])
        for path in (V2, V1):
            response = await get(client, key, path, numeroFiscal=MAGIC, referenceAvis=MAGIC)
            assert response.status_code == 403
            assert response.json() == {
                "error": "access_denied",
                "reason": response.json()["reason"],
                "message": "Votre jeton est valide mais vos privilèges sont insuffisants. "
                "Listez vos privilèges sur /api/introspect",
            }
    assert backend.calls == 0


NF_MESSAGE = "Le numéro fiscal n'est pas correctement formaté"
REF_MESSAGE = "La référence de l'avis n'est pas correctement formatée"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "messages"),
    [
        ({"numeroFiscal": "123", "referenceAvis": MAGIC}, [NF_MESSAGE]),
        ({"numeroFiscal": MAGIC + "1", "referenceAvis": MAGIC}, [NF_MESSAGE]),
        ({"numeroFiscal": "111111111111-", "referenceAvis": MAGIC}, [NF_MESSAGE]),
        ({"referenceAvis": MAGIC}, [NF_MESSAGE]),
        ({"numeroFiscal": MAGIC, "referenceAvis": "1" * 15}, [REF_MESSAGE]),
        ({"numeroFiscal": MAGIC, "referenceAvis": "é" * 13}, [REF_MESSAGE]),
        ({"numeroFiscal": MAGIC}, [REF_MESSAGE]),
        ({}, [NF_MESSAGE, REF_MESSAGE]),
        ({"numeroFiscal": "x", "referenceAvis": "y"}, [NF_MESSAGE, REF_MESSAGE]),
    ],
)
async def test_bad_parameters_are_400_and_backend_not_called(
    tmp_path: Path, params: dict[str, str], messages: list[str]
) -> None:
    async with sandbox(tmp_path) as (client, backend):
        key = await client.key(ALL_SCOPES)
        for path in (V2, V1):
            response = await get(client, key, path, **params)
            assert response.status_code == 400
            body = response.json()
            assert body["error"] == "bad_request"
            for message in messages:
                assert message in body["message"]
            for message in {NF_MESSAGE, REF_MESSAGE} - set(messages):
                assert message not in body["message"]
    assert backend.calls == 0


@pytest.mark.anyio
async def test_spaces_typed_from_the_paper_notice_are_ignored(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, _):
        key = await client.key(ALL_SCOPES)
        response = await get(
            client, key, numeroFiscal="1111 1111 11111", referenceAvis=" 11111 11111111 "
        )
    assert response.status_code == 200
    assert response.json() == MARTIN


ERRORS = {
    404: {
        "error": "not_found",
        "reason": "Les paramètres fournis sont incorrects ou ne correspondent pas à un avis",
        "message": "Les paramètres fournis sont incorrects ou ne correspondent pas à un avis",
    },
    502: {
        "error": "invalid_response",
        "reason": "Data provider returned an invalid data format.",
        "message": "La réponse du fournisseur de donnée est inexploitable",
    },
    503: {
        "error": "data_provider_error",
        "reason": "The data provider is unavailable",
        "message": "Le fournisseur de donnée est indisponible",
    },
    504: {
        "error": "timeout_error",
        "reason": "The data provider did not answer in time",
        "message": "Temps d'attente d'une réponse du fournisseur de données écoulé.",
    },
    509: {
        "error": "rate_limited",
        "reason": "Le fournisseur de donnée a rejeté la demande en raison d'un trop grand "
        "nombre d'échecs antérieurs.",
        "message": "Le fournisseur de donnée a rejeté la demande en raison d'un trop grand "
        "nombre d'échecs antérieurs.",
    },
}


@pytest.mark.anyio
@pytest.mark.parametrize("status", sorted(ERRORS))
async def test_magic_identifiers_answer_their_error(tmp_path: Path, status: int) -> None:
    magic = f"1111111111{status}"
    async with sandbox(tmp_path) as (client, _):
        key = await client.key(ALL_SCOPES)
        for path in (V2, V1):
            response = await get(client, key, path, numeroFiscal=magic, referenceAvis=magic)
            assert response.status_code == status
            assert response.json() == ERRORS[status]


@pytest.mark.anyio
async def test_unknown_identifiers_are_404(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, _):
        key = await client.key(ALL_SCOPES)
        response = await get(client, key, numeroFiscal=MAGIC, referenceAvis="2500000000002")
        assert response.status_code == 404
        assert response.json() == ERRORS[404]


@pytest.mark.anyio
async def test_every_household_answers_per_contract(tmp_path: Path) -> None:
    notices = load().notices
    assert len({n.numeroFiscal for n in notices}) >= 20
    async with sandbox(tmp_path) as (client, backend):
        key = await client.key(ALL_SCOPES)
        for notice in notices:
            params = {"numeroFiscal": notice.numeroFiscal, "referenceAvis": notice.referenceAvis}
            response = await get(client, key, **params)
            if notice.tax_year < backend.current_year - 1:
                assert response.status_code == 404, notice.case
                continue
            assert response.status_code == 200, notice.case
            body = response.json()
            assert body == msgspec.to_builtins(notice.avis), notice.case
            assert set(body["declarant2"]) == {"nom", "nomNaissance", "prenoms", "dateNaissance"}
            assert body["foyerFiscal"]["annee"] == int(body["anneeImpots"])
            assert body["anneeRevenus"] == str(int(body["anneeImpots"]) - 1)


@pytest.mark.anyio
async def test_only_the_two_most_recent_years_are_served(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, backend):
        key = await client.key(["dgfip_annee_impot"])
        answers = {}
        for reference in ("2500000000015", "2400000000015", "2300000000015"):
            response = await get(client, key, numeroFiscal="3999000000015", referenceAvis=reference)
            answers[reference] = (response.status_code, response.json().get("anneeImpots"))
    assert backend.current_year == 2025
    assert answers == {
        "2500000000015": (200, "2025"),
        "2400000000015": (200, "2024"),
        "2300000000015": (404, None),
    }


@pytest.mark.anyio
async def test_current_year_is_configurable(tmp_path: Path) -> None:
    plugin = DgfipPlugin()
    settings = make_settings(
        tmp_path, enabled=["dgfip"], plugins={"dgfip": {"sandbox_current_year": 2024}}
    )
    async with app_client(settings, plugins={"dgfip": plugin}) as client:
        key = await client.key(["dgfip_annee_impot"])
        old = await get(client, key, numeroFiscal="3999000000015", referenceAvis="2300000000015")
        new = await get(client, key, numeroFiscal="3999000000015", referenceAvis="2500000000015")
    assert (old.status_code, new.status_code) == (200, 404)


@pytest.mark.anyio
async def test_v1_alias_omits_unknown_money_fields(tmp_path: Path) -> None:
    params = {"numeroFiscal": "3999000000020", "referenceAvis": "2500000000020"}
    async with sandbox(tmp_path) as (client, _):
        key = await client.key(ALL_SCOPES)
        v2 = (await get(client, key, V2, **params)).json()
        v1 = (await get(client, key, V1, **params)).json()
    money = ("revenuBrutGlobal", "revenuImposable", "impotRevenuNetAvantCorrections")
    for field in (*money, "montantImpot"):
        assert v2[field] is None
        assert field not in v1
    assert v1["revenuFiscalReference"] == v2["revenuFiscalReference"] == 0
    assert {k: v for k, v in v2.items() if v is not None} == v1


@pytest.mark.anyio
async def test_fourteen_character_reference_is_not_truncated(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, _):
        key = await client.key(ALL_SCOPES)
        ok = await get(client, key, numeroFiscal="3999000000014", referenceAvis="2599000000014D")
        cut = await get(client, key, numeroFiscal="3999000000014", referenceAvis="2599000000014")
    assert ok.status_code == 200
    assert cut.status_code == 404


@pytest.mark.anyio
async def test_optional_fields_only_when_present(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, _):
        key = await client.key(ALL_SCOPES)
        fix = await get(client, key, numeroFiscal="3999000000012", referenceAvis="2500000000012")
        part = await get(client, key, numeroFiscal="3999000000013", referenceAvis="2500000000013")
        plain = await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)
    assert fix.json()["erreurCorrectif"].startswith("Ce document ne correspond pas")
    assert "situationPartielle" not in fix.json()
    assert part.json()["situationPartielle"] == "(*) Situation  2024  partielle"
    assert "erreurCorrectif" not in plain.json()
    assert "situationPartielle" not in plain.json()


@pytest.mark.anyio
async def test_health_is_pong_in_sandbox(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, _):
        response = await client.http.get("/api/impots/ping")
    assert response.status_code == 200
    assert response.json() == "pong"


@pytest.mark.anyio
async def test_openapi_documents_both_routes(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (client, _):
        document = (await client.http.get("/api/open-api.json")).json()
    assert V2 in document["paths"]
    assert document["paths"][V1]["get"].get("deprecated") is True


@pytest.mark.anyio
async def test_the_core_provider_contract_suite_passes(tmp_path: Path) -> None:
    from api_particulier.testing import check_provider_contract

    await check_provider_contract(DgfipPlugin(), name="dgfip", data_dir=tmp_path)
