"""The example plugin of docs/writing_plugins.md works as the page says."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from api_particulier.testing import app_client, make_settings

pytestmark = pytest.mark.anyio
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "example-plugin" / "src"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "api_particulier_hello.plugin", EXAMPLE / "api_particulier_hello" / "plugin.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_example_plugin_serves_masks_and_refuses(tmp_path: Path) -> None:
    plugin = load_example().HelloPlugin()
    settings = make_settings(tmp_path, enabled=["hello"], plugins={"hello": {"greeting": "Salut"}})
    async with app_client(settings, plugins={"hello": plugin}) as client:
        key = await client.key(["hello_message"])
        headers = {"X-Api-Key": key}
        ok = await client.http.get("/api/hello", params={"identifiant": "0001"}, headers=headers)
        assert ok.json() == {"message": "Salut"}
        missing = await client.http.get(
            "/api/hello", params={"identifiant": "0009"}, headers=headers
        )
        assert missing.status_code == 404
        assert missing.json()["message"] == "Aucun citoyen ne porte cet identifiant"
        bad = await client.http.get("/api/hello", params={"identifiant": "x"}, headers=headers)
        assert bad.json()["message"] == "L'identifiant n'est pas correctement formaté"
        assert (await client.http.get("/api/hello/ping")).json() == "pong"


async def test_example_plugin_keeps_the_provider_contract(tmp_path: Path) -> None:
    from api_particulier.testing import check_provider_contract

    await check_provider_contract(load_example().HelloPlugin(), name="hello", data_dir=tmp_path)
