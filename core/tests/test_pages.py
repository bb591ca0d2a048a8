"""Pages: the DSFR layout, its files served by the service, and the browser kit."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import pytest
from api_particulier import Pages, WebRoute, hookimpl
from api_particulier.pages import DSFR_FILES
from api_particulier.testing import (
    PageWatch,
    app_client,
    assert_images_have_text_alternative,
    keep_to_loopback,
    make_settings,
)
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
PAGES = Pages(Path(__file__).parent / "pages_templates")


async def greeting(request: Request) -> Response:
    name = request.query_params.get("name", "Camille")
    broken = "broken" in request.query_params
    return PAGES.render(request, "greeting.html", {"name": name, "broken": broken})


class GreetingPlugin:
    @hookimpl
    def register_routes(self, register: Callable[[WebRoute], None], config: object) -> None:
        register(WebRoute(path="/bonjour", endpoint=greeting))


def test_the_release_copied_is_the_one_pinned() -> None:
    pinned = json.loads((ROOT / "scripts/dsfr/package.json").read_text())["dependencies"]
    locked = json.loads((ROOT / "scripts/dsfr/package-lock.json").read_text())
    version = (DSFR_FILES / "VERSION").read_text().strip()
    assert pinned["@gouvfr/dsfr"] == version
    assert locked["packages"]["node_modules/@gouvfr/dsfr"]["version"] == version


@pytest.mark.parametrize("sheet", ["dsfr.min.css", "utility/icons/icons.min.css"])
def test_every_file_a_style_sheet_points_to_is_served(sheet: str) -> None:
    css = (DSFR_FILES / sheet).read_text()
    targets = {
        target.strip("'\"")
        for target in re.findall(r"url\(([^)]*)\)", css)
        if not target.strip("'\"").startswith("data:")
    }
    assert targets, "the style sheet points to no file: the pattern is wrong"
    missing = [t for t in targets if not ((DSFR_FILES / sheet).parent / t).resolve().is_file()]
    assert not missing


def test_templates_escape_and_refuse_undefined_names(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("{{ text }}|{{ missing }}")
    pages = Pages(tmp_path)
    with pytest.raises(jinja2.UndefinedError):
        pages.render_text("page.html", {"text": "x"})
    (tmp_path / "page.html").write_text("{{ text }}")
    assert pages.render_text("page.html", {"text": "<script>"}) == "&lt;script&gt;"


@pytest.mark.anyio
async def test_a_page_and_the_design_system_files(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with app_client(settings, plugins={"greeting": GreetingPlugin()}) as client:
        page = await client.http.get("/bonjour", params={"name": "<b>Léa</b>"})
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-request-id"]
        assert "Bonjour &lt;b&gt;Léa&lt;/b&gt;" in page.text
        assert '<html lang="fr"' in page.text
        for link in re.findall(r'(?:href|src)="(/static/dsfr/[^"]+)"', page.text):
            asset = await client.http.get(link)
            assert asset.status_code == 200, link
        css = await client.http.get("/static/dsfr/dsfr.min.css")
        assert css.headers["content-type"].startswith("text/css")
        missing = await client.http.get("/static/dsfr/nothing.css")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"


def test_the_page_in_a_browser(
    tmp_path: Path, live_server: Callable[..., str], browser_page: Page
) -> None:
    url = live_server(make_settings(tmp_path), plugins={"greeting": GreetingPlugin()})
    browser_page.goto(f"{url}/bonjour")
    assert browser_page.title() == "Bonjour — API Particulier"
    heading = browser_page.get_by_role("heading", level=1)
    assert heading.inner_text() == "Bonjour Camille"
    # The style sheet and its fonts were applied: the heading is set in Marianne.
    font = heading.evaluate("element => getComputedStyle(element).fontFamily")
    assert "Marianne" in font
    browser_page.evaluate("document.fonts.ready")
    assert browser_page.evaluate("document.fonts.check('16px Marianne')")
    assert_images_have_text_alternative(browser_page)
    # Keyboard first: the first Tab reaches the skip link to the content.
    browser_page.keyboard.press("Tab")
    focused = browser_page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#contenu"


def test_the_page_watch_catches_a_broken_resource_and_outside_hosts(
    tmp_path: Path, live_server: Callable[..., str], chromium: Browser
) -> None:
    url = live_server(make_settings(tmp_path), plugins={"greeting": GreetingPlugin()})
    context = chromium.new_context()
    context.route("**/*", keep_to_loopback)
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    try:
        page.goto(f"{url}/bonjour?broken=1")
        page.wait_for_load_state("networkidle")
        assert any("404" in fault and "/nowhere.png" in fault for fault in watch.faults)
        page.set_content('<img src="https://example.org/x.png">')
        page.wait_for_load_state("networkidle")
        assert any("example.org" in fault for fault in watch.faults)
    finally:
        context.close()


def test_images_without_alternative_are_named(
    tmp_path: Path, live_server: Callable[..., str], browser_page: Page
) -> None:
    browser_page.set_content(
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<svg id="chart"><rect width="1" height="1"/></svg>'
        '<svg role="img" aria-label="fine"><rect/></svg>'
    )
    with pytest.raises(AssertionError) as failure:
        assert_images_have_text_alternative(browser_page)
    assert "img data:" in str(failure.value)
    assert "svg chart" in str(failure.value)
    assert "fine" not in str(failure.value)


class MenuPlugin:
    @hookimpl
    def register_routes(self, register: Callable[[WebRoute], None], config: object) -> None:
        register(WebRoute(path="/bonjour", endpoint=greeting, menu_label="Bonjour"))
        register(WebRoute(path="/ailleurs", endpoint=greeting, menu_label="Ailleurs"))
        register(WebRoute(path="/cachee", endpoint=greeting))


def test_menu_entries_are_pages_of_their_own() -> None:
    with pytest.raises(ValueError, match="only a page"):
        WebRoute(path="/fichiers", directory=Path("."), menu_label="Fichiers")
    with pytest.raises(ValueError, match="only a page"):
        WebRoute(path="/demande/{id}", endpoint=greeting, menu_label="Demande")


@pytest.mark.anyio
async def test_the_home_page_leads_to_every_page_of_the_menu(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path), plugins={"menu": MenuPlugin()}) as client:
        home = await client.http.get("/")
        page = await client.http.get("/bonjour")
    assert home.status_code == 200
    links = re.findall(r'<a class="fr-nav__link" href="([^"]+)"', home.text)
    assert links == ["/bonjour", "/ailleurs"]
    tiles = re.findall(r'<h3 class="fr-tile__title"><a href="([^"]+)">', home.text)
    assert tiles == ["/bonjour", "/ailleurs"]
    assert "/cachee" not in home.text
    current = re.findall(r'href="([^"]+)" target="_self" aria-current="page"', page.text)
    assert current == ["/bonjour"]


def test_a_plugin_cannot_take_the_home_page(tmp_path: Path) -> None:
    class Squatter:
        @hookimpl
        def register_routes(self, register: Callable[[WebRoute], None], config: object) -> None:
            register(WebRoute(path="/", endpoint=greeting))

    from api_particulier.app import create_app
    from api_particulier.errors import ConfigError

    with pytest.raises(ConfigError, match="route / declared by both core and squatter"):
        create_app(make_settings(tmp_path), plugins={"squatter": Squatter()})


def test_the_menu_in_a_narrow_browser(
    tmp_path: Path, live_server: Callable[..., str], browser_page: Page
) -> None:
    url = live_server(make_settings(tmp_path), plugins={"menu": MenuPlugin()})
    browser_page.set_viewport_size({"width": 375, "height": 800})
    browser_page.goto(f"{url}/")
    # Narrow, the menu hides behind its button (the design system's script opens it).
    navigation = browser_page.get_by_role("navigation", name="Menu principal")
    assert not navigation.is_visible()
    browser_page.get_by_role("button", name="Menu").click()
    browser_page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Ailleurs"
    ).click()
    browser_page.wait_for_url(f"{url}/ailleurs")
    assert_images_have_text_alternative(browser_page)


@pytest.mark.anyio
async def test_a_store_outage_in_a_web_route_answers_503(tmp_path: Path) -> None:
    from api_particulier import StoreUnavailable

    async def outage(request: Request) -> Response:
        raise StoreUnavailable("the store is down")

    class Outage:
        @hookimpl
        def register_routes(self, register: Callable[[WebRoute], None], config: object) -> None:
            register(WebRoute(path="/panne", endpoint=outage))

    async with app_client(make_settings(tmp_path), plugins={"outage": Outage()}) as client:
        answer = await client.http.get("/panne")
    assert answer.status_code == 503
    assert answer.json()["error"] == "service_unavailable"
    assert answer.headers["retry-after"] == "1"
    assert answer.headers["x-request-id"]


@pytest.mark.anyio
async def test_a_plugin_route_refuses_with_the_contract_error_body(tmp_path: Path) -> None:
    from api_particulier import Denial, denial_response
    from starlette.exceptions import HTTPException

    busy = Denial(
        status=429,
        error="too_many_requests",
        reason="Too many attempts",
        message="Trop de tentatives",
        headers={"retry-after": "3"},
    )

    async def refusing(request: Request) -> Response:
        return denial_response(busy, {"cache-control": "no-store"})

    async def missing(request: Request) -> Response:
        raise HTTPException(404)

    class Refusing:
        @hookimpl
        def register_routes(self, register: Callable[[WebRoute], None], config: object) -> None:
            register(WebRoute(path="/refus", endpoint=refusing))
            register(WebRoute(path="/absent", endpoint=missing))

    async with app_client(make_settings(tmp_path), plugins={"refusing": Refusing()}) as client:
        refused = await client.http.get("/refus")
        absent = await client.http.get("/absent")
        unknown = await client.http.get("/nulle-part")
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "too_many_requests",
        "reason": "Too many attempts",
        "message": "Trop de tentatives",
    }
    assert refused.headers["content-type"] == "application/json; charset=utf-8"
    assert refused.headers["retry-after"] == "3"
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["x-request-id"]
    # A route that is not there for this deployment answers as an unknown path does.
    assert absent.status_code == 404
    assert absent.json() == unknown.json()
    assert absent.headers["x-request-id"]
