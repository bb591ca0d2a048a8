"""The site as the public sees it on the embedded defaults: the home page, and every page
of its menu opened from it in a real browser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from api_particulier.plugins import load_enabled
from api_particulier.settings import load_settings
from api_particulier.testing import assert_images_have_text_alternative, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

MENU = [
    ("Documentation", "/documentation"),
    ("Demander un accès", "/habilitation"),
    ("Statistiques", "/stats"),
    ("État du service", "/status"),
    ("Qui a consulté mes données ?", "/mes-donnees"),
]


def test_every_page_of_the_menu_opens_from_the_home_page(
    tmp_path: Path, live_server: Callable[..., str], browser_page: Page
) -> None:
    settings = load_settings(environ={"API_PARTICULIER_DATA_DIR": str(tmp_path)})
    url = live_server(settings, plugins=load_enabled(settings))
    browser_page.goto(f"{url}/")
    assert browser_page.title() == "Accueil — API Particulier"
    navigation = browser_page.get_by_role("navigation", name="Menu principal")
    links = navigation.get_by_role("link")
    assert [(link.inner_text(), link.get_attribute("href")) for link in links.all()] == MENU
    assert_images_have_text_alternative(browser_page)
    save_screenshot(browser_page, "accueil")
    for label, path in MENU:
        browser_page.goto(f"{url}/")
        browser_page.locator(".fr-tile").get_by_role("link", name=label, exact=True).click()
        browser_page.wait_for_url(f"{url}{path}")
        browser_page.wait_for_load_state("networkidle")
        current = navigation.locator('[aria-current="page"]')
        assert current.inner_text() == label
        assert browser_page.get_by_role("heading", level=1).count() == 1
        assert_images_have_text_alternative(browser_page)
