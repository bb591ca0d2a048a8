"""The routes over HTTP with the sandbox backend: body, masking, validation, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from api_particulier.plugins import load_enabled
from api_particulier.testing import TestClient, app_client, make_settings
from api_particulier_cnaf.plugin import CnafPlugin
from api_particulier_cnaf.sandbox import SandboxBackend

pytestmark = pytest.mark.anyio

V2 = "/api/v2/composition-familiale"
V1 = "/api/caf/famille"
ALL_SCOPES = ["cnaf_quotient_familial", "cnaf_allocataires", "cnaf_enfants", "cnaf_adresse"]
DUPONT = {"numeroAllocataire": "2345678", "codePostal": "75001"}

DUPONT_BODY = {
    "allocataires": [
        {"nomPrenom": "MARIE DUPONT", "dateDeNaissance": "12111988", "sexe": "F"},
        {"nomPrenom": "JEAN DUPONT", "dateDeNaissance": "18101988", "sexe": "M"},
    ],
    "enfants": [
        {"nomPrenom": "JULIEN DUPONT", "dateDeNaissance": "10082016", "sexe": "M"},
        {"nomPrenom": "LUCIE DUPONT", "dateDeNaissance": "03042019", "sexe": "F"},
    ],
    "adresse": {
        "identite": "Madame MARIE DUPONT",
        "complementIdentite": "CHEZ MADAME ODILE DUPONT",
        "complementIdentiteGeo": "APPARTEMENT 12 ESCALIER B",
        "numeroRue": "123 RUE BIDON",
        "lieuDit": "LIEU-DIT LES GRANDS PRÉS",
        "codePostalVille": "75001 PARIS",
        "pays": "FRANCE",
    },
    "quotientFamilial": 1234,
    "mois": 7,
    "annee": 2022,
}


class CountingBackend(SandboxBackend):
    """The sandbox, counting the lookups that reach it."""

    def __init__(self) -> None:
        self.calls = 0

    async def lookup(self, numero_allocataire: str, code_postal: str) -> dict[str, Any]:
        self.calls += 1
        return await super().lookup(numero_allocataire, code_postal)


@pytest.fixture
def backend() -> CountingBackend:
    return CountingBackend()


@pytest.fixture
async def client(tmp_path: Path, backend: CountingBackend) -> AsyncIterator[TestClient]:
    settings = make_settings(tmp_path, enabled=["cnaf"])
    async with app_client(settings, plugins={"cnaf": CnafPlugin(backend)}) as running:
        yield running


async def get(client: TestClient, path: str, params: dict[str, str], scopes: list[str]) -> Any:
    key = await client.key(scopes)
    return await client.http.get(path, params=params, headers={"X-Api-Key": key})


@pytest.mark.parametrize("path", [V2, V1])
async def test_the_historic_household_with_every_scope(client: TestClient, path: str) -> None:
    response = await get(client, path, DUPONT, ALL_SCOPES)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == DUPONT_BODY
    assert list(response.json()) == list(DUPONT_BODY)


async def test_only_cnaf_enfants_gives_only_the_children(
    client: TestClient, backend: CountingBackend
) -> None:
    response = await get(client, V2, DUPONT, ["cnaf_enfants"])
    assert response.status_code == 200
    assert response.json() == {"enfants": DUPONT_BODY["enfants"]}
    assert backend.calls == 1


@pytest.mark.parametrize(
    ("scope", "keys"),
    [
        ("cnaf_quotient_familial", {"quotientFamilial", "mois", "annee"}),
        ("cnaf_allocataires", {"allocataires"}),
        ("cnaf_adresse", {"adresse"}),
    ],
)
async def test_each_scope_unmasks_its_group(client: TestClient, scope: str, keys: set[str]) -> None:
    response = await get(client, V1, DUPONT, [scope])
    assert response.status_code == 200
    assert set(response.json()) == keys
    assert response.json() == {key: DUPONT_BODY[key] for key in keys}


ALLOCATAIRE = "Le numéro d'allocataire n'est pas correctement formaté"
CODE_POSTAL = "Le code postal n'est pas correctement formaté"


@pytest.mark.parametrize(
    ("params", "messages"),
    [
        ({"numeroAllocataire": "1234", "codePostal": "75001"}, [ALLOCATAIRE]),
        ({"numeroAllocataire": "12345678", "codePostal": "75001"}, [ALLOCATAIRE]),
        ({"numeroAllocataire": "12a4567", "codePostal": "75001"}, [ALLOCATAIRE]),
        ({"codePostal": "75001"}, [ALLOCATAIRE]),
        ({"numeroAllocataire": "2345678", "codePostal": "7500"}, [CODE_POSTAL]),
        ({"numeroAllocataire": "2345678", "codePostal": "750011"}, [CODE_POSTAL]),
        ({"numeroAllocataire": "2345678"}, [CODE_POSTAL]),
        ({"numeroAllocataire": "x", "codePostal": "y"}, [ALLOCATAIRE, CODE_POSTAL]),
        ({}, [ALLOCATAIRE, CODE_POSTAL]),
    ],
)
async def test_bad_parameters_are_400_and_never_reach_the_backend(
    client: TestClient, backend: CountingBackend, params: dict[str, str], messages: list[str]
) -> None:
    response = await get(client, V2, params, ALL_SCOPES)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request"
    for message in messages:
        assert message in body["message"]
    assert backend.calls == 0


async def test_leading_zeros_are_kept(client: TestClient) -> None:
    response = await get(
        client, V2, {"numeroAllocataire": "0012345", "codePostal": "13001"}, ALL_SCOPES
    )
    assert response.status_code == 200
    assert response.json()["allocataires"][0]["nomPrenom"] == "SOPHIE ROUSSEL"
    # Without its zeros the number names another (unknown) household.
    response = await get(
        client, V2, {"numeroAllocataire": "12345", "codePostal": "13001"}, ALL_SCOPES
    )
    assert response.status_code == 404


async def test_a_key_without_any_cnaf_scope_is_403_and_never_reaches_the_backend(
    client: TestClient, backend: CountingBackend
) -> None:
    response = await get(client, V2, DUPONT, ["dgfip_revenu_fiscal_reference"])
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    response = await get(client, V1, {"numeroAllocataire": "x"}, [])
    assert response.status_code == 403
    assert backend.calls == 0


# The magic postcodes of the sandbox and the simulator: (codePostal, status, error).
MAGIC_CASES = [
    ("33404", 404, "not_found"),
    ("33400", 400, "bad_request"),
    ("33503", 503, "data_provider_error"),
    ("33599", 503, "data_provider_error"),
    ("33502", 502, "invalid_response"),
    ("33500", 503, "data_provider_error"),
    ("33504", 504, "timeout_error"),
]

UNKNOWN = {
    "error": "data_provider_error",
    "reason": "Unknown error code 134",
    "message": "Erreur inconnue du fournisseur de donnée CAF",
}


@pytest.mark.parametrize(
    ("code_postal", "status", "error"),
    MAGIC_CASES,
)
async def test_magic_identifiers(
    client: TestClient, code_postal: str, status: int, error: str
) -> None:
    params = {"numeroAllocataire": "1234567", "codePostal": code_postal}
    response = await get(client, V2, params, ALL_SCOPES)
    assert response.status_code == status
    assert response.json()["error"] == error


async def test_magic_bodies_carry_the_cnaf_sentences(client: TestClient) -> None:
    params = {"numeroAllocataire": "1234567", "codePostal": "33404"}
    body = (await get(client, V2, params, ALL_SCOPES)).json()
    sentence = "Dossier allocataire inexistant. Le document ne peut être édité."
    assert body == {"error": "not_found", "reason": sentence, "message": sentence}
    params["codePostal"] = "33599"
    assert (await get(client, V2, params, ALL_SCOPES)).json() == UNKNOWN
    params["codePostal"] = "33503"
    body = (await get(client, V2, params, ALL_SCOPES)).json()
    assert body["reason"] == body["message"]
    assert body["message"].startswith("Les informations souhaitées sont momentanément")
    params["codePostal"] = "33502"
    body = (await get(client, V2, params, ALL_SCOPES)).json()
    assert body["message"] == "La réponse du fournisseur de donnée est inexploitable"
    params["codePostal"] = "33504"
    body = (await get(client, V2, params, ALL_SCOPES)).json()
    assert body["message"] == "Temps d'attente d'une réponse du fournisseur de données écoulé."


async def test_health_of_the_sandbox(client: TestClient) -> None:
    response = await client.http.get("/api/caf/ping")
    assert response.status_code == 200
    assert response.json() == "pong"


async def test_openapi_documents_both_routes(client: TestClient) -> None:
    document = (await client.http.get("/api/open-api.json")).json()
    assert V2 in document["paths"] and V1 in document["paths"]
    assert document["paths"][V1]["get"].get("deprecated") is True


async def test_the_plugin_loads_from_its_entry_point(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, enabled=["cnaf"])
    # The plugin as the core finds it in production: through its entry point.
    loaded = load_enabled(settings)
    assert loaded["cnaf"] is CnafPlugin
    async with app_client(settings, plugins=loaded) as running:
        response = await get(running, V2, DUPONT, ["cnaf_allocataires"])
        assert response.status_code == 200
        assert response.json() == {"allocataires": DUPONT_BODY["allocataires"]}


async def test_the_core_provider_contract_suite_passes(tmp_path: Path) -> None:
    from api_particulier.testing import check_provider_contract

    await check_provider_contract(CnafPlugin(), name="cnaf", data_dir=tmp_path)
