"""The documentation page: Swagger UI's files served by the service, the sandbox
explained, and the page in headless Chromium rendering the service's own OpenAPI."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from api_particulier.testing import (
    EchoProvider,
    app_client,
    assert_images_have_text_alternative,
    make_settings,
    save_screenshot,
)
from api_particulier_documentation.plugin import SWAGGER_UI, DocumentationPlugin

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[3]


def test_the_copied_release_is_the_one_pinned() -> None:
    import json

    pinned = json.loads((ROOT / "scripts/swagger-ui/package.json").read_text())
    version = (SWAGGER_UI / "VERSION").read_text().strip()
    assert pinned["dependencies"]["swagger-ui-dist"] == version
    locked = json.loads((ROOT / "scripts/swagger-ui/package-lock.json").read_text())
    assert locked["packages"]["node_modules/swagger-ui-dist"]["version"] == version
    assert (SWAGGER_UI / "LICENSE").is_file()


@pytest.mark.anyio
async def test_the_page_and_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugins = {"documentation": DocumentationPlugin, "echo": EchoProvider}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        page = await client.http.get("/documentation")
        assert page.status_code == 200
        for link in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
            assert (await client.http.get(link)).status_code == 200, link
        assert "ne publie pas de clé de bac à sable" in page.text
        # The example of each route, with its fictional citizen.
        assert "/api/v2/echo?numero=12345&amp;code=AB" in page.text
        assert "cdn" not in page.text.lower()

    monkeypatch.setenv("SANDBOX_KEY", "apip_sandbox-key-for-fictional-data")
    settings = make_settings(
        tmp_path / "b", plugins={"documentation": {"sandbox_key": {"env": "SANDBOX_KEY"}}}
    )
    async with app_client(settings, plugins=plugins) as client:
        page = await client.http.get("/documentation")
    assert "apip_sandbox-key-for-fictional-data" in page.text


def test_the_documentation_in_a_browser(
    tmp_path: Path, live_server: Callable[..., str], browser_page: Page
) -> None:
    from api_particulier_cnaf.plugin import CnafPlugin
    from api_particulier_dgfip.plugin import DgfipPlugin

    plugins = {"documentation": DocumentationPlugin, "dgfip": DgfipPlugin, "cnaf": CnafPlugin}
    url = live_server(make_settings(tmp_path), plugins=plugins)
    browser_page.goto(f"{url}/documentation")
    assert browser_page.title() == "Documentation de l'API — API Particulier"
    # Swagger UI drew the service's own document: its routes are listed.
    operation = browser_page.locator(".opblock-summary-path").first
    operation.wait_for(timeout=20_000)
    paths = browser_page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v2/avis-imposition" in path for path in paths)
    assert_images_have_text_alternative(browser_page)
    save_screenshot(browser_page, "documentation")
