"""The bundle as a deployer gets it: the four plugins together on their embedded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from api_particulier.plugins import load_enabled
from api_particulier.settings import load_settings
from api_particulier.testing import app_client, check_provider_contract
from openapi_spec_validator import validate

pytestmark = pytest.mark.anyio

NOTICE = {"numeroFiscal": "1111111111111", "referenceAvis": "1111111111111"}
FAMILY = {"numeroAllocataire": "2345678", "codePostal": "75001"}


async def test_embedded_defaults_serve_every_provider(tmp_path: Path) -> None:
    settings = load_settings(environ={"API_PARTICULIER_DATA_DIR": str(tmp_path)})
    plugins = load_enabled(settings)
    assert sorted(plugins) == [
        "cache",
        "cnaf",
        "consent",
        "dgfip",
        "documentation",
        "habilitation",
        "metrics",
        "ratelimit",
        "stats",
        "status",
        "transparency",
    ]
    async with app_client(settings, plugins=plugins) as client:
        document = yaml.safe_load((await client.http.get("/api/open-api.yml")).text)
        validate(document)
        # The operations plugins document their JSON routes.
        assert {"/api/status", "/api/stats/daily", "/api/stats"} <= set(document["paths"])
        for path in ("/api/v2/avis-imposition", "/api/v2/composition-familiale"):
            statuses = set(document["paths"][path]["get"]["responses"])
            assert {"200", "400", "401", "403", "429", "500"} <= statuses, path
        for ping in ("/api/ping", "/api/impots/ping", "/api/caf/ping"):
            assert (await client.http.get(ping)).json() == "pong"
        key = await client.key(["dgfip_revenu_fiscal_reference"])
        answer = await client.http.get(
            "/api/v2/avis-imposition", params=NOTICE, headers={"X-Api-Key": key}
        )
        assert answer.json() == {
            "declarant1": {},
            "declarant2": {},
            "foyerFiscal": {},
            "revenuFiscalReference": 17580,
        }
        assert answer.headers["ratelimit-policy"] == '"default";q=20;w=1'
        # The access request pages, with every provider's scopes to choose from.
        page = await client.http.get("/habilitation")
        assert page.status_code == 200
        assert "Demander l'accès à API Particulier" in page.text.replace("&#39;", "'")


@pytest.mark.parametrize("name", ["dgfip", "cnaf"])
async def test_the_bundled_providers_keep_the_contract(tmp_path: Path, name: str) -> None:
    plugins = load_enabled(load_settings(environ={"API_PARTICULIER_DATA_DIR": str(tmp_path)}))
    await check_provider_contract(plugins[name], name=name, data_dir=tmp_path)
