"""The page /mes-donnees in headless Chromium: the sandbox token, the report, a refusal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import api_particulier.admin as admin
import httpx
import msgspec
from api_particulier.app import create_app
from api_particulier.testing import make_settings
from api_particulier.testing.browser import assert_images_have_text_alternative, save_screenshot
from api_particulier_cnaf.plugin import CnafPlugin
from api_particulier_dgfip.plugin import DgfipPlugin
from api_particulier_transparency.plugin import TransparencyPlugin
from playwright.sync_api import Page

from .support import CNAF_SCOPES, DGFIP_SCOPES


def plugins() -> dict[str, object]:
    return {"dgfip": DgfipPlugin(), "cnaf": CnafPlugin(), "transparency": TransparencyPlugin()}


async def issue_key(tmp_path: Path) -> str:
    app = create_app(make_settings(tmp_path, enabled=("dgfip", "cnaf")), plugins={})
    await app.connect_stores()
    try:
        application = await admin.ensure_application(
            app.key_store, "Mairie de Lyon", DGFIP_SCOPES + CNAF_SCOPES
        )
        await app.key_store.update_application(
            msgspec.structs.replace(
                application,
                siret="21690123100011",
                legal_basis="Article L114-8 du code des relations entre le public et "
                "l'administration",
                recipients="Service des affaires scolaires",
            )
        )
        return (await admin.issue_key(app.key_store, app.pepper, application)).secret
    finally:
        await app.journal_store.close()
        await app.key_store.close()


def test_a_citizen_reads_who_fetched_their_data(
    tmp_path: Path, live_server: Callable[..., str], browser_page: Page
) -> None:
    # Playwright's loop runs in this thread: the stores are opened in another.
    with ThreadPoolExecutor(1) as thread:
        key = thread.submit(asyncio.run, issue_key(tmp_path)).result()
    settings = make_settings(tmp_path, enabled=("dgfip", "cnaf", "transparency"))
    url = live_server(settings, plugins=plugins())
    with httpx.Client(base_url=url, headers={"x-api-key": key}) as http:
        for family in ({"numeroAllocataire": "2345678", "codePostal": "75001"},) * 2:
            assert http.get("/api/v2/composition-familiale", params=family).status_code == 200
        other = {"numeroAllocataire": "0012345", "codePostal": "13001"}
        assert http.get("/api/v2/composition-familiale", params=other).status_code == 200

    page = browser_page
    page.goto(f"{url}/mes-donnees")
    # Each page loads whole (its icons too) before the next is asked for.
    page.wait_for_load_state("networkidle")
    assert page.title() == "Qui a consulté mes données ? — API Particulier"
    # A wrong token: the refusal says nothing more.
    page.get_by_label("Jeton FranceConnect").fill("not-a-token")
    page.get_by_label("Numéro allocataire").fill("2345678")
    page.get_by_label("Code postal", exact=True).fill("75001")
    page.get_by_role("button", name="Voir qui a consulté mes données").click()
    page.wait_for_load_state("networkidle")
    alert = page.get_by_role("alert")
    assert "Votre identité n'a pas pu être vérifiée" in alert.inner_text()
    assert page.locator("table").count() == 0

    page.get_by_role("button", name="Obtenir un jeton de démonstration").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_label("Numéro allocataire").input_value() == "2345678"
    page.get_by_role("button", name="Voir qui a consulté mes données").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="2 consultations de vos données").is_visible()
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    first = rows.first.inner_text()
    assert "Mairie de Lyon" in first and "SIRET 21690123100011" in first
    assert "Quotient familial et composition familiale (CNAF)" in first
    assert "Quotient familial" in first and "Données transmises" in first
    assert "Article L114-8" in first and "Service des affaires scolaires" in first
    assert_images_have_text_alternative(page)
    save_screenshot(page, "mes-donnees")
